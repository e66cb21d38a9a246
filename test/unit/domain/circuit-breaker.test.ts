import {
  admit,
  CLOSED,
  recordFailure,
  recordSuccess,
  type Breaker,
} from '../../../lib/domain/circuit-breaker';

const policy = { failureThreshold: 3, cooldownMs: 30_000, probeTimeoutMs: 60_000 };

function failTimes(times: number, at: number, from: Breaker = CLOSED): Breaker {
  let b = from;
  for (let i = 0; i < times; i++) b = recordFailure(b, at, policy);
  return b;
}

describe('circuit breaker', () => {
  it('lets calls through while closed, without a state change to persist', () => {
    expect(admit(CLOSED, 0, policy)).toEqual({ allowed: true, probe: false, next: CLOSED });
    const twoFailures = failTimes(2, 0);
    expect(admit(twoFailures, 0, policy)).toEqual({ allowed: true, probe: false, next: twoFailures });
  });

  it('stays closed below the failure threshold and opens on reaching it', () => {
    expect(failTimes(2, 1000)).toEqual({ state: 'closed', failures: 2 });
    expect(failTimes(3, 1000)).toEqual({ state: 'open', failures: 3, openedAt: 1000 });
  });

  it('counts consecutive failures only: a success closes it and starts the count again', () => {
    const afterSuccess = recordSuccess();
    expect(afterSuccess).toEqual(CLOSED);
    expect(failTimes(2, 0, afterSuccess).state).toBe('closed');
  });

  it('refuses calls while open, saying how long until the cool-down ends', () => {
    const open = failTimes(3, 1000);
    expect(admit(open, 1000, policy)).toEqual({ allowed: false, retryInMs: 30_000 });
    expect(admit(open, 30_999, policy)).toEqual({ allowed: false, retryInMs: 1 });
  });

  it('admits exactly one probe after the cool-down, moving to half-open', () => {
    const open = failTimes(3, 1000);
    const probe = admit(open, 31_000, policy);
    expect(probe).toEqual({
      allowed: true,
      probe: true,
      next: { state: 'half-open', failures: 3, openedAt: 1000, probeStartedAt: 31_000 },
    });
    if (!probe.allowed) throw new Error('unreachable');
    // Everyone else, once the probe is persisted, waits for its outcome.
    expect(admit(probe.next, 31_500, policy)).toEqual({ allowed: false, retryInMs: 59_500 });
  });

  it('closes when the probe succeeds', () => {
    const probe = admit(failTimes(3, 0), 30_000, policy);
    if (!probe.allowed) throw new Error('expected a probe');
    expect(recordSuccess()).toEqual(CLOSED);
    expect(admit(recordSuccess(), 30_001, policy)).toMatchObject({ allowed: true, probe: false });
  });

  it('opens again for a full cool-down when the probe fails', () => {
    const probe = admit(failTimes(3, 0), 30_000, policy);
    if (!probe.allowed) throw new Error('expected a probe');
    const reopened = recordFailure(probe.next, 30_500, policy);
    expect(reopened).toEqual({ state: 'open', failures: 4, openedAt: 30_500 });
    expect(admit(reopened, 60_499, policy)).toEqual({ allowed: false, retryInMs: 1 });
    expect(admit(reopened, 60_500, policy)).toMatchObject({ allowed: true, probe: true });
  });

  it('frees the probe slot when a probe never reports back within the probe timeout', () => {
    const probe = admit(failTimes(3, 0), 30_000, policy);
    if (!probe.allowed) throw new Error('expected a probe');
    expect(admit(probe.next, 89_999, policy)).toEqual({ allowed: false, retryInMs: 1 });
    expect(admit(probe.next, 90_000, policy)).toEqual({
      allowed: true,
      probe: true,
      next: { ...probe.next, probeStartedAt: 90_000 },
    });
  });
});
