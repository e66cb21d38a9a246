import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

import { freePort, isPortFree } from './ports';

/** How long `stop()` waits after SIGTERM before it sends SIGKILL. */
export const STOP_GRACE_MS = 3000;
/** How long `start()` waits for a service to answer. */
export const START_TIMEOUT_MS = 30_000;
const TAIL_CHARS = 4000;
const PROBE_INTERVAL_MS = 100;

/**
 * A child process of the local platform (DynamoDB Local, fauxqs). It runs in its own process group,
 * so a signal sent to it reaches its whole tree, and a Ctrl-C in the terminal reaches only the
 * parent, which then decides how its children stop.
 */
export class ManagedProcess {
  readonly pid: number;
  /** Resolves once the process has exited and been reaped, and its output has been read to the end. */
  readonly exited: Promise<void>;
  private stdout = '';
  private stderr = '';

  constructor(
    readonly name: string,
    private readonly child: ChildProcess & { pid: number },
  ) {
    this.pid = child.pid;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.stdout
      ?.setEncoding('utf8')
      .on('data', (chunk: string) => (this.stdout = tail(this.stdout + chunk)));
    child.stderr
      ?.setEncoding('utf8')
      .on('data', (chunk: string) => (this.stderr = tail(this.stderr + chunk)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few thousand characters the process wrote to stderr. */
  get stderrTail(): string {
    return this.stderr;
  }

  get stdoutTail(): string {
    return this.stdout;
  }

  /** `exited with code 1`, `killed by SIGKILL`, or `running`. */
  get status(): string {
    if (this.child.signalCode !== null) return `killed by ${this.child.signalCode}`;
    if (this.child.exitCode !== null) return `exited with code ${this.child.exitCode}`;
    return 'running';
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves only once the process has exited. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Signals the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch (error) {
      // The group is already gone: the process exited between the check and the kill.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** What a service runs: the command and arguments for the port it must listen on. */
export interface ServiceCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A local service in a child process, listening on a port of 127.0.0.1. The port is chosen on the
 * first start (when none was given) and kept, so a stopped-and-started cell keeps its endpoint.
 */
export abstract class LocalService {
  private port: number;
  private current: ManagedProcess | undefined;
  private stopping = false;
  private readonly exitListeners: ((status: string) => void)[] = [];

  protected constructor(
    /** Names the service in errors and in the registry. */
    readonly name: string,
    port = 0,
  ) {
    this.port = port;
  }

  /** The command to run for `port` (may prepare things first, such as a data directory). */
  protected abstract command(port: number): Promise<ServiceCommand>;
  /** Resolves once the service answers a real request on `endpoint`; throws until then. */
  protected abstract probe(endpoint: string): Promise<void>;

  get endpoint(): string {
    if (this.port === 0) throw new Error(`${this.name} has no port yet: call start() first`);
    return `http://127.0.0.1:${this.port}`;
  }

  /** The child's pid while it runs. */
  get pid(): number | undefined {
    return this.running ? this.current?.pid : undefined;
  }

  get running(): boolean {
    return this.current?.running ?? false;
  }

  /** `running`, `exited with code 1`, `killed by SIGKILL`, or `not started`. */
  get status(): string {
    return this.current?.status ?? 'not started';
  }

  /** Called when the process exits without stop() asking it to (it crashed, or someone killed it). */
  onExit(listener: (status: string) => void): void {
    this.exitListeners.push(listener);
  }

  /** Starts the service (no-op if it runs) and resolves once it answers; times out after 30 s. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.port === 0) this.port = await freePort();
    // Another server on the port would answer the readiness probe in this one's place.
    else if (!(await isPortFree(this.port))) {
      throw new Error(`${this.name} cannot start: port ${this.port} on 127.0.0.1 is already in use`);
    }
    const { command, args, env } = await this.command(this.port);
    const managed = await spawnManaged(this.name, command, args, env);
    this.current = managed;
    this.stopping = false;
    void managed.exited.then(() => {
      if (this.current !== managed || this.stopping) return;
      for (const listener of this.exitListeners) listener(managed.status);
    });
    try {
      await this.waitUntilReady(managed);
    } catch (error) {
      this.stopping = true;
      await managed.stop();
      throw error;
    }
  }

  /** SIGTERM, then SIGKILL after 3 s; resolves once the process has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.current?.stop();
  }

  private async waitUntilReady(managed: ManagedProcess): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let lastError = 'no answer yet';
    while (managed.running) {
      try {
        await this.probe(this.endpoint);
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() >= deadline) {
        throw new Error(
          `${this.name} did not answer on ${this.endpoint} within ${START_TIMEOUT_MS / 1000} s ` +
            `(last error: ${lastError})${describeOutput(managed)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    await managed.exited;
    throw new Error(`${this.name} stopped before it was ready (${managed.status})${describeOutput(managed)}`);
  }
}

function describeOutput(managed: ManagedProcess): string {
  const stderr = managed.stderrTail.trim();
  if (stderr) return `; stderr (last lines):\n${stderr}`;
  const stdout = managed.stdoutTail.trim();
  return stdout ? `; no stderr, stdout (last lines):\n${stdout}` : '; it wrote nothing to stderr or stdout';
}

const tracked = new Set<ManagedProcess>();
let handlersInstalled = false;
let pdeathsig: boolean | undefined;

/**
 * Starts a tracked child process; resolves once it has been spawned (rejects if it cannot be, for
 * example when the command is not installed).
 */
export async function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<ManagedProcess> {
  installExitHandlers();
  const [file, argv] = supportsPdeathsig()
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]]
    : [command, [...args]];
  const child = spawn(file, argv, { detached: true, stdio: 'pipe', env });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  // Errors after the spawn (a failed write to stdin) must not crash the parent; the exit says enough.
  child.on('error', () => undefined);
  const managed = new ManagedProcess(name, child as ChildProcess & { pid: number });
  tracked.add(managed);
  void managed.exited.then(() => tracked.delete(managed));
  return managed;
}

/** Every tracked child that has not exited yet. */
export function trackedProcesses(): readonly ManagedProcess[] {
  return [...tracked];
}

/** Stops every tracked child (SIGTERM, then SIGKILL after the grace period), in parallel. */
export async function stopAll(): Promise<void> {
  await Promise.all([...tracked].map((managed) => managed.stop()));
}

function killAllSync(): void {
  // The parent cannot wait any more, so SIGKILL, which cannot be ignored; neither service loses
  // anything a SIGTERM would have saved (fauxqs is in-memory, DynamoDB Local commits every write).
  for (const managed of tracked) managed.signal('SIGKILL');
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAllSync();
      // A listener replaces Node's default of exiting on the signal; with no other listener that
      // would own the shutdown, restore the default and let the signal end the process.
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/**
 * Whether children can be started under `setpriv --pdeathsig` (Linux, util-linux), which has the
 * kernel kill them when the parent dies in a way no handler sees: SIGKILL, an OOM kill, or a jest
 * worker, whose `process` object is a copy that never receives 'exit' or signal events.
 */
function supportsPdeathsig(): boolean {
  pdeathsig ??= spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true']).status === 0;
  return pdeathsig;
}

function tail(text: string): string {
  return text.length > TAIL_CHARS ? text.slice(-TAIL_CHARS) : text;
}
