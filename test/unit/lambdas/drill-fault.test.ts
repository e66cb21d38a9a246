import { faultInjector } from '../../../lambdas/api/drill-fault';
import { SMOKE_TENANT } from '../../../lib/contracts/names';

describe('the bad-release drill fault (BULKHEAD_FAULT_RATE)', () => {
  const run = (rate: number, tenant: string, n: number) => {
    const fail = faultInjector(rate);
    return Array.from({ length: n }, () => fail(tenant));
  };

  it('fails exactly that share of requests, spread evenly', () => {
    expect(run(0.5, 'alpha', 6)).toEqual([false, true, false, true, false, true]);
    expect(run(0.25, 'alpha', 100).filter(Boolean)).toHaveLength(25);
    expect(run(1, 'alpha', 3)).toEqual([true, true, true]);
  });

  it('fails nothing when unset (0), the way every deployed version runs', () => {
    expect(run(0, 'alpha', 50).some(Boolean)).toBe(false);
  });

  it('spares the smoke test’s tenant, so the drill exercises the canary analysis', () => {
    expect(run(1, SMOKE_TENANT, 5).some(Boolean)).toBe(false);
  });

  it('refuses a rate outside 0..1 (the version then fails to start, by name)', () => {
    expect(() => faultInjector(1.5)).toThrow('BULKHEAD_FAULT_RATE must be within 0..1, got 1.5');
    expect(() => faultInjector(Number.NaN)).toThrow('BULKHEAD_FAULT_RATE must be within 0..1');
  });
});
