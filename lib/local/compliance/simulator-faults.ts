/** The failures the simulator can be switched to, and Metrc's rate limits as it enforces them. */
import { METRC_READ_LIMITS, type ReadLimits } from '../../domain/compliance/read-budget';
import { type Bucket, type RateLimit, refill, take } from '../../domain/token-bucket';

export { METRC_READ_LIMITS, type ReadLimits };

/**
 * `down`: connections reset. `error500`: a 500 before anything is done. `slow`: answers after a delay.
 * `timeout`: never answers, does nothing. `reject`: every receipt refused as invalid (400). `flaky`: the
 * write is committed, then the answer is lost (a reset, a hang, or a proxy's 502, in turn).
 */
export const FAULT_MODES = ['none', 'down', 'error500', 'slow', 'timeout', 'reject', 'flaky'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** The fault in force and the share of calls it hits. */
export class FaultSwitch {
  private current: { readonly mode: FaultMode; readonly share: number; seen: number; hits: number } = {
    mode: 'none',
    share: 1,
    seen: 0,
    hits: 0,
  };

  get mode(): FaultMode {
    return this.current.mode;
  }

  get share(): number {
    return this.current.share;
  }

  /**
   * `share` (0..1) is the fraction of calls the fault hits, spread evenly and deterministically:
   * with 0.5 every second call fails, so tests can count on it.
   */
  set(mode: FaultMode, share = 1): void {
    if (!FAULT_MODES.includes(mode)) {
      throw new RangeError(`fault mode must be one of ${FAULT_MODES.join(', ')}, got ${String(mode)}`);
    }
    if (!Number.isFinite(share) || share < 0 || share > 1) {
      throw new RangeError(`share must be a number from 0 to 1, got ${share}`);
    }
    this.current = { mode, share, seen: 0, hits: 0 };
  }

  /** Whether the fault hits this call: the n-th call is hit when n * share crosses an integer. */
  applies(): boolean {
    const { share } = this.current;
    const seen = ++this.current.seen;
    // The epsilon keeps float error (0.29 * 100 = 28.999…) from dropping a hit.
    const hit = Math.floor(seen * share + 1e-9) > Math.floor((seen - 1) * share + 1e-9);
    if (hit) this.current.hits++;
    return hit;
  }

  /** How the n-th lost answer of `flaky` is lost: reset, hang, 502, in turn. */
  lostAs(): 'reset' | 'hang' | 'bad-gateway' {
    return (['reset', 'hang', 'bad-gateway'] as const)[(this.current.hits - 1) % 3];
  }
}

/** A refused call: seconds until it may succeed, for Retry-After. */
export interface Throttled {
  readonly retryAfterSeconds: number;
}

const seconds = (waitMs: number) => Math.max(1, Math.ceil(waitMs / 1000));

function validRate(limit: RateLimit, what: string): void {
  if (!(Number.isFinite(limit.ratePerSecond) && limit.ratePerSecond > 0)) {
    throw new RangeError(`${what}: ratePerSecond must be a number > 0, got ${limit.ratePerSecond}`);
  }
  if (!(Number.isInteger(limit.burst) && limit.burst >= 1)) {
    throw new RangeError(`${what}: burst must be an integer >= 1, got ${limit.burst}`);
  }
}

/**
 * The limits the simulator enforces. Reads: Metrc's GET limits, a bucket of one second's worth per
 * facility and per vendor key, plus the concurrency caps. Writes (POST, PUT, DELETE): Metrc documents
 * no limit on them, so by default none; a test or the local platform may set one per facility.
 */
export class Limits {
  private reads: ReadLimits | undefined = METRC_READ_LIMITS;
  private writes: RateLimit | undefined;
  private readonly writesByFacility = new Map<string, RateLimit>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly inFlight = new Map<string, number>();

  /** `undefined` lifts the read limits. Buckets start full again. */
  setReads(limits: ReadLimits | undefined): void {
    if (limits) {
      for (const [k, v] of Object.entries(limits)) {
        if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`reads.${k} must be a number > 0, got ${v}`);
      }
    }
    this.reads = limits;
    this.buckets.clear();
  }

  /** The write limit of every facility without one of its own; `undefined` lifts it. */
  setWrites(limit: RateLimit | undefined, facility?: string): void {
    if (limit) validRate(limit, 'writes');
    if (facility === undefined) this.writes = limit;
    else if (limit) this.writesByFacility.set(facility, limit);
    else this.writesByFacility.delete(facility);
    this.buckets.clear();
  }

  /** Forgets every bucket: all start full. */
  refill(): void {
    this.buckets.clear();
  }

  private take(key: string, limit: RateLimit, now: number): number | undefined {
    const taken = take(this.buckets.get(key), now, limit);
    this.buckets.set(key, taken.next);
    return taken.ok ? undefined : taken.waitMs;
  }

  /** A write of `facility`: undefined when it may go ahead. */
  write(facility: string, now: number): Throttled | undefined {
    const limit = this.writesByFacility.get(facility) ?? this.writes;
    if (!limit) return undefined;
    const wait = this.take(`write ${facility}`, limit, now);
    return wait === undefined ? undefined : { retryAfterSeconds: seconds(wait) };
  }

  /**
   * A read of `facility` under `vendorKey`: on success the caller must call the returned `done` once
   * answered, which frees its place among those in flight.
   */
  read(facility: string, vendorKey: string, now: number): Throttled | { readonly done: () => void } {
    const limits = this.reads;
    if (!limits) return { done: () => undefined };
    const facilityKey = `read ${facility}`;
    const integratorKey = `read-integrator ${vendorKey}`;
    if (
      (this.inFlight.get(facilityKey) ?? 0) >= limits.concurrentPerFacility ||
      (this.inFlight.get(integratorKey) ?? 0) >= limits.concurrentPerIntegrator
    ) {
      return { retryAfterSeconds: 1 };
    }
    // A second's worth of calls at once: "50 GET calls per second per facility".
    const perSecond = (rate: number): RateLimit => ({
      ratePerSecond: rate,
      burst: Math.max(1, Math.floor(rate)),
    });
    const buckets = [
      [facilityKey, perSecond(limits.perFacilityPerSecond)],
      [integratorKey, perSecond(limits.perIntegratorPerSecond)],
    ] as const;
    const taken = buckets.map(([key, limit]) => take(this.buckets.get(key), now, limit));
    const refused = taken.filter((t) => !t.ok);
    if (refused.length > 0) {
      // Neither bucket pays for a call that is refused.
      for (const [key, limit] of buckets) this.buckets.set(key, refill(this.buckets.get(key), now, limit));
      return { retryAfterSeconds: seconds(Math.max(...refused.map((t) => ('waitMs' in t ? t.waitMs : 0)))) };
    }
    buckets.forEach(([key], n) => this.buckets.set(key, taken[n].next));
    for (const key of [facilityKey, integratorKey]) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    let freed = false;
    return {
      done: () => {
        if (freed) return;
        freed = true;
        for (const key of [facilityKey, integratorKey])
          this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
      },
    };
  }
}
