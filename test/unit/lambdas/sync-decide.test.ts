import { limitsOf } from '../../../lambdas/shared/facility-session';
import {
  MAX_REASON_LENGTH,
  rejoinDelaySeconds,
  retryDelaySeconds,
  shortened,
} from '../../../lambdas/sync/decide';
import { OrderItem } from '../../../lib/contracts/cell-items';
import { parseIntegrations, userKeyEnvName } from '../../../lib/contracts/integrations';
import { receiptOf } from '../../../lib/domain/compliance/receipt';

const integration = (ratePerSecond: number, burst: number) =>
  parseIntegrations(JSON.stringify({ t: { baseUrl: 'https://x', ratePerSecond, burst, apiKeySecret: 's' } }))
    .t;

describe('sync decisions', () => {
  it('backs off exponentially with jitter, honours what the API asked, and caps the wait', () => {
    const noJitter = () => 0;
    const fullJitter = () => 0.999;
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(n, undefined, noJitter))).toEqual([1, 2, 4, 8, 16]);
    expect(retryDelaySeconds(3, undefined, fullJitter)).toBe(6);
    expect(retryDelaySeconds(1, 7, noJitter)).toBe(7);
    expect(retryDelaySeconds(30, undefined, fullJitter)).toBe(60);
    expect(retryDelaySeconds(1, 3600, noJitter)).toBe(60);
  });

  it('brings a POST turned away by the rate limit back before its token, by what an invocation may wait', () => {
    // An invocation waits up to 3 s for a token; the record needs about 1 s to be handed over.
    expect(rejoinDelaySeconds(11.1, 3)).toBe(9);
    expect(rejoinDelaySeconds(2.5, 3)).toBe(0);
    expect(rejoinDelaySeconds(3.9, 3)).toBe(1);
    expect(rejoinDelaySeconds(5000, 3)).toBe(60);
    // No wait in the invocation: back when its token is due.
    expect(rejoinDelaySeconds(4, 0)).toBe(4);
  });

  it('keeps a reason short enough for a message attribute, marking the cut', () => {
    expect(shortened('400 row 0: bad label')).toBe('400 row 0: bad label');
    const long = shortened('x'.repeat(5000));
    expect(long).toHaveLength(MAX_REASON_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });

  it('sends the state system only the fields it knows, even from an order written by a newer version', () => {
    const order = OrderItem.parse({
      schemaVersion: 2,
      id: 'o-1',
      items: [{ sku: 'FLOWER-3.5G', quantity: 1, unitPriceCents: 3500, batchId: 'b-7' }],
      totalCents: 3500,
      customerId: 'c-9',
      syncStatus: 'PENDING',
      createdAt: '2024-04-20T16:20:00.000Z',
      loyaltyPoints: 35,
    });
    expect(receiptOf(order, { timeZone: 'America/Los_Angeles' })).toEqual({
      ExternalReceiptNumber: 'o-1',
      SalesDateTime: '2024-04-20T09:20:00.000',
      SalesCustomerType: 'Consumer',
      Transactions: [{ PackageLabel: 'FLOWER-3.5G', Quantity: 1, UnitOfMeasure: 'Each', TotalAmount: 35 }],
    });
  });

  it('runs the shared write bucket below the integration limit with half its burst, never below one call at a time', () => {
    expect(limitsOf(integration(20, 5), 0.9).writes).toEqual({ ratePerSecond: 18, burst: 2 });
    expect(limitsOf(integration(1, 1), 0.9).writes).toEqual({ ratePerSecond: 0.9, burst: 1 });
  });

  it('budgets GETs apart from writes, from the integration read settings', () => {
    expect(limitsOf(integration(20, 5), 0.9).reads).toEqual({ ratePerSecond: 45, burst: 10 });
  });

  it('names the local user key variable after the tenant', () => {
    expect(userKeyEnvName('green-leaf-co')).toBe('COMPLIANCE_USER_KEY_GREEN_LEAF_CO');
  });
});
