/** What invoking a local function (a version, an alias) gives back, as Lambda's `Invoke` would. */

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

/** A handler error, or an HTTP-shaped result with a 5xx status (what a Function URL turns into a 5xx). */
export function isFailure(outcome: InvokeResult): boolean {
  if (outcome.error) return true;
  const result = outcome.result;
  if (result === null || typeof result !== 'object') return false;
  const status = (result as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 500;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
