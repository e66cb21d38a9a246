import { setTimeout as sleep } from 'node:timers/promises';

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';

import { keys, SCHEMA_VERSION } from '../../lib/contracts/cell-items';
import { take, type Bucket, type RateLimit } from '../../lib/domain/token-bucket';

const BucketItem = z.looseObject({ tokens: z.number(), updatedAt: z.number(), version: z.number().int() });

/** Waits longer than this are not worth holding an invocation for: the message comes back later instead. */
export const MAX_TOKEN_WAIT_MS = 1000;
/** How stale the caller's reason to call may get while it waits (see `acquire`). */
const RECHECK_MS = 100;
/** Spreads out workers that lost the same race even when a token is due at once. */
const MIN_JITTER_MS = 10;

/** No token in time: the record should fail and come back after its visibility timeout. */
export class RateLimitedError extends Error {
  constructor(readonly waitMs: number) {
    super(`rate limit: next token in ${waitMs} ms`);
    this.name = 'RateLimitedError';
  }
}

/**
 * One token bucket per integration, stored in the cell table and shared by every concurrent
 * worker: read, take, write back only if nobody else wrote meanwhile (a `version` number).
 */
export class SharedRateLimiter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Resolves true once a token is taken; throws RateLimitedError rather than wait past `deadline`
   * (epoch ms). While it waits (for a refill, or after losing races to other workers) it asks
   * `stillWanted`, if given, every RECHECK_MS, and resolves false on a no.
   */
  async acquire(
    tenantId: string,
    limit: RateLimit,
    deadline: number,
    stillWanted?: () => Promise<boolean>,
  ): Promise<boolean> {
    let checkedAt = this.clock();
    for (;;) {
      if (stillWanted && this.clock() - checkedAt >= RECHECK_MS) {
        if (!(await stillWanted())) return false;
        checkedAt = this.clock();
      }
      const { bucket, version } = await this.read(tenantId);
      const now = this.clock();
      const result = take(bucket, now, limit);
      let waitMs: number;
      if (result.ok) {
        if (await this.write(tenantId, result.next, version)) return true;
        // Lost the race: the winner took the token seen here, so wait for the next one, not for a re-read.
        waitMs = Math.max(0, ((1 - result.next.tokens) / limit.ratePerSecond) * 1000);
      } else {
        waitMs = result.waitMs;
      }
      if (waitMs > MAX_TOKEN_WAIT_MS || now + waitMs > deadline) throw new RateLimitedError(waitMs);
      // Every waiting worker computed the same wait: spread the wake-ups so they do not all collide again.
      await sleep(waitMs + Math.random() * Math.max(waitMs, MIN_JITTER_MS));
    }
  }

  private async read(tenantId: string): Promise<{ bucket?: Bucket; version?: number }> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.bucket(tenantId), ConsistentRead: true }),
    );
    if (!Item) return {};
    const { tokens, updatedAt, version } = BucketItem.parse(Item);
    return { bucket: { tokens, updatedAt }, version };
  }

  private async write(tenantId: string, next: Bucket, version: number | undefined): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.bucket(tenantId),
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
