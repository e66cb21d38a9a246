import {
  facilitiesPerIntegrator,
  METRC_READ_LIMITS,
  readBudget,
} from '../../../../lib/domain/compliance/read-budget';

describe('GET budgeting', () => {
  it("gives a lone facility its own limit, with headroom, and no more at once than Metrc's concurrency cap", () => {
    expect(readBudget(METRC_READ_LIMITS, 1)).toEqual({ ratePerSecond: 45, burst: 10, concurrency: 10 });
  });

  it("splits the integrator's limit between the facilities that share its vendor key", () => {
    const budget = readBudget(METRC_READ_LIMITS, 10);
    expect(budget.ratePerSecond).toBeCloseTo(13.5);
    expect(budget.concurrency).toBe(3);
    expect(budget.burst).toBe(3);
    // Together they stay under the integrator's 150/s and 30 at once.
    expect(budget.ratePerSecond * 10).toBeLessThan(METRC_READ_LIMITS.perIntegratorPerSecond);
    expect(budget.concurrency * 10).toBeLessThanOrEqual(METRC_READ_LIMITS.concurrentPerIntegrator);
  });

  it('never budgets below one call at a time, and refuses a headroom outside (0, 1]', () => {
    expect(readBudget(METRC_READ_LIMITS, 1000)).toMatchObject({ burst: 1, concurrency: 1 });
    expect(() => readBudget(METRC_READ_LIMITS, 1, 0)).toThrow(/headroom/);
  });

  it('counts facilities per state API and vendor key', () => {
    const counts = facilitiesPerIntegrator([
      { baseUrl: 'https://api-ca.metrc.com/', vendorKeySecret: 'v' },
      { baseUrl: 'https://api-ca.metrc.com', vendorKeySecret: 'v' },
      { baseUrl: 'https://api-co.metrc.com', vendorKeySecret: 'v' },
    ]);
    expect([...counts.values()].sort()).toEqual([1, 2]);
  });
});
