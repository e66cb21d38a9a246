/** The sync worker's small decisions as plain functions: no I/O, so every rule is testable on its own. */

/** Longest a record waits before its next attempt: short enough that a drain resumes promptly. */
export const MAX_RETRY_DELAY_SECONDS = 60;

/**
 * Seconds until a record is tried again (SQS visibility), so retries back off instead of waiting out
 * the queue's whole visibility timeout: as long as the API asked (Retry-After) or a token takes, else
 * exponential in the receive count; plus jitter, so records that failed together spread out.
 */
export function retryDelaySeconds(
  receiveCount: number,
  askedSeconds?: number,
  random: () => number = Math.random,
): number {
  const base = askedSeconds ?? Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.max(0, receiveCount - 1));
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.ceil(base + random() * Math.max(1, base / 2)));
}

/**
 * Seconds until a POST turned away for want of a token is received again, `inLineSeconds` before its
 * token is due: early by what an invocation may wait for a token (`maxWaitSeconds`) less a second for the
 * event source to hand the record over, so it is back in line before the tokens ahead of it are spent
 * (a budget that idles while turned-away records wait out their visibility is a drain slower than the
 * limit), yet never so early that it is turned away again. Records turned away together are spread by
 * their place in line already (the caller's `inLineSeconds`), so no jitter is added.
 */
export function rejoinDelaySeconds(inLineSeconds: number, maxWaitSeconds: number): number {
  const handOverSeconds = 1;
  const delay = Math.floor(inLineSeconds - Math.max(0, maxWaitSeconds - handOverSeconds));
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(0, delay));
}

/** Kept short enough for an SQS message attribute and the order item, and for a person to read. */
export const MAX_REASON_LENGTH = 1000;

export const shortened = (reason: string): string =>
  reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason;
