/**
 * The sync worker: reports the sales on the sync queue to the tenant's state system (Metrc), answering
 * SQS with the records to deliver again (partial batch response). The order item is the source of
 * truth: a record not worth retrying now (integration off, breaker open) is dropped and the order stays
 * PENDING, for the drain that starts when the integration is back, or for the reconciler.
 *
 * Metrc deduplicates nothing, so exactly-once is ours: each receipt's external number is the order id;
 * an attempt is recorded on the order before the call (a claim); an attempt whose outcome is unknown
 * stays recorded, and the next try looks the receipt up before it posts again.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';

import { SCHEMA_VERSION, SyncMessage } from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import { SYNC_METRICS } from '../../lib/contracts/metrics';
import { admit, type Admission, type BreakerPolicy } from '../../lib/domain/circuit-breaker';
import { probeDelaySeconds } from '../../lib/domain/compliance/drain';
import { nextStep } from '../../lib/domain/compliance/lookup';
import type { CredentialsProvider } from '../shared/compliance-keys';
import { Drain } from '../shared/drain';
import { FacilitySession, limitsOf } from '../shared/facility-session';
import {
  IntegrationStateStore,
  type IntegrationSettings,
  type StoredBreaker,
} from '../shared/integration-state';
import { MetrcClient } from '../shared/metrc-client';
import { SharedRateLimiter } from '../shared/rate-limiter';
import type { Tracing } from '../shared/tracing';

import { OrderStore } from './orders';
import { type Entry, type EntryResult, TenantBatch } from './tenant-batch';

export interface SyncWorkerConfig {
  readonly tableName: string;
  /** The sync queue: retries are scheduled by shortening a record's visibility; drains and probes go here. */
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly integrations: Readonly<Record<string, IntegrationConfig>>;
  readonly breakerPolicy: BreakerPolicy;
  readonly complianceTimeoutMs: number;
  readonly rateHeadroom: number;
  /** How long after an unknown attempt a lookup may trust "not there". @default complianceTimeoutMs */
  readonly lookupSettleMs?: number;
  /** @default 60000 */
  readonly clockSkewMs?: number;
}

export interface SyncWorkerDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly credentials: CredentialsProvider;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** @default - no trace annotations */
  readonly tracing?: Tracing;
  /** @default Date.now */
  readonly now?: () => number;
}

export type RecordOutcome =
  'synced' | 'rejected' | 'deferred' | 'requeued' | 'not-required' | 'settled' | 'missing' | 'malformed';

/** The record must come back: SQS delivers it again after the visibility set for it. */
export class RetryLaterError extends Error {
  constructor(readonly why: string) {
    super(why);
    this.name = 'RetryLaterError';
  }
}

/** Kept back from the invocation's remaining time, beyond the call's own timeout, for the writes after it. */
const WRITE_MARGIN_MS = 2000;

/** A tenant as this invocation found it, read once. */
interface TenantView {
  readonly settings: IntegrationSettings;
  readonly breaker: StoredBreaker;
  /** Null when the probe went to another worker. */
  readonly admission: Promise<Admission | null>;
}

export class SyncWorker {
  readonly orders: OrderStore;
  readonly state: IntegrationStateStore;
  readonly limiter: SharedRateLimiter;
  readonly drain: Drain;
  readonly now: () => number;

  constructor(
    readonly config: SyncWorkerConfig,
    readonly deps: SyncWorkerDeps,
  ) {
    this.orders = new OrderStore(deps.doc, config.tableName);
    this.state = new IntegrationStateStore(deps.doc, config.tableName);
    this.limiter = new SharedRateLimiter(deps.doc, config.tableName);
    this.drain = new Drain(deps.doc, deps.sqs, config.tableName, config.queueUrl);
    this.now = deps.now ?? Date.now;
  }

  /** One invocation's records: those of a tenant are batched together once every record has been read. */
  invocation(records: number, context: Context): SyncInvocation {
    return new SyncInvocation(this, records, context);
  }

  /** Brings the record back after `seconds`; best effort (if it fails, the record still comes back later). */
  async retryLater(record: SQSRecord, seconds: number): Promise<void> {
    try {
      await this.deps.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.config.queueUrl,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      this.deps.logger.warn('could not shorten the retry delay', { error: (error as Error).message });
    }
  }

  /**
   * Sends the record's message again, due in `seconds`; the record itself is then done. A record turned
   * away by the rate limit comes back this way rather than by its visibility: each receive counts towards
   * the queue's `maxReceiveCount`, and a long backlog would otherwise dead-letter orders that only waited
   * (SQS: "Using dead-letter queues"). If the send fails the record fails, and comes back as usual.
   */
  async requeue(record: SQSRecord, seconds: number): Promise<void> {
    await this.deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.config.queueUrl,
        MessageBody: record.body,
        DelaySeconds: seconds,
      }),
    );
  }

  async deadLetter(body: string, reason: string): Promise<void> {
    await this.deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.config.dlqUrl,
        MessageBody: body,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
      }),
    );
  }

  /**
   * Makes sure one message arrives when the cool-down ends (`retryInMs` from now) to carry the probe:
   * the first worker to claim that probe sends it, delayed, with `orderId`; everyone else drops theirs.
   */
  async scheduleProbe(tenantId: string, orderId: string, retryInMs: number): Promise<void> {
    const now = this.now();
    if (!(await this.state.claimProbe(tenantId, now + retryInMs, now))) return;
    await this.sendProbe(tenantId, orderId, probeDelaySeconds(retryInMs));
  }

  /** The probe's carrier found its order settled: the probe goes on with the oldest pending order, at once. */
  async handOnProbe(tenantId: string, settledOrderId: string, log: Logger): Promise<void> {
    const next = await this.drain.oldestPending(tenantId);
    if (next === undefined || next === settledOrderId) return;
    log.info('the probe’s order is settled: the probe goes on with the oldest pending order', {
      nextOrderId: next,
    });
    await this.sendProbe(tenantId, next, 0);
  }

  private async sendProbe(tenantId: string, orderId: string, delaySeconds: number): Promise<void> {
    const message: SyncMessage = { schemaVersion: SCHEMA_VERSION, tenantId, orderId, probe: true };
    await this.deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.config.queueUrl,
        MessageBody: JSON.stringify(message),
        DelaySeconds: delaySeconds,
      }),
    );
  }
}

const receiveCount = (record: SQSRecord): number => Number(record.attributes?.ApproximateReceiveCount) || 1;

class SyncInvocation {
  private readonly tenants = new Map<string, Promise<TenantView>>();
  private readonly groups = new Map<
    string,
    {
      entries: Entry[];
      resolve: (r: Map<string, EntryResult>) => void;
      done: Promise<Map<string, EntryResult>>;
    }
  >();
  private waiting: number;
  private readonly deadline: number;

  constructor(
    private readonly worker: SyncWorker,
    records: number,
    context: Context,
  ) {
    this.waiting = records;
    this.deadline =
      worker.now() + context.getRemainingTimeInMillis() - worker.config.complianceTimeoutMs - WRITE_MARGIN_MS;
  }

  /** Resolves when the record is done with (including dropped); throws when SQS should deliver it again. */
  async process(record: SQSRecord): Promise<RecordOutcome> {
    let arrived = false;
    const arrive = () => {
      if (arrived) return;
      arrived = true;
      if (--this.waiting === 0) this.flush();
    };
    try {
      return await this.handle(record, arrive);
    } finally {
      arrive();
    }
  }

  private async handle(record: SQSRecord, arrive: () => void): Promise<RecordOutcome> {
    const { worker } = this;
    const { logger, metrics, tracing } = worker.deps;
    const message = parseMessage(record.body);
    if (!message.success) {
      logger.error('malformed sync message sent to the DLQ', {
        messageId: record.messageId,
        reason: message.reason,
      });
      await worker.deadLetter(record.body, `malformed sync message: ${message.reason}`);
      return 'malformed';
    }
    const { tenantId, orderId, drain, probe } = message.data;
    tracing?.annotate({ tenantId });
    const log = logger.createChild({ persistentKeys: { tenantId, orderId } });
    const integration = worker.config.integrations[tenantId];
    try {
      const order = await worker.orders.get(tenantId, orderId);
      if (!order || order.syncStatus !== 'PENDING') {
        if (probe && integration) await worker.handOnProbe(tenantId, orderId, log);
        if (order) return 'settled';
        log.warn('order not found: nothing to sync');
        return 'missing';
      }
      if (!integration) {
        await worker.orders.markNotRequired(tenantId, orderId);
        log.info('tenant has no compliance integration: order marked NOT_REQUIRED');
        return 'not-required';
      }
      // Before the breaker is looked at: a record that cannot be sent yet must not take the probe, or
      // everyone would wait out the probe timeout for a call that was never made.
      const step = nextStep(order, worker.now(), this.lookupPolicy());
      if (step.kind === 'wait') {
        const seconds = Math.max(1, Math.ceil((step.untilMs - worker.now()) / 1000));
        metrics.addMetric('SyncDeferred', MetricUnit.Count, 1);
        await worker.retryLater(record, seconds);
        throw new RetryLaterError(
          step.why === 'claimed'
            ? 'another worker holds the order'
            : 'waiting for an unknown attempt to settle',
        );
      }
      const view = await this.tenant(tenantId);
      if (!view.settings.enabled) return this.deferred('integration switched off: order stays PENDING', log);
      const admission = await view.admission;
      if (!admission) return this.deferred('another worker is probing the state system', log);
      if (!admission.allowed) {
        await worker.scheduleProbe(tenantId, orderId, admission.retryInMs);
        return this.deferred('breaker open: order stays PENDING', log);
      }
      const result = await this.join(
        tenantId,
        { order, step, body: record.body, receiveCount: receiveCount(record) },
        arrive,
      );
      return await this.settle(record, result, log);
    } finally {
      if (drain && integration) await this.continueDrain(tenantId, integration, drain);
    }
  }

  private lookupPolicy() {
    const { config } = this.worker;
    return {
      settleMs: config.lookupSettleMs ?? config.complianceTimeoutMs,
      skewMs: config.clockSkewMs ?? 60_000,
    };
  }

  private tenant(tenantId: string): Promise<TenantView> {
    let view = this.tenants.get(tenantId);
    if (!view) {
      view = (async () => {
        const { state, config, now } = this.worker;
        const [settings, breaker] = await Promise.all([state.settings(tenantId), state.breaker(tenantId)]);
        const admitted = admit(breaker.breaker, now(), config.breakerPolicy);
        // Only a probe changes the breaker; of racing workers, one wins the probe and the rest wait for it.
        const admission =
          admitted.allowed && admitted.probe
            ? state.replaceBreaker(tenantId, breaker, admitted.next).then((won) => (won ? admitted : null))
            : Promise.resolve(admitted);
        return { settings, breaker, admission };
      })();
      this.tenants.set(tenantId, view);
    }
    return view;
  }

  private join(tenantId: string, entry: Entry, arrive: () => void): Promise<EntryResult> {
    let group = this.groups.get(tenantId);
    if (!group) {
      let resolve!: (r: Map<string, EntryResult>) => void;
      const done = new Promise<Map<string, EntryResult>>((r) => (resolve = r));
      group = { entries: [], resolve, done };
      this.groups.set(tenantId, group);
    }
    group.entries.push(entry);
    const done = group.done;
    arrive();
    return done.then(
      (results) => results.get(entry.order.id) ?? { kind: 'retry', seconds: 1, why: 'not processed' },
    );
  }

  /** Every record has been read: each tenant's entries go out together. */
  private flush(): void {
    for (const [tenantId, group] of this.groups) {
      this.runTenant(tenantId, group.entries).then(group.resolve, (error: unknown) => {
        this.worker.deps.logger.error('tenant batch failed', { tenantId, error: (error as Error).message });
        group.resolve(
          new Map(
            group.entries.map((e) => [
              e.order.id,
              { kind: 'retry', seconds: 1, why: (error as Error).message },
            ]),
          ),
        );
      });
    }
  }

  private async runTenant(tenantId: string, entries: readonly Entry[]): Promise<Map<string, EntryResult>> {
    const { worker } = this;
    const { config, deps } = worker;
    const integration = config.integrations[tenantId];
    const admission = (await (
      await this.tenant(tenantId)
    ).admission) as Extract<Admission, { allowed: true }>;
    const credentials = await deps.credentials.credentials(tenantId, integration);
    const client = new MetrcClient(
      {
        baseUrl: integration.baseUrl,
        licenseNumber: integration.licenseNumber,
        credentials,
        timeoutMs: config.complianceTimeoutMs,
      },
      worker.now,
    );
    const session = new FacilitySession(
      { state: worker.state, limiter: worker.limiter, policy: config.breakerPolicy, now: worker.now },
      {
        tenantId,
        integration,
        client,
        breaker: admission.next,
        deadline: this.deadline,
        probe: admission.probe,
        limits: limitsOf(integration, config.rateHeadroom),
      },
    );
    const batch = new TenantBatch(
      {
        orders: worker.orders,
        reject: async (body, order, reason) => {
          await worker.deadLetter(body, reason);
          await worker.orders.markRejected(tenantId, order.id, new Date(worker.now()), reason);
        },
        now: worker.now,
        ...this.lookupPolicy(),
        callTimeoutMs: config.complianceTimeoutMs,
      },
      session,
    );
    const results = await batch.run(entries);
    if (session.opened) {
      // Carried by an order this batch left pending, where there is one (a synced one would hand it on).
      const carrier =
        entries.find(
          (e) => !['synced', 'rejected', 'settled'].includes(results.get(e.order.id)?.kind ?? ''),
        ) ?? entries[0];
      await worker.scheduleProbe(tenantId, carrier.order.id, config.breakerPolicy.cooldownMs);
    } else if (session.recovered) {
      const enqueued = await worker.drain.start(tenantId, integration, worker.now());
      deps.logger.info('the state system answers again: drain started', { tenantId, enqueued });
    }
    return results;
  }

  private async settle(record: SQSRecord, result: EntryResult, log: Logger): Promise<RecordOutcome> {
    const { worker } = this;
    const { metrics } = worker.deps;
    switch (result.kind) {
      case 'synced':
        metrics.addMetric(result.found ? 'SalesFoundByLookup' : 'SalesSynced', MetricUnit.Count, 1);
        log.info(
          result.found ? 'receipt found by lookup: order SYNCED' : 'sale recorded by the state system',
          { receiptId: result.receiptId },
        );
        return 'synced';
      case 'rejected':
        metrics.addMetric('SalesRejected', MetricUnit.Count, 1);
        log.warn('sale refused by the state system: order REJECTED and sent to the DLQ', {
          reason: result.reason,
        });
        return 'rejected';
      case 'settled':
        return 'settled';
      case 'deferred':
        return this.deferred(result.why, log);
      case 'requeue':
        metrics.addMetric(SYNC_METRICS.throttled, MetricUnit.Count, 1);
        log.info('no rate-limit token in time: back in line', { why: result.why, inSeconds: result.seconds });
        await worker.requeue(record, result.seconds);
        return 'requeued';
      case 'retry':
        metrics.addMetric('SyncFailed', MetricUnit.Count, 1);
        log.warn('not synced: will retry', { why: result.why, inSeconds: result.seconds });
        await worker.retryLater(record, result.seconds);
        throw new RetryLaterError(result.why);
    }
  }

  private deferred(why: string, log: Logger): RecordOutcome {
    this.worker.deps.metrics.addMetric('SyncDeferred', MetricUnit.Count, 1);
    log.info(why);
    return 'deferred';
  }

  /** A drain's baton: the next chunk, unless the integration is unusable again (the next probe restarts it). */
  private async continueDrain(
    tenantId: string,
    integration: IntegrationConfig,
    cursor: string,
  ): Promise<void> {
    try {
      const view = await this.tenant(tenantId);
      const breaker = (await this.worker.state.breaker(tenantId)).breaker;
      if (!view.settings.enabled || breaker.state !== 'closed') return;
      await this.worker.drain.continue(tenantId, integration, cursor, this.worker.now());
    } catch (error) {
      this.worker.deps.logger.warn('could not continue the drain; the reconciler will', {
        tenantId,
        error: (error as Error).message,
      });
    }
  }
}

function parseMessage(
  body: string,
): { success: true; data: SyncMessage } | { success: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { success: false, reason: 'body is not JSON' };
  }
  const parsed = SyncMessage.safeParse(json);
  if (parsed.success) return { success: true, data: parsed.data };
  return {
    success: false,
    reason: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
  };
}
