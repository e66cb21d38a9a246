/** The failures the simulator can be switched to, and its per-integrator rate limit. */
import { type Bucket, take } from '../../domain/token-bucket';

export const FAULT_MODES = ['none', 'down', 'error500', 'slow', 'timeout', 'reject'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** The fault in force and the share of requests it hits. */
export class FaultSwitch {
  private current: { readonly mode: FaultMode; readonly share: number; seen: number } = {
    mode: 'none',
    share: 1,
    seen: 0,
  };

  get mode(): FaultMode {
    return this.current.mode;
  }

  get share(): number {
    return this.current.share;
  }

  /**
   * `share` (0..1) is the fraction of requests the fault hits, spread evenly and deterministically:
   * with 0.5 every second request fails, so tests can count on it.
   */
  set(mode: FaultMode, share = 1): void {
    if (!FAULT_MODES.includes(mode)) {
      throw new RangeError(`fault mode must be one of ${FAULT_MODES.join(', ')}, got ${String(mode)}`);
    }
    if (!Number.isFinite(share) || share < 0 || share > 1) {
      throw new RangeError(`share must be a number from 0 to 1, got ${share}`);
    }
    this.current = { mode, share, seen: 0 };
  }

  /** Whether the fault hits this request: the n-th request is hit when n * share crosses an integer. */
  applies(): boolean {
    const { share } = this.current;
    const seen = ++this.current.seen;
    // The epsilon keeps float error (0.29 * 100 = 28.999…) from dropping a hit.
    return Math.floor(seen * share + 1e-9) > Math.floor((seen - 1) * share + 1e-9);
  }
}

/** A token bucket per API key (one key = one integrator). */
export class RateLimiter {
  private limit: { readonly ratePerSecond: number; readonly burst: number } | undefined;
  private readonly buckets = new Map<string, Bucket>();

  /** `undefined` removes the limit. Buckets start full again. */
  set(ratePerSecond: number | undefined, burst = 1): void {
    if (ratePerSecond !== undefined && (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0)) {
      throw new RangeError(`ratePerSecond must be a number > 0, got ${ratePerSecond}`);
    }
    if (!Number.isInteger(burst) || burst < 1) {
      throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
    }
    this.limit = ratePerSecond === undefined ? undefined : { ratePerSecond, burst };
    this.buckets.clear();
  }

  /** Forgets every bucket: all start full. */
  refill(): void {
    this.buckets.clear();
  }

  /** Undefined when the request may go ahead, else the seconds until a token is available. */
  take(apiKey: string, now: number): number | undefined {
    if (!this.limit) return undefined;
    const taken = take(this.buckets.get(apiKey), now, this.limit);
    this.buckets.set(apiKey, taken.next);
    return taken.ok ? undefined : Math.max(1, Math.ceil(taken.waitMs / 1000));
  }
}
