import { setTimeout as sleep } from 'node:timers/promises';

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';

import { keys, SCHEMA_VERSION } from '../../lib/contracts/cell-items';
import { reserve, type Bucket, type RateLimit } from '../../lib/domain/token-bucket';

/** Which of a tenant's buckets: writes (POST, DELETE) or reads (GET). */
export type BucketKind = 'writes' | 'reads';
const bucketKey = (tenantId: string, kind: BucketKind) =>
  kind === 'writes' ? keys.bucket(tenantId) : keys.readBucket(tenantId);

const BucketItem = z.looseObject({ tokens: z.number(), updatedAt: z.number(), version: z.number().int() });

/** Waits longer than this are not worth holding an invocation for: the message comes back later instead. */
export const MAX_TOKEN_WAIT_MS = 3000;
/**
 * How late, in tokens, a call may leave after its slot. The state system's bucket holds the integration's
 * burst; ours holds half of it (`limitsOf`), so the calls we space a token apart may each leave up to a
 * token late before the state system counts more than its limit. Half of that is kept for what lies
 * between leaving and arriving: building the request, the network, the state system's own queue.
 */
const LATE_MS_IN_TOKENS = 0.5;
/** Spreads out workers that lost the same race. */
const MIN_JITTER_MS = 10;

/** No token in time: the record should fail and come back after its visibility timeout. */
export class RateLimitedError extends Error {
  constructor(readonly waitMs: number) {
    super(`rate limit: next token in ${waitMs} ms`);
    this.name = 'RateLimitedError';
  }
}

/**
 * Token buckets per integration (one for writes, one for reads), stored in the cell table and shared by
 * every concurrent worker and the reconciler: read, take, write back only if nobody else wrote
 * meanwhile (a `version` number).
 */
export class SharedRateLimiter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Resolves true once a token is taken and its time has come; throws RateLimitedError rather than wait
   * past `deadline` (epoch ms) or MAX_TOKEN_WAIT_MS. The token is reserved (`reserve`): one read and one
   * conditional write, then a wait of exactly its share of the rate. After a wait it asks `stillWanted`, if
   * given, and resolves false on a no: the call is not made (the breaker opened meanwhile).
   */
  async acquire(
    tenantId: string,
    kind: BucketKind,
    limit: RateLimit,
    deadline: number,
    stillWanted?: () => Promise<boolean>,
  ): Promise<boolean> {
    let gaveUp = false;
    for (;;) {
      const { bucket, version } = await this.read(tenantId, kind);
      const now = this.clock();
      const reserved = reserve(bucket, now, limit, Math.min(MAX_TOKEN_WAIT_MS, deadline - now));
      if (!reserved.ok) throw new RateLimitedError(reserved.waitMs);
      if (!(await this.write(tenantId, kind, reserved.next, version))) {
        // Lost the race: nothing was taken. Read again, a little apart from the others who lost it.
        await sleep(Math.random() * MIN_JITTER_MS);
        continue;
      }
      // Until the reserved time itself: the write's own latency must not bunch this call up with the next.
      const slot = now + reserved.waitMs;
      if (reserved.waitMs > 0) {
        await sleep(Math.max(0, slot - this.clock()));
        if (stillWanted && !(await stillWanted())) return false;
      }
      // Late by more than half a token (a slow write, a stalled event loop that wakes many waiters at
      // once): going now would bunch this call with the next one's slot, so the slot is given up and
      // another reserved, once; the token is spent either way.
      if (this.clock() - slot > LATE_MS_IN_TOKENS * (1000 / limit.ratePerSecond) && !gaveUp) {
        gaveUp = true;
        continue;
      }
      return true;
    }
  }

  private async read(tenantId: string, kind: BucketKind): Promise<{ bucket?: Bucket; version?: number }> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: bucketKey(tenantId, kind), ConsistentRead: true }),
    );
    if (!Item) return {};
    const { tokens, updatedAt, version } = BucketItem.parse(Item);
    return { bucket: { tokens, updatedAt }, version };
  }

  private async write(
    tenantId: string,
    kind: BucketKind,
    next: Bucket,
    version: number | undefined,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...bucketKey(tenantId, kind),
            type: 'bucket',
            schemaVersion: SCHEMA_VERSION,
            tokens: next.tokens,
            updatedAt: next.updatedAt,
            version: (version ?? 0) + 1,
          },
          ...(version === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :version',
                ExpressionAttributeValues: { ':version': version },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
