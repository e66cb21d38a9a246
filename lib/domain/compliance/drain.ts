/**
 * The drain after an outage: a tenant's pending orders re-enqueued oldest first, a chunk at a time, the
 * last message of each chunk carrying the cursor from which the next chunk is read (a baton). The queue
 * then holds about one chunk of the backlog, never the whole of it, and the table stays the only record
 * of what is still to send.
 */

/** Seconds of sending a chunk is sized for: enough to keep every worker busy, little enough to stay in order. */
export const DRAIN_AHEAD_SECONDS = 10;
export const MAX_DRAIN_CHUNK = 500;

/** Orders per chunk at a write rate of `ratePerSecond` POSTs of up to `batchSize` receipts. */
export function drainChunkSize(ratePerSecond: number, batchSize: number): number {
  const size = Math.ceil(ratePerSecond * batchSize * DRAIN_AHEAD_SECONDS);
  return Math.max(batchSize, Math.min(MAX_DRAIN_CHUNK, size));
}

/** SQS delays a message by at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

/**
 * The delay of the message that carries the breaker's probe: due when the cool-down ends, so the drain
 * after an outage starts then, not at the reconciler's next run.
 */
export function probeDelaySeconds(retryInMs: number): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(retryInMs / 1000)));
}
