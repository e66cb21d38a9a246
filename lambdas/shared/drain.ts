/**
 * The drain of a tenant's backlog, started the moment the integration is usable again (the breaker's
 * probe succeeded, or the tenant switched it back on): its pending orders are enqueued oldest first, a
 * chunk at a time (`lib/domain/compliance/drain.ts`). The chunk's last message carries the cursor of the
 * next; whichever worker handles it enqueues that next chunk, once (a conditional write on the cursor).
 * The table stays the record: a lost message only pauses the drain until the reconciler's next run.
 */
import { randomUUID } from 'node:crypto';

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { K, keys, SCHEMA_VERSION, type SyncMessage } from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import { drainChunkSize } from '../../lib/domain/compliance/drain';

/** SendMessageBatch takes at most ten entries. */
const SQS_BATCH = 10;
const ORDER_PREFIX = keys.order('', '').sk;

interface Cursor {
  readonly run: string;
  readonly after?: Record<string, unknown>;
}

/** The order ids of a page of the by-status index (keys only). */
const orderIdsOf = (items: readonly Record<string, unknown>[] | undefined): string[] =>
  (items ?? [])
    .map((item) => item[K.sortKey])
    .filter((sk): sk is string => typeof sk === 'string' && sk.startsWith(ORDER_PREFIX))
    .map((sk) => sk.slice(ORDER_PREFIX.length));

const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decode(raw: string): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Cursor;
    return typeof c.run === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

export class Drain {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly sqs: SQSClient,
    private readonly tableName: string,
    private readonly queueUrl: string,
  ) {}

  /** Starts the tenant's drain from its oldest pending order (a running drain starts over); the orders enqueued. */
  async start(tenantId: string, integration: IntegrationConfig, now: number): Promise<number> {
    return this.chunk(tenantId, integration, { run: randomUUID() }, undefined, now);
  }

  /** The tenant's oldest PENDING order, if it has one. */
  async oldestPending(tenantId: string): Promise<string | undefined> {
    return orderIdsOf((await this.pending(tenantId, 1)).Items)[0];
  }

  /** A page of the tenant's PENDING orders (keys only), oldest first, from `after`. */
  private pending(tenantId: string, limit: number, after?: Record<string, unknown>) {
    return this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: K.byStatusIndex,
        KeyConditionExpression: '#spk = :spk',
        ExpressionAttributeNames: { '#spk': K.byStatusPartitionKey },
        ExpressionAttributeValues: { ':spk': keys.statusPk(tenantId, 'PENDING') },
        ProjectionExpression: `${K.partitionKey}, ${K.sortKey}`,
        ScanIndexForward: true,
        Limit: limit,
        ExclusiveStartKey: after,
      }),
    );
  }

  /** The chunk after `cursor` (a message's `drain`), unless another worker already took it; the orders enqueued. */
  async continue(
    tenantId: string,
    integration: IntegrationConfig,
    cursor: string,
    now: number,
  ): Promise<number> {
    const parsed = decode(cursor);
    return parsed ? this.chunk(tenantId, integration, parsed, cursor, now) : 0;
  }

  private async chunk(
    tenantId: string,
    integration: IntegrationConfig,
    from: Cursor,
    expected: string | undefined,
    now: number,
  ): Promise<number> {
    const page = await this.pending(
      tenantId,
      drainChunkSize(integration.ratePerSecond, integration.batchSize),
      from.after,
    );
    const orderIds = orderIdsOf(page.Items);
    const next = page.LastEvaluatedKey ? encode({ run: from.run, after: page.LastEvaluatedKey }) : undefined;
    if (!(await this.advance(tenantId, expected, next, now))) return 0;
    const messages: SyncMessage[] = orderIds.map((orderId, i) => ({
      schemaVersion: SCHEMA_VERSION,
      tenantId,
      orderId,
      ...(next !== undefined && i === orderIds.length - 1 && { drain: next }),
    }));
    for (let i = 0; i < messages.length; i += SQS_BATCH) {
      await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: messages
            .slice(i, i + SQS_BATCH)
            .map((m, j) => ({ Id: String(j), MessageBody: JSON.stringify(m) })),
        }),
      );
    }
    return messages.length;
  }

  /** Moves the tenant's cursor from `expected` to `next`; false when someone else moved it first. */
  private async advance(
    tenantId: string,
    expected: string | undefined,
    next: string | undefined,
    now: number,
  ) {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.integration(tenantId),
          UpdateExpression:
            (next === undefined ? 'SET ' : 'SET drainCursor = :next, ') +
            'drainUpdatedAt = :now, schemaVersion = if_not_exists(schemaVersion, :v)' +
            (next === undefined ? ' REMOVE drainCursor' : ''),
          ...(expected !== undefined && { ConditionExpression: 'drainCursor = :expected' }),
          ExpressionAttributeValues: {
            ':now': now,
            ':v': SCHEMA_VERSION,
            ...(next !== undefined && { ':next': next }),
            ...(expected !== undefined && { ':expected': expected }),
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
