import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { keys, OrderItem, type SyncStatus } from '../../lib/contracts/cell-items';

/**
 * The order item as the sync worker sees it. Every settling write is conditional on the order
 * still being PENDING, so a second worker (or a redelivery) settling the same order is a no-op.
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

  /** False when the order was no longer PENDING. */
  markSynced(tenantId: string, orderId: string, at: Date, complianceId?: string): Promise<boolean> {
    return this.settle(tenantId, orderId, 'SYNCED', {
      syncedAt: at.toISOString(),
      ...(complianceId !== undefined && { complianceId }),
    });
  }

  markRejected(tenantId: string, orderId: string, at: Date, rejectReason: string): Promise<boolean> {
    return this.settle(tenantId, orderId, 'REJECTED', { rejectedAt: at.toISOString(), rejectReason });
  }

  markNotRequired(tenantId: string, orderId: string): Promise<boolean> {
    return this.settle(tenantId, orderId, 'NOT_REQUIRED', {});
  }

  /** Leaving PENDING also leaves the sparse `pending` index: the reconciler stops seeing the order. */
  private async settle(
    tenantId: string,
    orderId: string,
    status: SyncStatus,
    attributes: Record<string, string>,
  ): Promise<boolean> {
    const set = { syncStatus: status, statusPk: keys.statusPk(tenantId, status), ...attributes };
    const names = Object.keys(set);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.order(tenantId, orderId),
          UpdateExpression: `SET ${names.map((n) => `${n} = :${n}`).join(', ')} REMOVE pendingTenant, pendingSince`,
          ConditionExpression: 'syncStatus = :pending',
          ExpressionAttributeValues: {
            ...Object.fromEntries(Object.entries(set).map(([n, v]) => [`:${n}`, v])),
            ':pending': 'PENDING',
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
