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

/**
 * A function error, as Lambda's `Errors` metric counts it: thrown, timed out, crashed. An HTTP-shaped
 * result with a 5xx status is a successful invocation (docs: "Types of metrics for Lambda functions");
 * a handler reports those in its own metrics.
 */
export function isFailure(outcome: InvokeResult): boolean {
  return outcome.error !== undefined;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
