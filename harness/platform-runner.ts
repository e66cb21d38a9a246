/**
 * Runs `bulkhead local up` as a child process in a home of its own (a temp directory), for the
 * benchmarks and the reliability suite: a platform started here never collides with `npm start` or
 * with another suite's platform, and every command it is driven with is the real CLI.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { FleetConfig } from '../lib/config/types';
import type { PlatformState } from '../lib/local/platform/platform-state';

const ROOT = path.join(__dirname, '..');
export const CLI = path.join(ROOT, 'bin', 'bulkhead.js');

/** Java, a synth and a dozen processes: slow on a small, busy machine. */
const READY_TIMEOUT_MS = 240_000;
const STOP_TIMEOUT_MS = 30_000;

export interface StartOptions {
  readonly fleet: FleetConfig;
  /** `--time-scale`. @default 1 */
  readonly timeScale?: number;
  /** Names the temp home, e.g. `bench` → `/tmp/bulkhead-bench-XXXXXX`. */
  readonly label: string;
  /** Progress lines. @default nothing */
  readonly log?: (line: string) => void;
  /** A home to start in again (a restart keeps its data). @default a new temp directory */
  readonly home?: string;
  /** More `local up` options, e.g. `--fresh`. */
  readonly args?: readonly string[];
  /** `false` starts it with `--no-enforce-iam`. @default true */
  readonly enforceIam?: boolean;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunningPlatform {
  readonly home: string;
  /** The ready file's document (ports stay the same across cell-down/up). */
  readonly state: PlatformState;
  /** The platform's own pid (its DynamoDB Local and fauxqs processes are its children). */
  readonly pid: number;
  /** `bulkhead <args>` against this platform (BULKHEAD_HOME set). Never throws for a non-zero exit. */
  cli(args: readonly string[], timeoutMs?: number): Promise<CliResult>;
  /** `bulkhead local fault <kind> [cell]`; throws with the CLI's message when it fails. */
  fault(kind: string, cell?: string): Promise<void>;
  /** The pid of the DynamoDB Local (java) process holding `cellId`'s data, if it runs. */
  dynamoPid(cellId: string): number | undefined;
  /** The last lines the platform wrote (stdout and stderr). */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after 30 s; resolves once the platform has exited. Removes the home. */
  stop(): Promise<void>;
}

function run(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - started });
      },
    );
  });
}

function tailOf(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Live processes (pid, parent, command line) from /proc. */
function processes(): { pid: number; ppid: number; cmdline: string }[] {
  const out: { pid: number; ppid: number; cmdline: string }[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({ pid: Number(name), ppid: Number(fields[1]), cmdline });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** Starts a platform and resolves once its ready file is written; rejects with its log if it cannot start. */
export async function startPlatform(options: StartOptions): Promise<RunningPlatform> {
  const log = options.log ?? (() => undefined);
  const home = options.home ?? fs.mkdtempSync(path.join(os.tmpdir(), `bulkhead-${options.label}-`));
  const fleetFile = path.join(home, 'fleet.json');
  const readyFile = path.join(home, 'ready.json');
  const logFile = path.join(home, 'platform.log');
  // Written only when it changes: a newer fleet file would make a restart synthesize again.
  const fleetText = JSON.stringify(options.fleet, null, 2);
  if (!fs.existsSync(fleetFile) || fs.readFileSync(fleetFile, 'utf8') !== fleetText)
    fs.writeFileSync(fleetFile, fleetText);
  fs.rmSync(readyFile, { force: true });
  const env = { ...process.env, BULKHEAD_HOME: home };
  const args = [
    CLI,
    'local',
    'up',
    '--port',
    '0',
    '--ready-file',
    readyFile,
    '--config',
    fleetFile,
    '--time-scale',
    String(options.timeScale ?? 1),
    '--home',
    home,
    ...(options.args ?? []),
    ...(options.enforceIam === false ? ['--no-enforce-iam'] : []),
  ];
  log(`starting a local platform (${options.fleet.cells.length} cells) in ${home}`);
  const out = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const logTail = () => tailOf(logFile, 30);
  const stop = async (): Promise<void> => {
    if (!gone) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    if (!process.env.BULKHEAD_KEEP_HOME) fs.rmSync(home, { recursive: true, force: true });
  };

  const started = Date.now();
  let state: PlatformState | undefined;
  while (!state) {
    if (gone) {
      const tail = logTail();
      fs.rmSync(home, { recursive: true, force: true });
      throw new Error(`the local platform exited before it was ready:\n${tail}`);
    }
    if (Date.now() - started > READY_TIMEOUT_MS) {
      const tail = logTail();
      await stop();
      throw new Error(`the local platform was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    try {
      state = JSON.parse(fs.readFileSync(readyFile, 'utf8')) as PlatformState;
    } catch {
      // Not written yet (or half-written): try again.
    }
  }
  log(`platform ready in ${((Date.now() - started) / 1000).toFixed(1)} s (router ${state.router})`);
  return { ...attachPlatform({ home, pid: child.pid!, state }), stop };
}

/** What identifies a running platform to another process (a jest worker, after a global setup). */
export interface PlatformHandle {
  readonly home: string;
  readonly pid: number;
  readonly state: PlatformState;
}

/** Drives a platform started elsewhere (by {@link startPlatform}); it cannot stop it. */
export function attachPlatform(handle: PlatformHandle): Omit<RunningPlatform, 'stop'> {
  const { home, pid, state } = handle;
  const env = { ...process.env, BULKHEAD_HOME: home };
  const logFile = path.join(home, 'platform.log');
  return {
    home,
    state,
    pid,
    cli: (cliArgs, timeoutMs = 300_000) => run(cliArgs, env, timeoutMs),
    async fault(kind, cell) {
      const result = await run(
        ['local', 'fault', kind, ...(cell ? [cell] : []), '--home', home],
        env,
        120_000,
      );
      if (result.code !== 0) {
        throw new Error(`bulkhead local fault ${kind} ${cell ?? ''} failed: ${result.stderr.trim()}`);
      }
    },
    dynamoPid(cellId) {
      const dbPath = path.join(home, 'db', cellId);
      const all = processes();
      // Only below this platform: never a process of someone else's platform.
      const mine = new Set([pid]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const p of all) {
          if (!mine.has(p.pid) && mine.has(p.ppid)) {
            mine.add(p.pid);
            grew = true;
          }
        }
      }
      return all.find(
        (p) =>
          mine.has(p.pid) &&
          p.cmdline.includes('DynamoDBLocal.jar') &&
          p.cmdline.split(' ').some((arg, i, argv) => arg === dbPath && argv[i - 1] === '-dbPath'),
      )?.pid;
    },
    logTail: (lines = 30) => tailOf(logFile, lines),
  };
}
