import {
  DEFAULT_FLEET_LIMITS,
  isLeaked,
  LEAKED_AFTER_MS,
  limitsOfTenant,
  parseFleetLimits,
  rateWindow,
  refusal,
  RefusalMemory,
} from '../../../lib/domain/tenant-limits';

const FLEET = {
  default: { requestsPerSecond: 200, concurrentRequests: 50 },
  tenants: { busy: { requestsPerSecond: 1000, concurrentRequests: 100 } },
};
const AT = Date.parse('2026-12-02T12:00:00.000Z');

describe('tenant limits', () => {
  it("gives a tenant its own limits where the fleet names them, else the fleet's default", () => {
    expect(limitsOfTenant(FLEET, 'busy')).toEqual({ requestsPerSecond: 1000, concurrentRequests: 100 });
    expect(limitsOfTenant(FLEET, 'quiet')).toEqual(FLEET.default);
    // An inherited property is not a tenant.
    expect(limitsOfTenant(FLEET, 'constructor')).toEqual(FLEET.default);
  });

  it('reads baked limits back only when every limit is a whole number >= 1', () => {
    expect(parseFleetLimits(JSON.stringify(FLEET))).toEqual(FLEET);
    for (const bad of [
      undefined,
      '',
      'not json',
      'null',
      JSON.stringify({ tenants: {} }),
      JSON.stringify({ default: { requestsPerSecond: 0, concurrentRequests: 5 }, tenants: {} }),
      JSON.stringify({ ...FLEET, tenants: { busy: { requestsPerSecond: 10 } } }),
      JSON.stringify({ ...FLEET, tenants: { busy: { requestsPerSecond: 1.5, concurrentRequests: 2 } } }),
    ]) {
      expect(parseFleetLimits(bad)).toBeUndefined();
    }
    expect(DEFAULT_FLEET_LIMITS.default).toEqual({ requestsPerSecond: 200, concurrentRequests: 50 });
  });

  it('counts a request in its second, and sends a refused one back at the next second', () => {
    expect(rateWindow(AT + 999)).toBe(rateWindow(AT));
    expect(rateWindow(AT + 1000)).toBe(rateWindow(AT) + 1);
    expect(refusal('rate', AT + 250)).toEqual({ limit: 'rate', retryAfterSeconds: 1 });
    expect(refusal('concurrency', AT + 250)).toEqual({ limit: 'concurrency', retryAfterSeconds: 1 });
  });

  it('takes a count as leaked only once it has not moved for longer than the router waits on a cell', () => {
    expect(isLeaked(undefined, AT)).toBe(false);
    expect(isLeaked(AT - LEAKED_AFTER_MS, AT)).toBe(false);
    expect(isLeaked(AT - LEAKED_AFTER_MS - 1, AT)).toBe(true);
  });

  it('remembers a rate refusal to the end of its second, a concurrency refusal briefly', () => {
    const memory = new RefusalMemory(100);
    memory.remember('a', 'rate', AT + 250);
    memory.remember('b', 'concurrency', AT + 250);
    expect(memory.recall('a', AT + 999)).toEqual({ limit: 'rate', retryAfterSeconds: 1 });
    expect(memory.recall('a', AT + 1000)).toBeUndefined();
    expect(memory.recall('b', AT + 349)).toEqual({ limit: 'concurrency', retryAfterSeconds: 1 });
    expect(memory.recall('b', AT + 350)).toBeUndefined();
    expect(memory.recall('c', AT)).toBeUndefined();
  });
});
