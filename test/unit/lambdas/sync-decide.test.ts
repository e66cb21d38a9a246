import {
  apiKeyEnvName,
  classifyResponse,
  retryDelaySeconds,
  describeAnswer,
  effectiveRateLimit,
  MAX_REASON_LENGTH,
  receiptBody,
} from '../../../lambdas/sync/decide';
import { OrderItem } from '../../../lib/contracts/cell-items';

describe('sync decisions', () => {
  it.each([
    [201, 'synced'],
    [200, 'synced'],
    [400, 'rejected'],
    [413, 'rejected'],
    [422, 'rejected'],
    [401, 'retry'],
    [403, 'retry'],
    [404, 'retry'],
    [408, 'retry'],
    [429, 'throttled'],
    [500, 'retry'],
    [503, 'retry'],
  ])('classifies HTTP %i as %s', (status, expected) => {
    expect(classifyResponse(status)).toBe(expected);
  });

  it('backs off exponentially with jitter, honours what the API asked, and caps the wait', () => {
    const noJitter = () => 0;
    const fullJitter = () => 0.999;
    expect([1, 2, 3, 4, 5].map((n) => retryDelaySeconds(n, undefined, noJitter))).toEqual([1, 2, 4, 8, 16]);
    expect(retryDelaySeconds(3, undefined, fullJitter)).toBe(6);
    expect(retryDelaySeconds(1, 7, noJitter)).toBe(7);
    expect(retryDelaySeconds(30, undefined, fullJitter)).toBe(60);
    expect(retryDelaySeconds(1, 3600, noJitter)).toBe(60);
  });

  it("describes an answer in the API's own words, JSON or not, and keeps it short", () => {
    expect(describeAnswer(400, '{"error":"invalid","details":"rejected by the state system"}')).toBe(
      '400 invalid: rejected by the state system',
    );
    expect(describeAnswer(400, '{"error":"invalid","details":[{"path":"items.0.quantity"}]}')).toBe(
      '400 invalid: [{"path":"items.0.quantity"}]',
    );
    expect(describeAnswer(502, '<html>Bad Gateway</html>')).toBe('502 <html>Bad Gateway</html>');
    expect(describeAnswer(503, '')).toBe('503');
    const long = describeAnswer(400, 'x'.repeat(5000));
    expect(long).toHaveLength(MAX_REASON_LENGTH);
    expect(long.endsWith('…')).toBe(true);
  });

  it('sends the receipts API only the fields it knows, even from an order written by a newer version', () => {
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
    expect(receiptBody(order)).toEqual({
      externalId: 'o-1',
      salesDateTime: '2024-04-20T16:20:00.000Z',
      items: [{ sku: 'FLOWER-3.5G', quantity: 1, unitPriceCents: 3500 }],
      totalCents: 3500,
    });
  });

  it('runs the shared bucket below the integration limit with half its burst, never below one call at a time', () => {
    expect(
      effectiveRateLimit({ baseUrl: 'https://x', ratePerSecond: 20, burst: 5, apiKeySecret: 's' }, 0.9),
    ).toEqual({
      ratePerSecond: 18,
      burst: 2,
    });
    expect(
      effectiveRateLimit({ baseUrl: 'https://x', ratePerSecond: 1, burst: 1, apiKeySecret: 's' }, 0.9),
    ).toEqual({
      ratePerSecond: 0.9,
      burst: 1,
    });
  });

  it('names the local API key variable after the tenant', () => {
    expect(apiKeyEnvName('green-leaf-co')).toBe('COMPLIANCE_API_KEY_GREEN_LEAF_CO');
  });
});
