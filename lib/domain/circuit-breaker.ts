/**
 * Circuit breaker for one integration, as plain state transitions. After `failureThreshold`
 * consecutive failures it opens and no call is made; after `cooldownMs` one caller may probe
 * (half-open); the probe's result closes it or opens it again for another cool-down.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface Breaker {
  readonly state: BreakerState;
  /** Consecutive failures while closed. */
  readonly failures: number;
  /** When it last opened (epoch ms). */
  readonly openedAt?: number;
  /** When the current probe started (epoch ms), while half-open. */
  readonly probeStartedAt?: number;
}

export interface BreakerPolicy {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
  /** A probe that never reported back frees the slot after this long. */
  readonly probeTimeoutMs: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  failureThreshold: 5,
  cooldownMs: 30_000,
  probeTimeoutMs: 60_000,
};
export const CLOSED: Breaker = { state: 'closed', failures: 0 };

export type Admission =
  | { readonly allowed: true; readonly probe: boolean; readonly next: Breaker }
  | { readonly allowed: false; readonly retryInMs: number };

/** May a call go out now? A probe admission changes the state, so the caller must persist `next`. */
export function admit(b: Breaker, now: number, policy: BreakerPolicy = DEFAULT_BREAKER_POLICY): Admission {
  switch (b.state) {
    case 'closed':
      return { allowed: true, probe: false, next: b };
    case 'open': {
      const reopensAt = (b.openedAt ?? 0) + policy.cooldownMs;
      if (now < reopensAt) return { allowed: false, retryInMs: reopensAt - now };
      return { allowed: true, probe: true, next: { ...b, state: 'half-open', probeStartedAt: now } };
    }
    case 'half-open': {
      const freedAt = (b.probeStartedAt ?? 0) + policy.probeTimeoutMs;
      if (now < freedAt) return { allowed: false, retryInMs: freedAt - now };
      return { allowed: true, probe: true, next: { ...b, probeStartedAt: now } };
    }
  }
}

export function recordSuccess(): Breaker {
  return CLOSED;
}

export function recordFailure(
  b: Breaker,
  now: number,
  policy: BreakerPolicy = DEFAULT_BREAKER_POLICY,
): Breaker {
  if (b.state !== 'closed') return { state: 'open', failures: b.failures + 1, openedAt: now };
  const failures = b.failures + 1;
  return failures >= policy.failureThreshold
    ? { state: 'open', failures, openedAt: now }
    : { state: 'closed', failures };
}
