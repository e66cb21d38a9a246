import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';

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

/** `127.0.0.1`, or the same address as an IPv4-mapped IPv6 one (as Java binds it). */
export const isLoopback = (address: string): boolean =>
  /^(127\.\d+\.\d+\.\d+|::ffff:127\.\d+\.\d+\.\d+|::1)$/.test(address);

/** /proc/net/tcp{,6} address `0100007F:1F90` (or its IPv6 form) as `127.0.0.1`. */
function procAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  // Each 32-bit word is in host (little-endian) order.
  for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  const mapped = bytes.subarray(0, 12).equals(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]));
  if (mapped) return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

interface Listener {
  readonly host: string;
  readonly port: number;
  /** The socket's inode, which a process's `/proc/<pid>/fd` links name. */
  readonly inode: string;
}

/** Every TCP socket in the LISTEN state on this machine's network namespace, from /proc/net/tcp{,6}. */
function listeners(): Listener[] {
  const LISTEN = '0A';
  return ['/proc/net/tcp', '/proc/net/tcp6']
    .filter((table) => fs.existsSync(table))
    .flatMap((table) =>
      fs
        .readFileSync(table, 'utf8')
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((f) => f[3] === LISTEN)
        .map((f) => {
          const [host, port] = f[1].split(':');
          return { host: procAddress(host), port: parseInt(port, 16), inode: f[9] };
        }),
    );
}

/**
 * The TCP addresses (`host` and `port`) `pid` listens on, matched by socket inode (Linux). Empty when
 * the process has gone, or when this machine does not let us read its descriptors or match their inodes
 * (seen on a CI sandbox): so check known ports with `listenersOn` too.
 */
export function listeningAddresses(pid: number): { readonly host: string; readonly port: number }[] {
  const inodes = new Set<string>();
  try {
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' });
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    }
  } catch {
    return []; // exited while we looked, or its descriptors are not ours to read
  }
  return listeners()
    .filter((l) => inodes.has(l.inode))
    .map(({ host, port }) => ({ host, port }));
}

/** Every address listening on `port`, whichever process holds it: what a peer could connect to. */
export function listenersOn(port: number): { readonly host: string; readonly port: number }[] {
  return listeners()
    .filter((l) => l.port === port)
    .map(({ host }) => ({ host, port }));
}

/** This machine's own addresses other than loopback (IPv4 and IPv6): where another host reaches it. */
export function externalAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((a) => !a.internal && !(a.family === 'IPv6' && a.scopeid !== 0))
    .map((a) => a.address);
}

/** Whether a TCP connection to `host:port` is refused (or cannot be made): nothing listens there for a peer. */
export function connectionRefused(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
  });
}
