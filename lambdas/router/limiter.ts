/**
 * The router's per-tenant counters in DynamoDB, shared by every router instance of the region. A request
 * takes a place in its tenant's second (`ADD` with a condition on the count) and in its tenant's
 * requests in flight (the same, given back when answered), side by side: one write each, and one more
 * when it ends. A conditional write that fails is still a write DynamoDB bills, so each router instance
 * remembers a refusal (`RefusalMemory`) and a flood past a tenant's limit costs a refused write per window per instance
 * (DynamoDB Developer Guide, "Condition expressions": a conditional write whose condition is false
 * still consumes write capacity).
 *
 * Fail open: the counters protect tenants from each other and must not become the one thing whose outage
 * refuses everyone. A store error or a call slower than the timeout admits the request and is counted.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

import {
  type FleetLimits,
  isLeaked,
  limitsOfTenant,
  rateWindow,
  refusal,
  RefusalMemory,
  type Refusal,
} from '../../lib/domain/tenant-limits';

export type Admission =
  | { readonly allowed: true; readonly release: () => Promise<void> }
  | { readonly allowed: false; readonly refusal: Refusal };

/** Admits a tenant's request under its limits, or says which limit refused it and for how long. */
export interface TenantLimiter {
  admit(tenantId: string, now: number): Promise<Admission>;
}

export interface DynamoLimiterOptions {
  readonly tableName: string;
  readonly limits: FleetLimits;
  /** A counter call slower than this admits the request. @default 200 */
  readonly timeoutMs?: number;
  /** Told of every counter call that failed or timed out (the request was admitted). */
  readonly onStoreError?: (error: Error) => void;
  readonly memory?: RefusalMemory;
  /** @default Date.now */
  readonly now?: () => number;
}

/** How long a second's counter is kept before TTL may delete it (DynamoDB deletes expired items within a few days). */
const RATE_ITEM_TTL_SECONDS = 3600;

const rateKey = (tenantId: string, window: number) => ({ counter: `rate#${tenantId}#${window}` });
const inFlightKey = (tenantId: string) => ({ counter: `inflight#${tenantId}` });

export class DynamoTenantLimiter implements TenantLimiter {
  private readonly memory: RefusalMemory;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoLimiterOptions,
  ) {
    this.memory = options.memory ?? new RefusalMemory();
  }

  async admit(tenantId: string, now: number): Promise<Admission> {
    const remembered = this.memory.recall(tenantId, now);
    if (remembered) return { allowed: false, refusal: remembered };
    const limits = limitsOfTenant(this.options.limits, tenantId);
    const [rate, place] = await Promise.all([
      this.countRequest(tenantId, limits.requestsPerSecond, now),
      this.takePlace(tenantId, limits.concurrentRequests, now),
    ]);
    const refusedBy = !rate ? 'rate' : place === 'refused' ? 'concurrency' : undefined;
    if (refusedBy) {
      if (place !== 'refused') await this.giveBack(tenantId, now);
      this.memory.remember(tenantId, refusedBy, now);
      return { allowed: false, refusal: refusal(refusedBy, now) };
    }
    let released = false;
    return {
      allowed: true,
      // A place the store did not confirm ('unknown': a timeout may have taken it anyway) is given back
      // too: a count one low lets one request too many through, where one high would hold the tenant
      // back for good. The count never goes below 0.
      release: async () => {
        if (released) return;
        released = true;
        await this.giveBack(tenantId, (this.options.now ?? Date.now)());
      },
    };
  }

  /** True when the request fits in its second (or the store could not say). */
  private async countRequest(tenantId: string, limit: number, now: number): Promise<boolean> {
    const window = rateWindow(now);
    const counted = await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: rateKey(tenantId, window),
        UpdateExpression: 'ADD n :one SET expiresAt = if_not_exists(expiresAt, :expires)',
        ConditionExpression: 'attribute_not_exists(n) OR n < :limit',
        ExpressionAttributeValues: {
          ':one': 1,
          ':limit': limit,
          ':expires': window + RATE_ITEM_TTL_SECONDS,
        },
      }),
    );
    return counted !== 'refused';
  }

  /**
   * A place among the tenant's requests in flight: 'taken', 'refused', or 'unknown' (the store failed or
   * was too slow: admitted). A count full of places nobody gave back for
   * `LEAKED_AFTER_MS` starts again from this request.
   */
  private async takePlace(
    tenantId: string,
    cap: number,
    now: number,
  ): Promise<'taken' | 'refused' | 'unknown'> {
    const { tableName } = this.options;
    const taken = await this.conditional(
      new UpdateCommand({
        TableName: tableName,
        Key: inFlightKey(tenantId),
        UpdateExpression: 'ADD n :one SET movedAt = :now',
        ConditionExpression: 'attribute_not_exists(n) OR n < :cap',
        ExpressionAttributeValues: { ':one': 1, ':cap': cap, ':now': now },
      }),
    );
    if (taken !== 'refused') return taken === 'done' ? 'taken' : 'unknown';
    const { Item } = await this.doc
      .send(new GetCommand({ TableName: tableName, Key: inFlightKey(tenantId), ConsistentRead: true }), {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      })
      .catch(() => ({ Item: undefined }));
    const movedAt = typeof Item?.movedAt === 'number' ? Item.movedAt : undefined;
    if (!isLeaked(movedAt, now)) return 'refused';
    const restarted = await this.conditional(
      new UpdateCommand({
        TableName: tableName,
        Key: inFlightKey(tenantId),
        UpdateExpression: 'SET n = :one, movedAt = :now',
        ConditionExpression: 'movedAt = :seen',
        ExpressionAttributeValues: { ':one': 1, ':now': now, ':seen': movedAt },
      }),
    );
    return restarted === 'done' ? 'taken' : restarted === 'refused' ? 'refused' : 'unknown';
  }

  private async giveBack(tenantId: string, now: number): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: inFlightKey(tenantId),
        UpdateExpression: 'ADD n :minus SET movedAt = :now',
        ConditionExpression: 'n > :zero',
        ExpressionAttributeValues: { ':minus': -1, ':zero': 0, ':now': now },
      }),
    );
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 200;
  }

  private async conditional(command: UpdateCommand): Promise<'done' | 'refused' | 'failed'> {
    try {
      await this.doc.send(command, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
      return 'done';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'refused';
      this.options.onStoreError?.(error as Error);
      return 'failed';
    }
  }
}
