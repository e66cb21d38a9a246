/**
 * The reconciliation's reads and writes of the cell's orders. Every write is conditional on what the
 * diff saw, so a worker settling the same order meanwhile wins and the repair is skipped (the next run
 * looks again).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

import { K, keys, OrderItem, SCHEMA_VERSION, type SyncMessage } from '../../lib/contracts/cell-items';
import type { CellOrder, Mismatch } from '../../lib/domain/compliance/reconciliation';

const ORDER_PREFIX = keys.order('', '').sk;
const VERIFY = [K.unverifiedPartitionKey, K.unverifiedSortKey];
const PENDING_ATTRIBUTES = [
  K.pendingPartitionKey,
  K.pendingSortKey,
  'attemptId',
  'attemptedAt',
  'claimUntil',
];
/** BatchGetItem takes at most 100 keys. */
const BATCH_GET = 100;

export function cellOrderOf(item: OrderItem, now: number): CellOrder {
  const recordedAt = item[K.unverifiedSortKey as 'recordedAt'];
  return {
    id: item.id,
    syncStatus: item.syncStatus,
    items: item.items,
    totalCents: item.totalCents,
    ...(item.complianceId !== undefined && { complianceId: item.complianceId }),
    ...(item[K.unverifiedPartitionKey] !== undefined && { unverified: true }),
    ...(recordedAt !== undefined && { recordedAt: Date.parse(recordedAt) }),
    ...(item.claimUntil !== undefined && item.claimUntil > now && { claimed: true }),
  };
}

export class OrderRepairs {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly sqs: SQSClient,
    private readonly tableName: string,
    private readonly queueUrl: string,
  ) {}

  /** The oldest `limit` orders not yet verified, recorded up to `upTo` (epoch ms). */
  async unverified(tenantId: string, upTo: number, limit: number): Promise<OrderItem[]> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: K.unverifiedIndex,
        KeyConditionExpression: '#t = :t AND #at <= :upTo',
        ExpressionAttributeNames: { '#t': K.unverifiedPartitionKey, '#at': K.unverifiedSortKey },
        ExpressionAttributeValues: { ':t': tenantId, ':upTo': new Date(upTo).toISOString() },
        ScanIndexForward: true,
        Limit: limit,
      }),
    );
    const ids = (page.Items ?? [])
      .map((i) => i[K.sortKey] as unknown)
      .filter((sk): sk is string => typeof sk === 'string' && sk.startsWith(ORDER_PREFIX))
      .map((sk) => sk.slice(ORDER_PREFIX.length));
    return this.orders(tenantId, ids);
  }

  /** When the oldest unverified order was recorded, if there is one. */
  async oldestUnverified(tenantId: string): Promise<number | undefined> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: K.unverifiedIndex,
        KeyConditionExpression: '#t = :t',
        ExpressionAttributeNames: { '#t': K.unverifiedPartitionKey },
        ExpressionAttributeValues: { ':t': tenantId },
        ScanIndexForward: true,
        Limit: 1,
      }),
    );
    const at = page.Items?.[0]?.[K.unverifiedSortKey] as unknown;
    return typeof at === 'string' ? Date.parse(at) : undefined;
  }

  /** The tenant's orders with these ids (those that exist), strongly consistent. */
  async orders(tenantId: string, ids: readonly string[]): Promise<OrderItem[]> {
    const out: OrderItem[] = [];
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += BATCH_GET) {
      let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> | undefined =
        {
          [this.tableName]: {
            Keys: unique.slice(i, i + BATCH_GET).map((id) => keys.order(tenantId, id)),
            ConsistentRead: true,
          },
        };
      while (request && Object.keys(request).length > 0) {
        const page = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of page.Responses?.[this.tableName] ?? []) {
          const parsed = OrderItem.safeParse(item);
          if (parsed.success) out.push(parsed.data);
        }
        request = page.UnprocessedKeys as typeof request;
      }
    }
    return out;
  }

  /** Seen in the state system, as sold: out of the `unverified` index (a DISCREPANCY someone fixed is SYNCED again). */
  verified(tenantId: string, orderId: string, status: string): Promise<boolean> {
    const back = status === 'DISCREPANCY';
    return this.update(tenantId, orderId, {
      UpdateExpression: back
        ? `SET syncStatus = :synced, statusPk = :spk REMOVE discrepancy, ${VERIFY.join(', ')}`
        : `REMOVE ${VERIFY.join(', ')}`,
      ConditionExpression: 'syncStatus = :status',
      ExpressionAttributeValues: {
        ':status': status,
        ...(back && { ':synced': 'SYNCED', ':spk': keys.statusPk(tenantId, 'SYNCED') }),
      },
    });
  }

  /** Synced, but the state system does not have it: PENDING again, and its message sent. */
  async missing(tenantId: string, orderId: string, complianceId: string, now: number): Promise<boolean> {
    const since = new Date(now).toISOString();
    const reopened = await this.update(tenantId, orderId, {
      UpdateExpression:
        'SET syncStatus = :pending, statusPk = :spk, #pt = :tenant, #ps = :since ' +
        `REMOVE complianceId, syncedAt, ${VERIFY.join(', ')}`,
      ConditionExpression: 'syncStatus = :synced AND complianceId = :c',
      ExpressionAttributeNames: { '#pt': K.pendingPartitionKey, '#ps': K.pendingSortKey },
      ExpressionAttributeValues: {
        ':pending': 'PENDING',
        ':spk': keys.statusPk(tenantId, 'PENDING'),
        ':tenant': tenantId,
        ':since': since,
        ':synced': 'SYNCED',
        ':c': complianceId,
      },
    });
    if (reopened) {
      const message: SyncMessage = { schemaVersion: SCHEMA_VERSION, tenantId, orderId };
      await this.sqs.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(message) }),
      );
    }
    return reopened;
  }

  /**
   * Pending, but the state system has it (its answer was lost): SYNCED with that receipt, or
   * DISCREPANCY when the receipt says something else. Not while a worker holds the order.
   */
  repaired(
    tenantId: string,
    orderId: string,
    receiptId: number,
    now: number,
    mismatch?: Mismatch,
  ): Promise<boolean> {
    const status = mismatch ? 'DISCREPANCY' : 'SYNCED';
    return this.update(tenantId, orderId, {
      UpdateExpression:
        'SET syncStatus = :status, statusPk = :spk, complianceId = :c, syncedAt = :at' +
        (mismatch ? ', discrepancy = :d' : '') +
        ` REMOVE ${PENDING_ATTRIBUTES.join(', ')}`,
      ConditionExpression:
        'syncStatus = :pending AND (attribute_not_exists(claimUntil) OR claimUntil < :now)',
      ExpressionAttributeValues: {
        ':status': status,
        ':spk': keys.statusPk(tenantId, status),
        ':c': String(receiptId),
        ':at': new Date(now).toISOString(),
        ':pending': 'PENDING',
        ':now': now,
        ...(mismatch && { ':d': discrepancyOf(mismatch, now) }),
      },
    });
  }

  /** The state system's receipt differs from the order: DISCREPANCY, with both sides on the order. */
  discrepancy(tenantId: string, orderId: string, mismatch: Mismatch, now: number): Promise<boolean> {
    return this.update(tenantId, orderId, {
      UpdateExpression: `SET syncStatus = :d, statusPk = :spk, discrepancy = :what REMOVE ${VERIFY.join(', ')}`,
      ConditionExpression: 'syncStatus = :synced',
      ExpressionAttributeValues: {
        ':d': 'DISCREPANCY',
        ':spk': keys.statusPk(tenantId, 'DISCREPANCY'),
        ':what': discrepancyOf(mismatch, now),
        ':synced': 'SYNCED',
      },
    });
  }

  /** The order's receipt was voided and another with its number is active: that one is the order's now. */
  relinked(tenantId: string, orderId: string, from: string | undefined, to: number): Promise<boolean> {
    return this.update(tenantId, orderId, {
      UpdateExpression: 'SET complianceId = :to',
      ConditionExpression: from === undefined ? 'attribute_not_exists(complianceId)' : 'complianceId = :from',
      ExpressionAttributeValues: { ':to': String(to), ...(from !== undefined && { ':from': from }) },
    });
  }

  private async update(
    tenantId: string,
    orderId: string,
    input: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
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

function discrepancyOf(m: Mismatch, now: number) {
  return {
    receiptId: m.receiptId,
    cell: m.cell,
    state: m.state,
    differences: m.differences,
    foundAt: new Date(now).toISOString(),
  };
}
