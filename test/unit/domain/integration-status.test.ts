import {
  integrationColour,
  ORANGE_AFTER_MS,
  RED_AFTER_MS,
  type IntegrationFacts,
} from '../../../lib/domain/integration-status';

const now = 100 * 60 * 1000;
const flowing: IntegrationFacts = {
  pending: 3,
  lastSuccessAt: now - 1000,
  oldestPendingSince: now - 5000,
  breaker: 'closed',
  enabled: true,
};

describe('integration status colour', () => {
  it('is green with nothing pending, whatever else is wrong', () => {
    expect(integrationColour({ pending: 0, breaker: 'open', enabled: false }, now)).toBe('green');
  });

  it('is green while work is pending but flowing', () => {
    expect(integrationColour(flowing, now)).toBe('green');
  });

  it('turns orange when the breaker is not closed or the integration is switched off', () => {
    expect(integrationColour({ ...flowing, breaker: 'open' }, now)).toBe('orange');
    expect(integrationColour({ ...flowing, breaker: 'half-open' }, now)).toBe('orange');
    expect(integrationColour({ ...flowing, enabled: false }, now)).toBe('orange');
  });

  it('turns orange when the oldest order has waited a minute', () => {
    expect(integrationColour({ ...flowing, oldestPendingSince: now - ORANGE_AFTER_MS + 1 }, now)).toBe(
      'green',
    );
    expect(integrationColour({ ...flowing, oldestPendingSince: now - ORANGE_AFTER_MS }, now)).toBe('orange');
  });

  it('turns red after 20 minutes without a success while work waits that long', () => {
    const stuck = { ...flowing, lastSuccessAt: now - RED_AFTER_MS, oldestPendingSince: now - RED_AFTER_MS };
    expect(integrationColour(stuck, now)).toBe('red');
    expect(integrationColour({ ...stuck, lastSuccessAt: now - RED_AFTER_MS + 1 }, now)).toBe('orange');
  });

  it('does not count the quiet time before the work arrived: a fresh order after a quiet day is not red', () => {
    expect(
      integrationColour(
        { ...flowing, lastSuccessAt: now - 24 * 3600_000, oldestPendingSince: now - 1000 },
        now,
      ),
    ).toBe('green');
  });

  it('is red for work that never synced at all once it has waited the red threshold', () => {
    const never = {
      pending: 1,
      oldestPendingSince: now - RED_AFTER_MS,
      breaker: 'open' as const,
      enabled: true,
    };
    expect(integrationColour(never, now)).toBe('red');
  });

  it('applies custom thresholds', () => {
    const thresholds = { redAfterMs: 2000, orangeAfterMs: 500 };
    expect(
      integrationColour(
        { ...flowing, lastSuccessAt: now - 3000, oldestPendingSince: now - 3000 },
        now,
        thresholds,
      ),
    ).toBe('red');
    expect(
      integrationColour(
        { ...flowing, lastSuccessAt: now - 100, oldestPendingSince: now - 600 },
        now,
        thresholds,
      ),
    ).toBe('orange');
  });

  it('turns orange when synced work has waited too long for a reconciliation to confirm it', () => {
    const thresholds = {
      redAfterMs: RED_AFTER_MS,
      orangeAfterMs: ORANGE_AFTER_MS,
      reconcileStaleMs: 30 * 60_000,
    };
    const idle = { pending: 0, breaker: 'closed' as const, enabled: true };
    expect(integrationColour({ ...idle, oldestUnverifiedAt: now - 30 * 60_000 + 1 }, now, thresholds)).toBe(
      'green',
    );
    expect(integrationColour({ ...idle, oldestUnverifiedAt: now - 30 * 60_000 }, now, thresholds)).toBe(
      'orange',
    );
    expect(integrationColour({ ...flowing, oldestUnverifiedAt: now - 30 * 60_000 }, now, thresholds)).toBe(
      'orange',
    );
    // Not judged without the threshold.
    expect(integrationColour({ ...idle, oldestUnverifiedAt: 0 }, now)).toBe('green');
  });
});
