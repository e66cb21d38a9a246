/**
 * The local platform's life as a process: started by `bulkhead local up`, it runs until Ctrl-C, SIGTERM,
 * `bulkhead local down` (a SIGTERM from another process) or the death of the process that started it,
 * and on each of these stops every process it started.
 *
 * Its children cannot outlive it either way: each runs under `setpriv --pdeathsig KILL`, so the kernel
 * kills it when the platform dies, even by SIGKILL (services/process-registry.ts); fauxqs also exits when
 * its stdin closes. The platform itself watches its parent: `kill <pid of npm start>` kills npm and its
 * shell but not the node process they started, which the kernel hands to pid 1 (or a subreaper) — a
 * change of `process.ppid` that the platform sees within a second, and stops.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { LocalReleases, registerReleaseHandlers } from '../codedeploy/local-releases';

import { ControlServer } from './control-server';
import { LocalPlatform, type PlatformOptions } from './platform';
import { isAlive, type PlatformState, readState, stateFile } from './platform-state';
import { type StatusSource, startStatusSampler } from './status-sampler';

/** How often the platform looks whether its parent is still there. */
const PARENT_POLL_MS = 500;
/** How long `local down` waits for a graceful stop before it sends SIGKILL. */
export const DOWN_GRACE_MS = 60_000;

export interface UpOptions extends PlatformOptions {
  /** Receives the state document once everything answers. */
  readonly readyFile?: string;
  readonly log: (line: string) => void;
}

export interface RunningLocalPlatform {
  readonly state: PlatformState;
  /** Resolves, with why, once the platform has stopped. */
  readonly stopped: Promise<string>;
}

/**
 * Calls `onGone` once `parent` (the process that started this one) has gone: this one was handed to
 * another parent. A platform started detached (its parent already pid 1) is not watched.
 */
export function watchParent(parent: number, onGone: () => void, pollMs = PARENT_POLL_MS): () => void {
  if (parent === 1) return () => undefined;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Starts the fleet, its control API and status page; refuses (before starting anything) beside another one. */
export async function startLocalPlatform(options: UpOptions): Promise<RunningLocalPlatform> {
  const { log } = options;
  // Read before the long start: a parent that dies meanwhile is noticed too.
  const parent = process.ppid;
  const platform = new LocalPlatform(options);
  await platform.preflight();
  const control = new ControlServer(platform);
  const releases = new LocalReleases(platform);
  registerReleaseHandlers(control, releases);
  let stopping: Promise<void> | undefined;
  let sampler: StatusSource | undefined;
  const stop = (why: string) => {
    stopping ??= (async () => {
      log(`local: stopping every process it started (${why}) ...`);
      sampler?.stop();
      releases.close();
      await control.stop();
      await platform.stop();
      log('local: stopped');
    })();
    return stopping;
  };
  let state: PlatformState;
  try {
    await platform.start();
    await releases.restore(log);
    sampler = startStatusSampler(platform, releases, log);
    control.showStatus(sampler);
    const controlUrl = await control.start();
    state = platform.publish({ statusPage: `${controlUrl}/`, control: controlUrl });
    if (options.readyFile) fs.writeFileSync(path.resolve(options.readyFile), JSON.stringify(state, null, 2));
  } catch (err) {
    await stop('the start failed');
    throw err;
  }
  const stopped = new Promise<string>((resolve) => {
    const end = (why: string) => void stop(why).then(() => resolve(why));
    process.once('SIGINT', () => end('SIGINT'));
    process.once('SIGTERM', () => end('SIGTERM'));
    watchParent(parent, () => end(`the process that started it (pid ${parent}) is gone`));
  });
  return { state, stopped };
}

export type DownResult =
  | { readonly state: 'not-running' }
  | { readonly state: 'stopped'; readonly pid: number; readonly forced: boolean; readonly ms: number };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function exited(pid: number, deadline: number): Promise<boolean> {
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * `bulkhead local down`: SIGTERM to the platform of `home` (which stops its children, as on Ctrl-C), then
 * waits for it to exit; SIGKILL after `graceMs` (its children then die with it, by their parent-death signal).
 */
export async function stopLocalPlatform(home: string, graceMs = DOWN_GRACE_MS): Promise<DownResult> {
  const state = readState(stateFile(home));
  if (!state) return { state: 'not-running' };
  const started = Date.now();
  process.kill(state.pid, 'SIGTERM');
  let forced = false;
  if (!(await exited(state.pid, started + graceMs))) {
    forced = true;
    process.kill(state.pid, 'SIGKILL');
    await exited(state.pid, Date.now() + 10_000);
  }
  return { state: 'stopped', pid: state.pid, forced, ms: Date.now() - started };
}
