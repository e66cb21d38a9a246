import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

import { SharedRateLimiter } from '../../../lambdas/shared/rate-limiter';

const TENANT = 'tenant-a';
/** 10 calls a second: a token every 100 ms; a call may leave at most 50 ms after its slot. */
const LIMIT = { ratePerSecond: 10, burst: 1 };

/**
 * The cell table's bucket item, held in memory, with the conditional write the limiter relies on. Each
 * write takes `writeMs` of the test's clock, as a slow DynamoDB answer or a stalled event loop would.
 */
function table(clock: { now: number }, writeMs: number) {
  let item: Record<string, unknown> | undefined;
  const writes: { tokens: number; updatedAt: number }[] = [];
  const doc = {
    send: async (command: GetCommand | PutCommand) => {
      if (command instanceof GetCommand) return { Item: item };
      const next = command.input.Item as Record<string, unknown>;
      const expected = command.input.ExpressionAttributeValues?.[':version'];
      if (item ? item.version !== expected : expected !== undefined) {
        throw new ConditionalCheckFailedException({ message: 'version moved', $metadata: {} });
      }
      clock.now += writeMs;
      item = next;
      writes.push({ tokens: next.tokens as number, updatedAt: next.updatedAt as number });
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  return { doc, writes };
}

describe('SharedRateLimiter', () => {
  const acquire = (writeMs: number) => {
    const clock = { now: 1_000_000 };
    const { doc, writes } = table(clock, writeMs);
    const limiter = new SharedRateLimiter(doc, 'cell-table', () => clock.now);
    return { writes, taken: limiter.acquire(TENANT, 'writes', LIMIT, clock.now + 10_000) };
  };

  it('sends on its slot with one write when the write is quick', async () => {
    const { writes, taken } = acquire(5);
    await expect(taken).resolves.toBe(true);
    expect(writes).toEqual([{ tokens: 0, updatedAt: 1_000_000 }]);
  });

  it('gives up a slot it would leave more than half a token late, and sends on the next one', async () => {
    // The first write answers 60 ms after its slot: sent then, it would arrive 40 ms before the next
    // caller's. The token is spent; the second slot is 100 ms after the first, and taken on time.
    const { writes, taken } = acquire(60);
    await expect(taken).resolves.toBe(true);
    expect(writes).toHaveLength(2);
    expect(writes[0]).toEqual({ tokens: 0, updatedAt: 1_000_000 });
    expect(writes[1].updatedAt).toBe(1_000_060);
    expect(writes[1].tokens).toBeCloseTo(-0.4, 9);
  });

  it('gives up at most one slot a call, so writes that are always slow still let calls through', async () => {
    const { writes, taken } = acquire(300);
    await expect(taken).resolves.toBe(true);
    expect(writes).toHaveLength(2);
  });
});
