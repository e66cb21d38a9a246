import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { K, keys, OrderItem, type SyncStatus } from '../../lib/contracts/cell-items';

/** The attributes of an attempt in progress, or of one whose outcome is not known. */
const ATTEMPT = ['attemptId', 'attemptedAt', 'claimUntil'] as const;
const LEAVING_PENDING = [K.pendingPartitionKey, K.pendingSortKey, ...ATTEMPT];

/**
 * The order item as the sync worker sees it. Every settling write is conditional on the order still
 * being PENDING, so a second worker (or a redelivery) settling the same order is a no-op. Before a call,
 * the worker claims the order: the claim records the attempt's time, which stays on the order if the
 * outcome is unknown, so whoever tries next looks the receipt up before posting again.
 */
export class OrderStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenantId: string, orderId: string): Promise<OrderItem | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.order(tenantId, orderId), ConsistentRead: true }),
    );
    return Item ? OrderItem.parse(Item) : undefined;
  }

  /**
   * Takes the order for one attempt at `at`, until `until` (epoch ms): only while it is PENDING, no one
   * else holds it, and its unknown attempt is still the one the caller looked up (`seenAttemptedAt`).
   */
  claim(
    tenantId: string,
    orderId: string,
    claim: { attemptId: string; at: number; until: number; seenAttemptedAt?: number },
  ): Promise<boolean> {
    return this.update(tenantId, orderId, {
      UpdateExpression: 'SET attemptId = :id, attemptedAt = :at, claimUntil = :until',
      ConditionExpression:
        'syncStatus = :pending AND (attribute_not_exists(claimUntil) OR claimUntil < :at) AND ' +
        (claim.seenAttemptedAt === undefined ? 'attribute_not_exists(attemptedAt)' : 'attemptedAt = :seen'),
      ExpressionAttributeValues: {
        ':id': claim.attemptId,
        ':at': claim.at,
        ':until': claim.until,
        ':pending': 'PENDING',
        ...(claim.seenAttemptedAt !== undefined && { ':seen': claim.seenAttemptedAt }),
      },
    });
  }

  /**
   * Lets go of the order after attempt `attemptId`. `known`: nothing was recorded, so the next try may
   * post at once; otherwise the attempt's time stays for a lookup.
   */
  release(
    tenantId: string,
    orderId: string,
    attemptId: string,
    known: boolean,
    at: number,
  ): Promise<boolean> {
    return this.update(tenantId, orderId, {
      UpdateExpression: known ? 'REMOVE attemptId, attemptedAt, claimUntil' : 'SET claimUntil = :at',
      ConditionExpression: 'syncStatus = :pending AND attemptId = :id',
      ExpressionAttributeValues: { ':pending': 'PENDING', ':id': attemptId, ...(!known && { ':at': at }) },
    });
  }

  /**
   * SYNCED with the state system's receipt id. `recordedAt` (when the state system was asked to record
   * it) puts the order in the `unverified` index, where the reconciler finds it to confirm.
   */
  markSynced(
    tenantId: string,
    orderId: string,
    synced: { at: Date; complianceId: string; recordedAt: number },
  ): Promise<boolean> {
    return this.settle(tenantId, orderId, 'SYNCED', {
      syncedAt: synced.at.toISOString(),
      complianceId: synced.complianceId,
      [K.unverifiedPartitionKey]: tenantId,
      [K.unverifiedSortKey]: new Date(synced.recordedAt).toISOString(),
    });
  }

  markRejected(tenantId: string, orderId: string, at: Date, rejectReason: string): Promise<boolean> {
    return this.settle(tenantId, orderId, 'REJECTED', { rejectedAt: at.toISOString(), rejectReason });
  }

  markNotRequired(tenantId: string, orderId: string): Promise<boolean> {
    return this.settle(tenantId, orderId, 'NOT_REQUIRED', {});
  }

  /** Leaving PENDING also leaves the sparse `pending` index: the reconciler stops seeing the order. */
  private settle(
    tenantId: string,
    orderId: string,
    status: SyncStatus,
    attributes: Record<string, string>,
  ): Promise<boolean> {
    const set = { syncStatus: status, statusPk: keys.statusPk(tenantId, status), ...attributes };
    const names = Object.keys(set);
    return this.update(tenantId, orderId, {
      UpdateExpression: `SET ${names.map((n) => `${n} = :${n}`).join(', ')} REMOVE ${LEAVING_PENDING.join(', ')}`,
      ConditionExpression: 'syncStatus = :pending',
      ExpressionAttributeValues: {
        ...Object.fromEntries(Object.entries(set).map(([n, v]) => [`:${n}`, v])),
        ':pending': 'PENDING',
      },
    });
  }

  /** False when the condition did not hold. */
  private async update(
    tenantId: string,
    orderId: string,
    input: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, Key: keys.order(tenantId, orderId), ...input }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
