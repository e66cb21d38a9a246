import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';

import { EmfRecorder } from './emf-recorder';
import {
  crashOf,
  type EnvironmentSpec,
  lambdaEnvironment,
  startWorker,
  type WorkerMessage,
} from './execution-environment';
import { type FunctionError, type InvokeResult, type InvokeTarget, round } from './invocation';

export interface LocalFunctionVersionOptions {
  /** The function's name, as `AWS_LAMBDA_FUNCTION_NAME` and `context.functionName`. */
  readonly name: string;
  /** The published version number (`'1'`, `'2'`) or a label. */
  readonly version: string;
  /** Absolute path of the bundled handler module (CommonJS `.js`/`.cjs`, or ESM `.mjs`). */
  readonly handlerFile: string;
  /** The handler's export name (the part after the dot in `index.handler`). @default 'handler' */
  readonly handlerExport?: string;
  /** The function's environment variables, exactly as deployed. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Caps the worker's heap (Lambda caps the whole sandbox); unset = no cap. */
  readonly memoryMb?: number;
  /** Maximum concurrent execution environments (workers); more invocations queue. @default 4 */
  readonly instances?: number;
  /** The template's `Runtime` (`nodejs22.x`), for `AWS_EXECUTION_ENV`. @default the local Node's major */
  readonly runtime?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** Lambda's init phase limit. @default 10000 */
  readonly initTimeoutMs?: number;
  /** Receives each line the handler writes (console, stdout, stderr). @default stderr, prefixed with the name */
  readonly log?: (line: string) => void;
  /**
   * Node options of the workers. @default the flags of the function's `NODE_OPTIONS` (as Lambda applies
   * them, e.g. `--enable-source-maps`), none of the parent's loaders or flags
   */
  readonly execArgv?: readonly string[];
}

/** Counters of a version's execution environments. */
export interface FunctionVersionStats {
  readonly workers: number;
  readonly busy: number;
  readonly queued: number;
  readonly invocations: number;
  readonly coldStarts: number;
  readonly lastInitDurationMs?: number;
}

/** Lambda's limit on a synchronous response. */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
export const DEFAULT_INSTANCES = 4;
const DEFAULT_INIT_TIMEOUT_MS = 10_000;
/** The error of invocations cut short by `stop()`. */
const STOPPED = 'Local.Stopped';

/** The init phase of an execution environment failed; `error` is what the invocation reports. */
export class FunctionInitError extends Error {
  constructor(
    readonly functionName: string,
    readonly error: FunctionError,
  ) {
    super(`${functionName} failed to initialise: ${error.errorType}: ${error.errorMessage}`);
    this.name = 'FunctionInitError';
  }
}

interface Running {
  readonly id: number;
  readonly finish: (outcome: { payload?: string; error?: FunctionError }) => void;
}

interface Lease {
  readonly slot: Slot;
  readonly coldStart: boolean;
}

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: unknown) => void;
}

/** One execution environment: a worker thread, one invocation at a time. */
interface Slot {
  readonly worker: Worker;
  state: 'init' | 'idle' | 'busy' | 'dead';
  /** Settles when the init phase ends; only `warm()` awaits it. */
  readonly ready: Promise<void>;
  readonly markReady: () => void;
  readonly failInit: (error: FunctionError) => void;
  /** The invocation that started this environment, which gets it once initialised. */
  readonly owner?: Waiter;
  readonly initTimer: NodeJS.Timeout;
  readonly startedAt: number;
  initDurationMs?: number;
  running?: Running;
  /** Why the worker is going away, when the runtime decided it (a timeout, `stop()`). */
  ending?: FunctionError;
  /** The uncaught error that ended the worker, if any. */
  crash?: FunctionError;
}

/**
 * One published version of a function, run like Lambda runs it: each execution environment is a
 * worker thread with the function's own `process.env`, created on demand (a cold start), handling
 * one invocation at a time, terminated when an invocation times out.
 */
export class LocalFunctionVersion implements InvokeTarget {
  readonly name: string;
  readonly version: string;
  readonly timeoutMs: number;
  readonly instances: number;
  /** The last init failure, until an execution environment initialises successfully. */
  initError?: FunctionError;
  /** The metrics its handler emitted in its log lines (EMF), as CloudWatch would extract them. */
  readonly emitted = new EmfRecorder();
  lastInitDurationMs?: number;

  private readonly slots = new Set<Slot>();
  private readonly waiters: Waiter[] = [];
  private readonly spec: EnvironmentSpec;
  private readonly env: Record<string, string>;
  private readonly log: (line: string) => void;
  private execArgv: string[];
  private nextId = 1;
  private invocations = 0;
  private coldStarts = 0;
  /** Invocations from their call to their answer: queued, starting an environment, or running. */
  private inFlight = 0;
  private stopWhenIdleAsked = false;

  constructor(private readonly options: LocalFunctionVersionOptions) {
    if (!path.isAbsolute(options.handlerFile)) {
      throw new Error(`${options.name}: handlerFile must be an absolute path, got ${options.handlerFile}`);
    }
    if (!(options.timeoutMs > 0)) throw new Error(`${options.name}: timeoutMs must be > 0`);
    this.name = options.name;
    this.version = options.version;
    this.timeoutMs = options.timeoutMs;
    this.instances = options.instances ?? DEFAULT_INSTANCES;
    if (!Number.isInteger(this.instances) || this.instances < 1) {
      throw new Error(`${options.name}: instances must be an integer ≥ 1, got ${this.instances}`);
    }
    this.spec = {
      ...options,
      handlerExport: options.handlerExport ?? 'handler',
      region: options.region ?? 'us-east-1',
    };
    this.env = lambdaEnvironment(this.spec);
    this.execArgv = [
      ...(options.execArgv ?? (options.environment.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)),
    ];
    const log = options.log ?? ((line) => process.stderr.write(`[${this.name}:${this.version}] ${line}\n`));
    this.log = (line) => {
      this.emitted.observe(line);
      log(line);
    };
  }

  /** The ARN of this version, as `context.invokedFunctionArn`. */
  get arn(): string {
    const { region = 'us-east-1', accountId = '000000000000' } = this.options;
    return `arn:aws:lambda:${region}:${accountId}:function:${this.name}:${this.version}`;
  }

  stats(): FunctionVersionStats {
    let busy = 0;
    for (const slot of this.slots) if (slot.state === 'busy') busy += 1;
    return {
      workers: this.slots.size,
      busy,
      queued: this.waiters.length,
      invocations: this.invocations,
      coldStarts: this.coldStarts,
      lastInitDurationMs: this.lastInitDurationMs,
    };
  }

  async invoke(event: unknown): Promise<InvokeResult> {
    this.inFlight += 1;
    try {
      return await this.invokeOnce(event);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0 && this.stopWhenIdleAsked) {
        this.stopWhenIdleAsked = false;
        void this.stop();
      }
    }
  }

  /**
   * Terminates the environments once no invocation is queued, starting one or running: a version that
   * takes no more traffic goes away without cutting short what it was given (as on Lambda, a shift of
   * the alias never ends an invocation under way). Each invocation ends by its timeout at the latest.
   */
  stopWhenIdle(): void {
    if (this.inFlight === 0) void this.stop();
    else this.stopWhenIdleAsked = true;
  }

  private async invokeOnce(event: unknown): Promise<InvokeResult> {
    this.invocations += 1;
    const payload = JSON.stringify(event ?? null);
    let lease: Lease;
    try {
      lease = await new Promise<Lease>((resolve, reject) => {
        this.waiters.push({ resolve, reject });
        this.dispatch();
      });
    } catch (error) {
      if (error instanceof FunctionInitError) {
        return { error: error.error, durationMs: 0, coldStart: true };
      }
      throw error;
    }
    const { slot, coldStart } = lease;
    try {
      const outcome = await this.run(slot, payload);
      return { ...outcome, coldStart, ...(coldStart && { initDurationMs: slot.initDurationMs }) };
    } finally {
      if (slot.state === 'busy') {
        slot.state = 'idle';
        this.dispatch();
      }
    }
  }

  /**
   * Makes sure one execution environment is initialised; rejects with a `FunctionInitError` when
   * the bundle fails to load (a missing environment variable, a missing export).
   */
  async warm(): Promise<void> {
    const slots = [...this.slots];
    if (slots.some((slot) => slot.state === 'idle' || slot.state === 'busy')) return;
    const starting = slots.find((slot) => slot.state === 'init');
    await (starting ?? this.spawn()).ready;
  }

  /** Terminates every execution environment; queued and running invocations fail. A later invoke starts afresh. */
  async stop(): Promise<void> {
    const stopped: FunctionError = { errorType: STOPPED, errorMessage: `${this.name} was stopped` };
    for (const waiter of this.waiters.splice(0)) waiter.reject(new FunctionInitError(this.name, stopped));
    await Promise.all([...this.slots].map((slot) => this.kill(slot, stopped)));
  }

  /** Hands idle environments to waiting invocations, and starts new ones while under `instances`. */
  private dispatch(): void {
    while (this.waiters.length > 0) {
      const idle = [...this.slots].find((slot) => slot.state === 'idle');
      if (idle) {
        idle.state = 'busy';
        this.waiters.shift()?.resolve({ slot: idle, coldStart: false });
      } else if (this.slots.size < this.instances) {
        this.spawn(this.waiters.shift());
      } else {
        return;
      }
    }
  }

  /** Starts an execution environment; once initialised it goes to `owner`, or becomes idle. */
  private spawn(owner?: Waiter): Slot {
    const initTimeoutMs = this.options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
    this.coldStarts += 1;
    const startedAt = performance.now();
    const started = startWorker(this.spec, this.env, this.execArgv, this.log);
    this.execArgv = started.execArgv;
    let markReady!: () => void;
    let failInit!: (error: FunctionError) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failInit = (error) => reject(new FunctionInitError(this.name, error));
    });
    // Only warm() awaits it; an invocation learns of a failed init through its owner's reject.
    ready.catch(() => undefined);
    const initTimer = setTimeout(() => {
      void this.kill(slot, {
        errorType: 'Sandbox.Timedout',
        errorMessage: `INIT timed out after ${initTimeoutMs} ms`,
      });
    }, initTimeoutMs);
    const slot: Slot = {
      worker: started.worker,
      state: 'init',
      ready,
      markReady,
      failInit,
      owner,
      initTimer,
      startedAt,
    };
    this.slots.add(slot);
    slot.worker.on('message', (message: WorkerMessage) => this.onMessage(slot, message));
    slot.worker.on('error', (error: Error & { code?: string }) => {
      slot.crash = crashOf(error);
    });
    slot.worker.on('exit', (code) => this.onExit(slot, code));
    return slot;
  }

  private onMessage(slot: Slot, message: WorkerMessage): void {
    if (message.type === 'ready') {
      clearTimeout(slot.initTimer);
      if (slot.state !== 'init' || slot.ending) return;
      slot.initDurationMs = round(performance.now() - slot.startedAt);
      this.lastInitDurationMs = slot.initDurationMs;
      this.initError = undefined;
      slot.markReady();
      if (slot.owner) {
        slot.state = 'busy';
        slot.owner.resolve({ slot, coldStart: true });
      } else {
        slot.state = 'idle';
        this.dispatch();
      }
    } else if (message.type === 'init-error') {
      clearTimeout(slot.initTimer);
      const error = { errorType: message.errorType, errorMessage: message.errorMessage };
      this.log(`INIT_REPORT Status: error\tError Type: ${error.errorType}\t${error.errorMessage}`);
      void this.kill(slot, error);
    } else if (message.type === 'done' && slot.running?.id === message.id) {
      slot.running.finish(message);
    }
  }

  private onExit(slot: Slot, code: number): void {
    clearTimeout(slot.initTimer);
    const wasInit = slot.state === 'init';
    slot.state = 'dead';
    this.slots.delete(slot);
    const error = slot.ending ??
      slot.crash ?? { errorType: 'Runtime.ExitError', errorMessage: `exited with status ${code}` };
    if (wasInit) {
      if (error.errorType !== STOPPED) this.initError = error;
      slot.failInit(error);
      slot.owner?.reject(new FunctionInitError(this.name, error));
    } else if (slot.running) {
      slot.running.finish({ error });
    } else if (!slot.ending) {
      this.log(`execution environment ended: ${error.errorType}: ${error.errorMessage}`);
    }
    this.dispatch();
  }

  private run(slot: Slot, payload: string): Promise<Omit<InvokeResult, 'coldStart'>> {
    const id = this.nextId++;
    const requestId = randomUUID();
    const started = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const seconds = (this.timeoutMs / 1000).toFixed(2);
        void this.kill(slot, {
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds`,
        });
      }, this.timeoutMs);
      slot.running = {
        id,
        finish: (outcome) => {
          clearTimeout(timer);
          slot.running = undefined;
          resolve(this.outcomeOf(outcome, requestId, round(performance.now() - started)));
        },
      };
      slot.worker.postMessage({
        id,
        requestId,
        payload,
        deadline: Date.now() + this.timeoutMs,
        invokedFunctionArn: this.arn,
      });
    });
  }

  /** The worker's answer as the invocation reports it: a response over Lambda's size limit is an error. */
  private outcomeOf(
    outcome: { payload?: string; error?: FunctionError },
    requestId: string,
    durationMs: number,
  ): Omit<InvokeResult, 'coldStart'> {
    let error = outcome.error;
    if (!error && outcome.payload !== undefined && Buffer.byteLength(outcome.payload) > MAX_RESPONSE_BYTES) {
      error = {
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
      };
    }
    if (error) {
      this.log(`${requestId}\tERROR\tInvoke Error\t${error.errorType}: ${error.errorMessage}`);
      return {
        error: { errorType: error.errorType, errorMessage: error.errorMessage },
        durationMs,
        requestId,
      };
    }
    const result = outcome.payload === undefined ? undefined : (JSON.parse(outcome.payload) as unknown);
    return { result, durationMs, requestId };
  }

  /** Ends an execution environment; whatever it was running fails with `reason`. */
  private async kill(slot: Slot, reason: FunctionError): Promise<void> {
    if (slot.state === 'dead') return;
    slot.ending ??= reason;
    // Free the capacity now (an initialising slot is freed on exit, where its owner learns why):
    // the next invocation must not wait for the thread to wind down.
    if (slot.state !== 'init') {
      slot.state = 'dead';
      this.slots.delete(slot);
      slot.running?.finish({ error: slot.ending });
      this.dispatch();
    }
    await slot.worker.terminate();
  }
}
