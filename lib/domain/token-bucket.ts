/**
 * Token bucket for a per-integration rate limit, as a pure function: the caller stores the bucket
 * (in the cell table, with a conditional write) so every concurrent worker shares one budget.
 */

export interface Bucket {
  readonly tokens: number;
  /** Epoch ms of the last refill. */
  readonly updatedAt: number;
}

export interface RateLimit {
  readonly ratePerSecond: number;
  /** Bucket capacity: calls that may go out back to back. */
  readonly burst: number;
}

export type Take =
  | { readonly ok: true; readonly next: Bucket }
  | { readonly ok: false; readonly next: Bucket; readonly waitMs: number };

export function refill(bucket: Bucket | undefined, now: number, limit: RateLimit): Bucket {
  if (!bucket) return { tokens: limit.burst, updatedAt: now };
  const elapsed = Math.max(0, now - bucket.updatedAt);
  return {
    tokens: Math.min(limit.burst, bucket.tokens + (elapsed / 1000) * limit.ratePerSecond),
    updatedAt: now,
  };
}

/** Takes one token if there is one; otherwise says how long until there will be. */
export function take(bucket: Bucket | undefined, now: number, limit: RateLimit): Take {
  const filled = refill(bucket, now, limit);
  if (filled.tokens >= 1) return { ok: true, next: { ...filled, tokens: filled.tokens - 1 } };
  return { ok: false, next: filled, waitMs: Math.ceil(((1 - filled.tokens) / limit.ratePerSecond) * 1000) };
}

/**
 * Takes one token now or ahead of time: the bucket may go below zero by what `maxWaitMs` of refill pays
 * back, and the caller makes its call after `waitMs`. Callers that reserve one after another go out one
 * token's time apart, in the order they reserved, without polling for a token or racing for it, so a
 * shared bucket is used up to its rate, never past it.
 */
export function reserve(
  bucket: Bucket | undefined,
  now: number,
  limit: RateLimit,
  maxWaitMs: number,
): { readonly ok: boolean; readonly next: Bucket; readonly waitMs: number } {
  const filled = refill(bucket, now, limit);
  const tokens = filled.tokens - 1;
  const waitMs = tokens >= 0 ? 0 : Math.ceil((-tokens / limit.ratePerSecond) * 1000);
  if (waitMs > maxWaitMs) return { ok: false, next: filled, waitMs };
  return { ok: true, next: { tokens, updatedAt: now }, waitMs };
}
