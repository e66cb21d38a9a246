import { randomBytes } from 'node:crypto';

import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';

import { DYNAMODB_BATCH_WRITE_MAX_ITEMS } from '../../lib/contracts/aws-limits';
import {
  InventoryItem,
  inventoryView,
  K,
  keys,
  OrderItem,
  orderView,
  SCHEMA_VERSION,
  SyncMessage,
  type SyncStatus,
  TenantItem,
} from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import { isSyntheticTenant } from '../../lib/contracts/names';
import { HttpError, notFound } from '../shared/errors';

import { decodeCursor, encodeCursor } from './cursor';
import type { CreateOrderBody, PutInventoryBody } from './schemas';

export interface StoreDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly integrations: Readonly<Record<string, IntegrationConfig>>;
  readonly now?: () => number;
}

/** Order ids sort by creation time (so a tenant's orders list newest-last by key) and never collide. */
export function newOrderId(now: number): string {
  return `${now.toString(36).padStart(9, '0')}${randomBytes(5).toString('hex')}`;
}

const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const MAX_TRANSACTION_ATTEMPTS = 12;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

/**
 * The one 409 of an order, for a SKU with too little stock and for one the tenant does not stock at all
 * (`available` undefined): `{ sku, requested, available, reason: 'low_stock' | 'unknown_sku' }`.
 */
function stockConflict(sku: string, requested: number, available: number | undefined): HttpError {
  return new HttpError(409, 'insufficient_stock', {
    sku,
    requested,
    available: available ?? 0,
    reason: available === undefined ? 'unknown_sku' : 'low_stock',
  });
}

export class CellStore {
  private readonly now: () => number;

  constructor(private readonly deps: StoreDeps) {
    this.now = deps.now ?? Date.now;
  }

  async putInventory(tenantId: string, sku: string, body: z.infer<typeof PutInventoryBody>) {
    const names: Record<string, string> = { '#q': 'quantity' };
    const values: Record<string, unknown> = {
      ':q': body.quantity,
      ':now': new Date(this.now()).toISOString(),
      ':v': SCHEMA_VERSION,
      ':sku': sku,
      ':type': 'inventory',
    };
    const sets = [
      '#q = :q',
      'updatedAt = :now',
      'sku = :sku',
      '#type = :type',
      'schemaVersion = if_not_exists(schemaVersion, :v)',
    ];
    names['#type'] = 'type';
    if (body.name !== undefined) {
      sets.push('#name = :name');
      names['#name'] = 'name';
      values[':name'] = body.name;
    }
    if (body.priceCents !== undefined) {
      sets.push('priceCents = :price');
      values[':price'] = body.priceCents;
    }
    const out = await this.deps.ddb.send(
      new UpdateCommand({
        TableName: this.deps.tableName,
        Key: keys.inventory(tenantId, sku),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return inventoryView(InventoryItem.parse(out.Attributes));
  }

  async getInventory(tenantId: string, sku: string) {
    const out = await this.deps.ddb.send(
      new GetCommand({
        TableName: this.deps.tableName,
        Key: keys.inventory(tenantId, sku),
        ConsistentRead: true,
      }),
    );
    if (!out.Item) throw notFound(`no inventory for sku ${sku}`);
    return inventoryView(InventoryItem.parse(out.Item));
  }

  async listInventory(
    tenantId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<ReturnType<typeof inventoryView>>> {
    return this.page(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': tenantId, ':prefix': 'INV#' },
      },
      tenantId,
      limit,
      cursor,
      (item) => inventoryView(InventoryItem.parse(item)),
    );
  }

  async getOrder(tenantId: string, orderId: string) {
    const out = await this.deps.ddb.send(
      new GetCommand({
        TableName: this.deps.tableName,
        Key: keys.order(tenantId, orderId),
        ConsistentRead: true,
      }),
    );
    if (!out.Item) throw notFound(`no order ${orderId}`);
    return orderView(OrderItem.parse(out.Item));
  }

  async listOrders(tenantId: string, status: SyncStatus | undefined, limit: number, cursor?: string) {
    const query: Omit<QueryCommandInput, 'TableName'> = status
      ? {
          IndexName: K.byStatusIndex,
          KeyConditionExpression: '#spk = :spk',
          ExpressionAttributeNames: { '#spk': K.byStatusPartitionKey },
          ExpressionAttributeValues: { ':spk': keys.statusPk(tenantId, status) },
        }
      : {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': tenantId, ':prefix': 'ORDER#' },
        };
    return this.page(query, tenantId, limit, cursor, (item) => orderView(OrderItem.parse(item)));
  }

  private async page<T>(
    query: Omit<QueryCommandInput, 'TableName'>,
    tenantId: string,
    limit: number,
    cursor: string | undefined,
    view: (item: Record<string, unknown>) => T,
  ): Promise<Page<T>> {
    const out = await this.deps.ddb.send(
      new QueryCommand({
        ...query,
        TableName: this.deps.tableName,
        Limit: limit,
        ExclusiveStartKey: decodeCursor(cursor, tenantId),
      }),
    );
    return { items: (out.Items ?? []).map(view), nextCursor: encodeCursor(out.LastEvaluatedKey) };
  }

  /**
   * Writes the order, decrements every line's stock (never below zero) and records the
   * idempotency key, all in one transaction; then enqueues the sync message. A lost enqueue is
   * repaired by the reconciler: the order's PENDING status in the table is what counts.
   */
  async createOrder(
    tenantId: string,
    body: z.infer<typeof CreateOrderBody>,
    idempotencyKey?: string,
  ): Promise<{ order: ReturnType<typeof orderView>; replayed: boolean }> {
    const requestHash = JSON.stringify(body);
    if (idempotencyKey) {
      const replay = await this.replay(tenantId, idempotencyKey, requestHash);
      if (replay) return { order: replay, replayed: true };
    }
    const prices = await this.prices(tenantId, body.items);
    const now = this.now();
    const id = newOrderId(now);
    const createdAt = new Date(now).toISOString();
    const lines = body.items.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: prices.get(l.sku) ?? 0,
    }));
    const syncStatus: SyncStatus = this.deps.integrations[tenantId] ? 'PENDING' : 'NOT_REQUIRED';
    const order: OrderItem & Record<string, unknown> = {
      ...keys.order(tenantId, id),
      type: 'order',
      schemaVersion: SCHEMA_VERSION,
      id,
      items: lines,
      totalCents: lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents, 0),
      ...(body.customerId !== undefined && { customerId: body.customerId }),
      syncStatus,
      createdAt,
      [K.byStatusPartitionKey]: keys.statusPk(tenantId, syncStatus),
      ...(syncStatus === 'PENDING' && { [K.pendingPartitionKey]: tenantId, [K.pendingSortKey]: createdAt }),
    };
    const items = [
      {
        Put: { TableName: this.deps.tableName, Item: order, ConditionExpression: 'attribute_not_exists(pk)' },
      },
      ...lines.map((l) => ({
        Update: {
          TableName: this.deps.tableName,
          Key: keys.inventory(tenantId, l.sku),
          UpdateExpression: 'SET quantity = quantity - :q, updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND quantity >= :q',
          ExpressionAttributeValues: { ':q': l.quantity, ':now': createdAt },
          // A refused line reports the stock it found, so the 409 can say what is available.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      })),
      ...(idempotencyKey
        ? [
            {
              Put: {
                TableName: this.deps.tableName,
                Item: {
                  ...keys.idempotency(tenantId, idempotencyKey),
                  type: 'idempotency',
                  schemaVersion: SCHEMA_VERSION,
                  orderId: id,
                  requestHash,
                  [K.ttlAttribute]: Math.floor(now / 1000) + IDEMPOTENCY_TTL_SECONDS,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ]
        : []),
    ];

    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.ddb.send(new TransactWriteCommand({ TransactItems: items }));
        break;
      } catch (err) {
        if (!(err instanceof TransactionCanceledException)) throw err;
        const reasons = err.CancellationReasons ?? [];
        const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
        if (failed > 0 && failed <= lines.length) {
          const { sku, quantity } = lines[failed - 1];
          const found = reasons[failed].Item?.quantity;
          throw stockConflict(sku, quantity, found?.N === undefined ? undefined : Number(found.N));
        }
        if (failed === lines.length + 1 && idempotencyKey) {
          // Another request with the same key won the race: answer with its order.
          const replay = await this.replay(tenantId, idempotencyKey, requestHash);
          if (replay) return { order: replay, replayed: true };
        }
        if (attempt >= MAX_TRANSACTION_ATTEMPTS) {
          throw new HttpError(503, 'busy', 'too many concurrent orders on the same stock; retry', {
            'retry-after': '1',
          });
        }
        // Conflicting transactions on the same stock: back off with jitter and try again.
        await sleep(Math.random() * 20 * attempt);
      }
    }
    if (syncStatus === 'PENDING') await this.enqueueSync(tenantId, id);
    return { order: orderView(order), replayed: false };
  }

  private async replay(tenantId: string, key: string, requestHash: string) {
    const record = await this.deps.ddb.send(
      new GetCommand({
        TableName: this.deps.tableName,
        Key: keys.idempotency(tenantId, key),
        ConsistentRead: true,
      }),
    );
    if (!record.Item) return undefined;
    if (record.Item.requestHash !== requestHash) {
      throw new HttpError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request',
      );
    }
    return this.getOrder(tenantId, String(record.Item.orderId));
  }

  private async prices(
    tenantId: string,
    lines: readonly { readonly sku: string; readonly quantity: number }[],
  ): Promise<Map<string, number>> {
    const skus = lines.map((l) => l.sku);
    const found = await Promise.all(
      skus.map((sku) =>
        this.deps.ddb.send(
          new GetCommand({ TableName: this.deps.tableName, Key: keys.inventory(tenantId, sku) }),
        ),
      ),
    );
    const prices = new Map<string, number>();
    found.forEach((out, i) => {
      if (!out.Item) throw stockConflict(skus[i], lines[i].quantity, undefined);
      prices.set(skus[i], typeof out.Item.priceCents === 'number' ? out.Item.priceCents : 0);
    });
    return prices;
  }

  private async enqueueSync(tenantId: string, orderId: string): Promise<void> {
    const message: SyncMessage = { schemaVersion: SCHEMA_VERSION, tenantId, orderId };
    try {
      await this.deps.sqs.send(
        new SendMessageCommand({ QueueUrl: this.deps.queueUrl, MessageBody: JSON.stringify(message) }),
      );
    } catch {
      // The order is safely PENDING in the table; the reconciler re-drives it after its grace period.
    }
  }

  /**
   * The cell's copy of the tenant's key hash, strongly consistent (a move's freeze mark must be seen);
   * `undefined` when the tenant has no usable `TENANT` item here.
   */
  async tenantKey(
    tenantId: string,
  ): Promise<{ keyHash: string; frozen: boolean; movedTo?: string } | undefined> {
    const out = await this.deps.ddb.send(
      new GetCommand({ TableName: this.deps.tableName, Key: keys.tenant(tenantId), ConsistentRead: true }),
    );
    const item = TenantItem.safeParse(out.Item);
    if (!item.success) return undefined;
    const { keyHash, frozen, movedTo } = item.data;
    return { keyHash, frozen: frozen === true, ...(movedTo !== undefined && { movedTo }) };
  }

  /**
   * Removes every item of a synthetic tenant (drills, smoke tests), a page at a time; a real tenant's data
   * is never removed here, whoever asks. Returns how many items went.
   */
  async removeSyntheticTenant(tenantId: string): Promise<number> {
    if (!isSyntheticTenant(tenantId)) {
      throw new HttpError(
        403,
        'forbidden',
        `only a synthetic tenant's data may be removed, not ${tenantId}'s`,
      );
    }
    let removed = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.deps.ddb.send(
        new QueryCommand({
          TableName: this.deps.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': tenantId },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      const items = (page.Items ?? []) as { pk: string; sk: string }[];
      for (let i = 0; i < items.length; i += DYNAMODB_BATCH_WRITE_MAX_ITEMS) {
        await this.deleteAll(items.slice(i, i + DYNAMODB_BATCH_WRITE_MAX_ITEMS));
      }
      removed += items.length;
      start = page.LastEvaluatedKey;
    } while (start);
    return removed;
  }

  /** One BatchWriteItem of deletes, re-sending what DynamoDB left unprocessed (with a growing pause). */
  private async deleteAll(keys: readonly { pk: string; sk: string }[]): Promise<void> {
    let requests = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt >= MAX_TRANSACTION_ATTEMPTS) throw new Error('the table left deletes unprocessed');
      if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
      const out = await this.deps.ddb.send(
        new BatchWriteCommand({ RequestItems: { [this.deps.tableName]: requests } }),
      );
      requests = (out.UnprocessedItems?.[this.deps.tableName] ?? []) as typeof requests;
    }
  }

  /** A read that proves the table answers (the key addresses no tenant and no item). */
  async tableReachable(): Promise<boolean> {
    try {
      await this.deps.ddb.send(
        new GetCommand({ TableName: this.deps.tableName, Key: { pk: '#health', sk: '#health' } }),
      );
      return true;
    } catch {
      return false;
    }
  }
}
