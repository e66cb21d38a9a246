/**
 * Re-drives orders still PENDING after a grace period. The cell table, not the queue, is the record
 * of unsynced work: a message lost on send, dropped while the integration was off or its breaker
 * open, or expired from SQS after a long outage is found here again. A tenant whose drain is under way
 * is left to it: the drain enqueues its backlog in order.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { K, keys, SCHEMA_VERSION, type SyncMessage } from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import { admit, type BreakerPolicy } from '../../lib/domain/circuit-breaker';
import { IntegrationStateStore } from '../shared/integration-state';

export interface RedriveConfig {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly integrations: Readonly<Record<string, IntegrationConfig>>;
  readonly breakerPolicy: BreakerPolicy;
  /** Orders pending for less than this are left alone: their message is probably still on its way. */
  readonly graceSeconds: number;
  /** At most this many orders re-enqueued per run, so one run never floods the queue. */
  readonly batchSize: number;
}

export interface RedriveResult {
  /** Overdue pending orders looked at. */
  readonly scanned: number;
  readonly requeued: number;
  readonly skippedDisabled: number;
  readonly skippedBreakerOpen: number;
  readonly skippedDraining: number;
}

type Verdict = 'requeue' | 'disabled' | 'breaker-open' | 'draining';

const ORDER_PREFIX = keys.order('', '').sk;
/** SendMessageBatch takes at most ten entries. */
const SQS_BATCH = 10;

export class Redrive {
  private readonly state: IntegrationStateStore;

  constructor(
    private readonly config: RedriveConfig,
    private readonly doc: DynamoDBDocumentClient,
    private readonly sqs: SQSClient,
    private readonly logger: Logger,
  ) {
    this.state = new IntegrationStateStore(doc, config.tableName);
  }

  async run(now: number = Date.now()): Promise<RedriveResult> {
    const verdicts = new Map<string, Promise<Verdict>>();
    const due: SyncMessage[] = [];
    let scanned = 0;
    let skippedDisabled = 0;
    let skippedBreakerOpen = 0;
    let skippedDraining = 0;
    for await (const order of this.overdue(now)) {
      scanned++;
      // Once per tenant per run: a tenant's settings do not change in the time a run takes.
      let verdict = verdicts.get(order.tenantId);
      if (!verdict) {
        verdict = this.verdict(order.tenantId, now);
        verdicts.set(order.tenantId, verdict);
      }
      switch (await verdict) {
        case 'disabled':
          skippedDisabled++;
          break;
        case 'breaker-open':
          skippedBreakerOpen++;
          break;
        case 'draining':
          skippedDraining++;
          break;
        case 'requeue':
          due.push(order);
      }
      // Skipped orders do not count: a switched-off tenant's backlog must not starve everyone else.
      if (due.length >= this.config.batchSize) break;
    }
    let requeued = 0;
    for (let i = 0; i < due.length; i += SQS_BATCH) {
      requeued += await this.requeue(due.slice(i, i + SQS_BATCH), now);
    }
    const result = { scanned, requeued, skippedDisabled, skippedBreakerOpen, skippedDraining };
    this.logger.info('reconciled pending orders', { ...result });
    return result;
  }

  /** Orders whose `pendingSince` is older than the grace period, from the sparse `pending` index. */
  private async *overdue(now: number): AsyncGenerator<SyncMessage> {
    const cutoff = new Date(now - this.config.graceSeconds * 1000).toISOString();
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.config.tableName,
          IndexName: K.pendingIndex,
          FilterExpression: '#since < :cutoff',
          ExpressionAttributeNames: { '#since': K.pendingSortKey },
          ExpressionAttributeValues: { ':cutoff': cutoff },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const tenantId = item[K.pendingPartitionKey] as unknown;
        const sk = item[K.sortKey] as unknown;
        if (typeof tenantId !== 'string' || typeof sk !== 'string' || !sk.startsWith(ORDER_PREFIX)) continue;
        yield { schemaVersion: SCHEMA_VERSION, tenantId, orderId: sk.slice(ORDER_PREFIX.length) };
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** A tenant without an integration is re-driven too: the worker marks its orders NOT_REQUIRED. */
  private async verdict(tenantId: string, now: number): Promise<Verdict> {
    if (!this.config.integrations[tenantId]) return 'requeue';
    const [settings, breaker] = await Promise.all([
      this.state.settings(tenantId),
      this.state.breaker(tenantId),
    ]);
    if (!settings.enabled) return 'disabled';
    const drainMoved = settings.drainCursor !== undefined ? settings.drainUpdatedAt : undefined;
    if (drainMoved !== undefined && now - drainMoved < this.config.graceSeconds * 1000) return 'draining';
    return admit(breaker.breaker, now, this.config.breakerPolicy).allowed ? 'requeue' : 'breaker-open';
  }

  /**
   * Sends up to ten messages, then moves each sent order's `pendingSince` to now, so it is not sent
   * again before another grace period. An entry SQS refused keeps its old `pendingSince`: the next
   * run picks it up.
   */
  private async requeue(orders: readonly SyncMessage[], now: number): Promise<number> {
    const { Successful = [], Failed = [] } = await this.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: this.config.queueUrl,
        Entries: orders.map((order, i) => ({ Id: String(i), MessageBody: JSON.stringify(order) })),
      }),
    );
    for (const failure of Failed) {
      const order = orders[Number(failure.Id)];
      this.logger.warn('could not re-enqueue a pending order', {
        tenantId: order?.tenantId,
        orderId: order?.orderId,
        code: failure.Code,
        error: failure.Message,
      });
    }
    const since = new Date(now).toISOString();
    await Promise.all(
      Successful.map(async ({ Id }) => {
        const order = orders[Number(Id)];
        if (order) await this.touch(order, since);
      }),
    );
    return Successful.length;
  }

  private async touch({ tenantId, orderId }: SyncMessage, since: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.config.tableName,
          Key: keys.order(tenantId, orderId),
          UpdateExpression: 'SET #since = :since',
          // Settled meanwhile: it left the index, and writing `pendingSince` would put it back.
          ConditionExpression: 'syncStatus = :pending',
          ExpressionAttributeNames: { '#since': K.pendingSortKey },
          ExpressionAttributeValues: { ':since': since, ':pending': 'PENDING' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
