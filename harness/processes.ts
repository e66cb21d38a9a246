import * as fs from 'node:fs';

/** A process as /proc shows it (Linux). */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** The command line, arguments joined by spaces. */
  readonly cmdline: string;
  /** Resident set size in KiB (0 for a process that has just gone). */
  readonly rssKb: number;
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (2nd field) may hold spaces and parentheses: the fields after it follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // a zombie holds no memory and no port
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { pid, ppid: Number(fields[1]), cmdline, rssKb: Number(rss ?? 0) };
  } catch {
    return undefined; // exited while we looked
  }
}

function allProcesses(): ProcessInfo[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((p): p is ProcessInfo => p !== undefined);
}

/** Every live process below `pid` (children, their children, ...), not `pid` itself. */
export function descendants(pid: number): ProcessInfo[] {
  const byParent = new Map<number, ProcessInfo[]>();
  for (const p of allProcesses()) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** `pid` and its whole tree, with their memory. */
export function processTree(pid: number): ProcessInfo[] {
  const self = readProcess(pid);
  return self ? [self, ...descendants(pid)] : [];
}

/** The processes of `seen` that still run: same pid, same command line (zombies count as gone). */
export function stillAlive(seen: Iterable<ProcessInfo>): ProcessInfo[] {
  return [...seen].filter((p) => readProcess(p.pid)?.cmdline === p.cmdline);
}

/** DynamoDB Local (java) and fauxqs (node) processes: what the local platform starts per stack. */
export const isPlatformService = (p: ProcessInfo): boolean => /DynamoDBLocal|fauxqs/.test(p.cmdline);
