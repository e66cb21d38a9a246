import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

/** An error as Lambda reports it to the caller of an invocation. */
export interface FunctionError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace?: readonly string[];
}

/** The outcome of one invocation, as `Invoke` with `RequestResponse` would give it. */
export interface InvokeResult {
  /** The handler's return value after a JSON round trip (`undefined` when it returned nothing). */
  readonly result?: unknown;
  readonly error?: FunctionError;
  /** The handler's run time (the "Duration" of Lambda's REPORT line), init excluded. */
  readonly durationMs: number;
  /** Whether this invocation had to start a new execution environment. */
  readonly coldStart: boolean;
  /** The init time of the new execution environment ("Init Duration"), on a cold start. */
  readonly initDurationMs?: number;
  readonly requestId?: string;
}

/** Anything that can be invoked like a function: a version, an alias. */
export interface InvokeTarget {
  invoke(event: unknown): Promise<InvokeResult>;
}

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
const DEFAULT_INSTANCES = 4;
const DEFAULT_INIT_TIMEOUT_MS = 10_000;
/** The error of invocations cut short by `stop()`. */
const STOPPED = 'Local.Stopped';

/**
 * The execution environment, in a worker thread: loads the bundle once (the init phase), then runs
 * one invocation at a time. Console output carries the request id and level, as Lambda writes it.
 */
const BOOTSTRAP = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { pathToFileURL } = require('node:url');
const util = require('node:util');

const data = workerData;
let requestId;
const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(levels)) {
  console[method] = (...args) => {
    process.stdout.write(new Date().toISOString() + '\\t' + (requestId || 'undefined') + '\\t' + level + '\\t' + util.format(...args) + '\\n');
  };
}

function describe(error) {
  if (error !== null && typeof error === 'object') {
    return {
      errorType: String(error.name || (error.constructor && error.constructor.name) || 'Error'),
      errorMessage: String(error.message === undefined ? '' : error.message),
      trace: typeof error.stack === 'string' ? error.stack.split('\\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function call(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error, result) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (error) => callback(error === undefined || error === null ? new Error('handled') : error);
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (error) {
      callback(error);
      return;
    }
    if (returned && typeof returned.then === 'function') {
      returned.then((result) => callback(null, result), (error) => callback(error === undefined || error === null ? new Error('the promise was rejected') : error));
    } else if (handler.length < 3) {
      callback(null, returned);
    }
  });
}

async function init() {
  const started = performance.now();
  let mod;
  try {
    mod = /\\.mjs$/.test(data.handlerFile)
      ? await import(pathToFileURL(data.handlerFile).href)
      : require(data.handlerFile);
  } catch (error) {
    const d = describe(error);
    parentPort.postMessage({ type: 'init-error', errorType: 'Runtime.ImportModuleError', errorMessage: d.errorType + ': ' + d.errorMessage, trace: d.trace });
    return;
  }
  const handler = mod && mod[data.handlerExport];
  if (typeof handler !== 'function') {
    parentPort.postMessage({ type: 'init-error', errorType: 'Runtime.HandlerNotFound', errorMessage: data.handlerModule + '.' + data.handlerExport + ' is undefined or not exported', trace: [] });
    return;
  }
  parentPort.on('message', async (message) => {
    requestId = message.requestId;
    const deadline = message.deadline;
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: data.functionName,
      functionVersion: data.functionVersion,
      invokedFunctionArn: message.invokedFunctionArn,
      memoryLimitInMB: String(data.memoryMb),
      awsRequestId: message.requestId,
      logGroupName: data.logGroupName,
      logStreamName: data.logStreamName,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const result = await call(handler, JSON.parse(message.payload), context);
      let payload;
      try {
        payload = result === undefined ? undefined : JSON.stringify(result);
      } catch (error) {
        parentPort.postMessage({ type: 'done', id: message.id, error: { errorType: 'Runtime.ResultSerializationError', errorMessage: describe(error).errorMessage, trace: [] } });
        return;
      }
      parentPort.postMessage({ type: 'done', id: message.id, payload });
    } catch (error) {
      parentPort.postMessage({ type: 'done', id: message.id, error: describe(error) });
    }
  });
  parentPort.postMessage({ type: 'ready', moduleMs: performance.now() - started });
}

init().catch((error) => {
  const d = describe(error);
  parentPort.postMessage({ type: 'init-error', errorType: 'Runtime.Unknown', errorMessage: d.errorMessage, trace: d.trace });
});
`;

type WorkerMessage =
  | { type: 'ready'; moduleMs: number }
  | ({ type: 'init-error' } & FunctionError)
  | { type: 'done'; id: number; payload?: string; error?: FunctionError };

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

/** One execution environment: a worker thread, one invocation at a time. */
interface Slot {
  readonly worker: Worker;
  state: 'init' | 'idle' | 'busy' | 'dead';
  readonly ready: Promise<void>;
  initDurationMs?: number;
  running?: Running;
  /** Why the worker is going away, when the runtime decided it (a timeout, `stop()`). */
  ending?: FunctionError;
  /** The uncaught error that ended the worker, if any. */
  crash?: FunctionError;
}

interface Lease {
  readonly slot: Slot;
  readonly coldStart: boolean;
}

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  readonly reject: (error: unknown) => void;
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
  lastInitDurationMs?: number;

  private readonly slots = new Set<Slot>();
  private readonly waiters: Waiter[] = [];
  private readonly env: Record<string, string>;
  private readonly log: (line: string) => void;
  private execArgv: string[];
  private nextId = 1;
  private invocations = 0;
  private coldStarts = 0;

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
    this.env = this.environment();
    this.execArgv = [
      ...(options.execArgv ?? (options.environment.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)),
    ];
    this.log = options.log ?? ((line) => process.stderr.write(`[${this.name}:${this.version}] ${line}\n`));
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

  private environment(): Record<string, string> {
    const { name, version, handlerFile, memoryMb, region = 'us-east-1' } = this.options;
    const module = path.basename(handlerFile).replace(/\.(c|m)?js$/, '');
    return {
      // Lambda gives every function credentials; the local services accept any.
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SESSION_TOKEN: 'local',
      LANG: 'en_US.UTF-8',
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      ...this.options.environment,
      // Reserved: a function cannot set these.
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${this.options.runtime ?? `nodejs${process.versions.node.split('.')[0]}.x`}`,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: version,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb ?? 128),
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/[${version}]`,
      LAMBDA_TASK_ROOT: path.dirname(handlerFile),
      _HANDLER: `${module}.${this.options.handlerExport ?? 'handler'}`,
    };
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
    const {
      handlerFile,
      handlerExport = 'handler',
      memoryMb,
      initTimeoutMs = DEFAULT_INIT_TIMEOUT_MS,
    } = this.options;
    this.coldStarts += 1;
    const started = performance.now();
    const create = (execArgv: string[]): Worker =>
      new Worker(BOOTSTRAP, {
        eval: true,
        env: this.env,
        name: `${this.name}:${this.version}`,
        execArgv,
        stdout: true,
        stderr: true,
        ...(memoryMb !== undefined && { resourceLimits: { maxOldGenerationSizeMb: memoryMb } }),
        workerData: {
          handlerFile,
          handlerExport,
          handlerModule: path.basename(handlerFile).replace(/\.(c|m)?js$/, ''),
          functionName: this.name,
          functionVersion: this.version,
          memoryMb: memoryMb ?? 128,
          logGroupName: `/aws/lambda/${this.name}`,
          logStreamName: `local/[${this.version}]`,
        },
      });
    let worker: Worker;
    try {
      worker = create(this.execArgv);
    } catch (error) {
      // NODE_OPTIONS may hold process-wide flags that a worker thread cannot take.
      if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
      this.log(`NODE_OPTIONS flags ${this.execArgv.join(' ')} do not apply to a worker thread: ignored`);
      this.execArgv = [];
      worker = create(this.execArgv);
    }
    this.pipeLines(worker.stdout);
    this.pipeLines(worker.stderr);
    let markReady!: () => void;
    let failInit!: (error: FunctionError) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failInit = (error) => reject(new FunctionInitError(this.name, error));
    });
    // Only warm() awaits it; an invocation learns of a failed init through its owner's reject.
    ready.catch(() => undefined);
    const slot: Slot = { worker, state: 'init', ready };
    this.slots.add(slot);

    const initTimer = setTimeout(() => {
      const error = {
        errorType: 'Sandbox.Timedout',
        errorMessage: `INIT timed out after ${initTimeoutMs} ms`,
      };
      void this.kill(slot, error);
    }, initTimeoutMs);

    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') {
        clearTimeout(initTimer);
        if (slot.state !== 'init' || slot.ending) return;
        slot.initDurationMs = round(performance.now() - started);
        this.lastInitDurationMs = slot.initDurationMs;
        this.initError = undefined;
        markReady();
        if (owner) {
          slot.state = 'busy';
          owner.resolve({ slot, coldStart: true });
        } else {
          slot.state = 'idle';
          this.dispatch();
        }
      } else if (message.type === 'init-error') {
        clearTimeout(initTimer);
        const error = { errorType: message.errorType, errorMessage: message.errorMessage };
        this.log(`INIT_REPORT Status: error\tError Type: ${error.errorType}\t${error.errorMessage}`);
        void this.kill(slot, error);
      } else if (message.type === 'done' && slot.running?.id === message.id) {
        slot.running.finish(message);
      }
    });
    worker.on('error', (error: Error & { code?: string }) => {
      slot.crash =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? { errorType: 'Runtime.OutOfMemory', errorMessage: error.message }
          : { errorType: error.name || 'Error', errorMessage: error.message };
    });
    worker.on('exit', (code) => {
      clearTimeout(initTimer);
      const wasInit = slot.state === 'init';
      slot.state = 'dead';
      this.slots.delete(slot);
      const error = slot.ending ??
        slot.crash ?? { errorType: 'Runtime.ExitError', errorMessage: `exited with status ${code}` };
      if (wasInit) {
        if (error.errorType !== STOPPED) this.initError = error;
        failInit(error);
        owner?.reject(new FunctionInitError(this.name, error));
      } else if (slot.running) {
        slot.running.finish({ error });
      } else if (!slot.ending) {
        this.log(`execution environment ended: ${error.errorType}: ${error.errorMessage}`);
      }
      this.dispatch();
    });
    return slot;
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
          const durationMs = round(performance.now() - started);
          let error = outcome.error;
          if (
            !error &&
            outcome.payload !== undefined &&
            Buffer.byteLength(outcome.payload) > MAX_RESPONSE_BYTES
          ) {
            error = {
              errorType: 'Function.ResponseSizeTooLarge',
              errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
            };
          }
          if (error) {
            this.log(`${requestId}\tERROR\tInvoke Error\t${error.errorType}: ${error.errorMessage}`);
            resolve({
              error: { errorType: error.errorType, errorMessage: error.errorMessage },
              durationMs,
              requestId,
            });
            return;
          }
          const result = outcome.payload === undefined ? undefined : (JSON.parse(outcome.payload) as unknown);
          resolve({ result, durationMs, requestId });
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

  private pipeLines(stream: Readable): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.log(line);
    });
    stream.on('end', () => {
      if (partial) this.log(partial);
      partial = '';
    });
  }
}

/** What an alias routes to: a `LocalFunctionVersion`, or anything with its name, version and invoke. */
export interface AliasTarget extends InvokeTarget {
  readonly name: string;
  readonly version: string;
}

/** A version's share of an alias's traffic. */
export interface VersionWeight {
  readonly version: string;
  readonly weight: number;
}

/** What an alias invocation returns: the version's outcome and which version ran it. */
export interface AliasInvokeResult extends InvokeResult {
  readonly executedVersion: string;
}

/** A version's metrics as the alias saw them, like CloudWatch's `ExecutedVersion` dimension. */
export interface VersionMetrics {
  readonly version: string;
  /** Since the version was first invoked through the alias (or the last `resetMetrics`). */
  readonly invocations: number;
  readonly errors: number;
  /** Over the sliding window: the last `windowSize` invocations within the last `windowSeconds`. */
  readonly window: {
    readonly invocations: number;
    readonly errors: number;
    /** errors / invocations; 0 with no invocations. */
    readonly errorRate: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
}

export interface LocalAliasOptions {
  /** @default 100 */
  readonly windowSize?: number;
  /** @default 60 */
  readonly windowSeconds?: number;
  /** The clock of the sliding window. @default Date.now */
  readonly now?: () => number;
}

interface Sample {
  readonly at: number;
  readonly durationMs: number;
  readonly error: boolean;
}

class VersionTally {
  invocations = 0;
  errors = 0;
  readonly samples: Sample[] = [];
}

/**
 * A Lambda alias (`live`): a primary version and at most one additional version with a weight.
 * Traffic is split by a deterministic sequence: after n invocations since the last `point`/`shift`,
 * exactly ⌈n·weight⌉ went to the additional version, spread evenly.
 */
export class LocalAlias implements InvokeTarget {
  private primary?: AliasTarget;
  private additional?: { readonly version: AliasTarget; readonly weight: number };
  private sequence = 0;
  private readonly tallies = new Map<string, VersionTally>();
  private readonly windowSize: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    readonly name: string,
    options: LocalAliasOptions = {},
  ) {
    this.windowSize = options.windowSize ?? 100;
    this.windowMs = (options.windowSeconds ?? 60) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** The version with the rest of the traffic. */
  get primaryVersion(): AliasTarget | undefined {
    return this.primary;
  }

  /** The version being shifted to, if the alias is split. */
  get additionalVersion(): AliasTarget | undefined {
    return this.additional?.version;
  }

  /** Sends all traffic to `version` and ends any split. */
  point(version: AliasTarget): void {
    this.primary = version;
    this.additional = undefined;
    this.sequence = 0;
  }

  /** Gives `version` the share `weight` (0..1) of the traffic, the primary version the rest. */
  shift(version: AliasTarget, weight: number): void {
    const primary = this.primary;
    if (!primary) throw new Error(`alias ${this.name} points to no version: point() it first`);
    if (!(weight >= 0 && weight <= 1))
      throw new Error(`alias ${this.name}: weight must be within 0..1, got ${weight}`);
    if (version.name !== primary.name) {
      throw new Error(
        `alias ${this.name}: version ${version.version} is of ${version.name}, not ${primary.name}`,
      );
    }
    if (version === primary || version.version === primary.version) {
      throw new Error(
        `alias ${this.name}: the additional version must differ from the primary (${primary.version})`,
      );
    }
    if (this.additional?.version !== version) this.sequence = 0;
    this.additional = { version, weight };
  }

  weights(): VersionWeight[] {
    if (!this.primary) return [];
    if (!this.additional) return [{ version: this.primary.version, weight: 1 }];
    const { version, weight } = this.additional;
    return [
      { version: this.primary.version, weight: round(1 - weight, 6) },
      { version: version.version, weight },
    ];
  }

  async invoke(event: unknown): Promise<AliasInvokeResult> {
    const target = this.pick();
    const started = performance.now();
    let outcome: InvokeResult;
    try {
      outcome = await target.invoke(event);
    } catch (error) {
      this.record(target.version, performance.now() - started, true);
      throw error;
    }
    this.record(target.version, outcome.durationMs, isFailure(outcome));
    return { ...outcome, executedVersion: target.version };
  }

  /** Metrics of the versions the alias routes to now (primary first). */
  metrics(): VersionMetrics[] {
    return this.weights().map(({ version }) => this.metricsOf(version));
  }

  /** Metrics of one version (zeros if it was never invoked through this alias). */
  metricsOf(version: string): VersionMetrics {
    const tally = this.tallies.get(version) ?? new VersionTally();
    this.prune(tally);
    const durations = tally.samples.map((s) => s.durationMs).sort((a, b) => a - b);
    const errors = tally.samples.filter((s) => s.error).length;
    return {
      version,
      invocations: tally.invocations,
      errors: tally.errors,
      window: {
        invocations: durations.length,
        errors,
        errorRate: durations.length === 0 ? 0 : errors / durations.length,
        p50Ms: percentile(durations, 0.5),
        p99Ms: percentile(durations, 0.99),
      },
    };
  }

  /** Forgets the metrics of one version, or of all. */
  resetMetrics(version?: string): void {
    if (version === undefined) this.tallies.clear();
    else this.tallies.delete(version);
  }

  private pick(): AliasTarget {
    if (!this.primary) throw new Error(`alias ${this.name} points to no version`);
    const n = this.sequence++;
    if (!this.additional) return this.primary;
    const { version, weight } = this.additional;
    // Invocation n goes to the additional version when ⌈(n+1)·w⌉ steps past ⌈n·w⌉ (epsilon: 0.7·10 ≠ 7).
    const share = (k: number): number => Math.ceil(k * weight - 1e-9);
    return share(n + 1) > share(n) ? version : this.primary;
  }

  private record(version: string, durationMs: number, error: boolean): void {
    let tally = this.tallies.get(version);
    if (!tally) {
      tally = new VersionTally();
      this.tallies.set(version, tally);
    }
    tally.invocations += 1;
    if (error) tally.errors += 1;
    tally.samples.push({ at: this.now(), durationMs, error });
    this.prune(tally);
  }

  private prune(tally: VersionTally): void {
    const oldest = this.now() - this.windowMs;
    let drop = Math.max(0, tally.samples.length - this.windowSize);
    while (drop < tally.samples.length && tally.samples[drop].at < oldest) drop += 1;
    if (drop > 0) tally.samples.splice(0, drop);
  }
}

/** A handler error, or an HTTP-shaped result with a 5xx status (what a Function URL turns into a 5xx). */
export function isFailure(outcome: InvokeResult): boolean {
  if (outcome.error) return true;
  const result = outcome.result;
  if (result === null || typeof result !== 'object') return false;
  const status = (result as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 500;
}

/** Nearest-rank percentile of sorted values; 0 for none. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
