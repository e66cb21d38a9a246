/**
 * What the sync worker does with one SQS record, with every AWS client passed in.
 * The order item is the source of truth: a record that is not worth retrying now (integration
 * switched off, breaker open) is dropped and the order stays PENDING for the reconciler.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';

import { K, SyncMessage, type OrderItem } from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import { admit, type BreakerPolicy } from '../../lib/domain/circuit-breaker';
import { IntegrationStateStore } from '../shared/integration-state';
import type { Tracing } from '../shared/tracing';

import type { ApiKeyProvider } from './api-keys';
import { describeNetworkError, postReceipt } from './compliance-client';
import {
  classifyResponse,
  complianceIdempotencyKey,
  effectiveRateLimit,
  receiptBody,
  describeAnswer,
  retryDelaySeconds,
} from './decide';
import { OrderStore } from './orders';
import { RateLimitedError, SharedRateLimiter } from './rate-limiter';

export interface SyncWorkerConfig {
  readonly tableName: string;
  /** The sync queue: retries are scheduled by shortening a record's visibility. */
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly integrations: Readonly<Record<string, IntegrationConfig>>;
  readonly breakerPolicy: BreakerPolicy;
  readonly complianceTimeoutMs: number;
  readonly rateHeadroom: number;
}

export interface SyncWorkerDeps {
  readonly ddb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly apiKeys: ApiKeyProvider;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** @default - no trace annotations */
  readonly tracing?: Tracing;
}

export type RecordOutcome =
  'synced' | 'rejected' | 'deferred' | 'not-required' | 'settled' | 'missing' | 'malformed';

/** The compliance API refused the sale for good. */
class RejectedError extends Error {
  constructor(readonly reason: string) {
    super(`rejected by the compliance API: ${reason}`);
    this.name = 'RejectedError';
  }
}

/** No usable answer from the compliance API: try again later. */
/** How many times SQS has handed this record out (1 on the first delivery). */
const receiveCount = (record: SQSRecord): number => Number(record.attributes?.ApproximateReceiveCount) || 1;

class DeliveryFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryFailedError';
  }
}

/** The API answered 429: it is up, we were early. */
class ThrottledError extends Error {
  constructor(readonly retryAfterSeconds?: number) {
    super(`compliance API throttled us${retryAfterSeconds ? ` (retry after ${retryAfterSeconds} s)` : ''}`);
    this.name = 'ThrottledError';
  }
}

/** The breaker opened while this delivery waited for a token: no call, the order stays PENDING. */
class BreakerOpenedError extends Error {
  constructor() {
    super('the breaker opened while waiting for a token');
    this.name = 'BreakerOpenedError';
  }
}

/** Kept back from the invocation's remaining time, beyond the call's own timeout, for the writes after it. */
const WRITE_MARGIN_MS = 2000;

interface DeliveryKey {
  readonly tenantId: string;
  readonly orderId: string;
}
interface DeliveryPlan {
  readonly order: OrderItem;
  readonly integration: IntegrationConfig;
  readonly apiKey: string;
  /** Epoch ms after which waiting for a token would leave too little of the invocation for the call. */
  readonly deadline: number;
  /** A probe owns the half-open breaker; anyone else must give way if the breaker opened meanwhile. */
  readonly probe: boolean;
}
type Deliver = (key: DeliveryKey, plan: DeliveryPlan) => Promise<{ receiptId: string | null }>;

export class SyncWorker {
  private readonly orders: OrderStore;
  private readonly state: IntegrationStateStore;
  private readonly limiter: SharedRateLimiter;
  private readonly idempotency = new IdempotencyConfig({});
  /** One idempotent "post and mark synced" per tenant: its records live in the tenant's partition. */
  private readonly delivers = new Map<string, Deliver>();

  constructor(
    private readonly config: SyncWorkerConfig,
    private readonly deps: SyncWorkerDeps,
  ) {
    this.orders = new OrderStore(deps.doc, config.tableName);
    this.state = new IntegrationStateStore(deps.doc, config.tableName);
    this.limiter = new SharedRateLimiter(deps.doc, config.tableName);
  }

  /** Call once per invocation: an in-progress idempotency record expires when this invocation would time out. */
  startInvocation(context: Context): void {
    this.idempotency.registerLambdaContext(context);
  }

  /** Resolves when the record is done with (including dropped); throws when SQS should deliver it again. */
  async process(record: SQSRecord, context: Context): Promise<RecordOutcome> {
    const message = parseMessage(record.body);
    if (!message.success) {
      this.deps.logger.error('malformed sync message sent to the DLQ', {
        messageId: record.messageId,
        reason: message.reason,
      });
      await this.deadLetter(record.body, `malformed sync message: ${message.reason}`);
      return 'malformed';
    }
    const { tenantId, orderId } = message.data;
    this.deps.tracing?.annotate({ tenantId });
    const log = this.deps.logger.createChild({ persistentKeys: { tenantId, orderId } });
    const order = await this.orders.get(tenantId, orderId);
    if (!order) {
      log.warn('order not found: nothing to sync');
      return 'missing';
    }
    if (order.syncStatus !== 'PENDING') {
      log.info('order already settled', { syncStatus: order.syncStatus });
      return 'settled';
    }
    const integration = this.config.integrations[tenantId];
    if (!integration) {
      await this.orders.markNotRequired(tenantId, orderId);
      log.info('tenant has no compliance integration: order marked NOT_REQUIRED');
      return 'not-required';
    }
    const [settings, breaker] = await Promise.all([
      this.state.settings(tenantId),
      this.state.breaker(tenantId),
    ]);
    if (!settings.enabled) {
      log.info('integration switched off: order stays PENDING');
      return this.deferred();
    }
    const admission = admit(breaker.breaker, Date.now(), this.config.breakerPolicy);
    if (!admission.allowed) {
      log.info('breaker open: order stays PENDING', {
        state: breaker.breaker.state,
        retryInMs: admission.retryInMs,
      });
      return this.deferred();
    }
    // Only a probe changes the breaker; of racing workers, one wins the probe and the rest wait for it.
    if (admission.probe && !(await this.state.replaceBreaker(tenantId, breaker, admission.next))) {
      log.info('another worker is probing the compliance API: order stays PENDING');
      return this.deferred();
    }
    const admitted = admission.next;

    const apiKey = await this.deps.apiKeys.apiKey(tenantId, integration);
    const deadline =
      Date.now() + context.getRemainingTimeInMillis() - this.config.complianceTimeoutMs - WRITE_MARGIN_MS;

    try {
      const { receiptId } = await this.deliver(tenantId)(
        { tenantId, orderId },
        { order, integration, apiKey, deadline, probe: admission.probe },
      );
      await Promise.all([
        this.state.recordSuccess(tenantId, admitted),
        this.state.recordLastSuccess(tenantId, Date.now()),
      ]);
      this.deps.metrics.addMetric('SalesSynced', MetricUnit.Count, 1);
      log.info('sale reported to the compliance API', { receiptId });
      return 'synced';
    } catch (error) {
      if (error instanceof RejectedError) {
        await this.reject(record.body, tenantId, orderId, error.reason);
        // The API answered: it is up, whatever it thought of this sale.
        await this.state.recordSuccess(tenantId, admitted);
        this.deps.metrics.addMetric('SalesRejected', MetricUnit.Count, 1);
        log.warn('sale rejected by the compliance API: order REJECTED and sent to the DLQ', {
          reason: error.reason,
        });
        return 'rejected';
      }
      if (error instanceof DeliveryFailedError) {
        const now = Date.now();
        const [next] = await Promise.all([
          this.state.recordFailure(tenantId, now, this.config.breakerPolicy),
          this.state.recordLastError(tenantId, error.message, now),
        ]);
        this.deps.metrics.addMetric('SyncFailed', MetricUnit.Count, 1);
        // With the breaker open, SQS retries would only find it open again (or probe again) until the
        // message dead-lettered, filling the DLQ with sales that are not poison: the reconciler takes over.
        if (next !== undefined && next.state !== 'closed') {
          log.warn('compliance API call failed, breaker open: order stays PENDING', { error: error.message });
          return 'deferred';
        }
        log.warn('compliance API call failed: will retry', { error: error.message });
        await this.retryLater(record, retryDelaySeconds(receiveCount(record)));
        throw error;
      }
      if (error instanceof ThrottledError) {
        this.deps.metrics.addMetric('SyncThrottled', MetricUnit.Count, 1);
        log.warn('compliance API answered 429: will retry', { retryAfterSeconds: error.retryAfterSeconds });
        await this.retryLater(record, retryDelaySeconds(receiveCount(record), error.retryAfterSeconds ?? 1));
        throw error;
      }
      if (error instanceof BreakerOpenedError) {
        log.info('breaker opened while waiting for a token: order stays PENDING');
        return this.deferred();
      }
      if (error instanceof RateLimitedError) {
        this.deps.metrics.addMetric('SyncDeferred', MetricUnit.Count, 1);
        log.info('no rate-limit token in time: will retry', { waitMs: error.waitMs });
        await this.retryLater(
          record,
          retryDelaySeconds(receiveCount(record), Math.ceil(error.waitMs / 1000)),
        );
        throw error;
      }
      if ((error as Error).name === 'IdempotencyAlreadyInProgressError') {
        this.deps.metrics.addMetric('SyncDeferred', MetricUnit.Count, 1);
        log.info('another worker is delivering this order: will retry');
      }
      throw error;
    }
  }

  /**
   * Brings the record back after `seconds` rather than after the queue's whole visibility timeout.
   * Best effort: if it fails, the record still comes back, only later.
   */
  private async retryLater(record: SQSRecord, seconds: number): Promise<void> {
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

  private deferred(): RecordOutcome {
    this.deps.metrics.addMetric('SyncDeferred', MetricUnit.Count, 1);
    return 'deferred';
  }

  /**
   * Post and mark synced, at most once at a time per order across all workers. Only a real success
   * completes the idempotency record; any other outcome throws, which releases it for a later try.
   */
  private deliver(tenantId: string): Deliver {
    let deliver = this.delivers.get(tenantId);
    if (!deliver) {
      const persistenceStore = new DynamoDBPersistenceLayer({
        tableName: this.config.tableName,
        keyAttr: K.partitionKey,
        sortKeyAttr: K.sortKey,
        staticPkValue: tenantId,
        expiryAttr: K.ttlAttribute,
        awsSdkV3Client: this.deps.ddb,
      });
      deliver = makeIdempotent(this.postAndMarkSynced, {
        persistenceStore,
        config: this.idempotency,
        // A fixed prefix (not the function name) so every version and alias of the worker shares the lock.
        keyPrefix: 'SYNC',
        dataIndexArgument: 0,
      });
      this.delivers.set(tenantId, deliver);
    }
    return deliver;
  }

  private readonly postAndMarkSynced: Deliver = async ({ tenantId, orderId }, plan) => {
    const { order, integration, apiKey } = plan;
    // The token is taken right before the call, with no database round trip in between: the time from
    // token to request is what the compliance API sees, and only the headroom absorbs its jitter.
    const stillAdmitted = plan.probe ? undefined : () => this.breakerClosed(tenantId);
    const limit = effectiveRateLimit(integration, this.config.rateHeadroom);
    if (!(await this.limiter.acquire(tenantId, limit, plan.deadline, stillAdmitted)))
      throw new BreakerOpenedError();
    let response;
    try {
      response = await postReceipt({
        baseUrl: integration.baseUrl,
        tenantId,
        apiKey,
        idempotencyKey: complianceIdempotencyKey(tenantId, orderId),
        body: receiptBody(order),
        timeoutMs: this.config.complianceTimeoutMs,
      });
    } catch (error) {
      throw new DeliveryFailedError(describeNetworkError(error));
    }
    switch (classifyResponse(response.status)) {
      case 'synced':
        await this.orders.markSynced(tenantId, orderId, new Date(), response.receiptId);
        return { receiptId: response.receiptId ?? null };
      case 'rejected':
        throw new RejectedError(describeAnswer(response.status, response.text));
      case 'throttled':
        throw new ThrottledError(response.retryAfterSeconds);
      case 'retry':
        throw new DeliveryFailedError(
          `compliance API answered ${describeAnswer(response.status, response.text)}`,
        );
    }
  };

  private async breakerClosed(tenantId: string): Promise<boolean> {
    return (await this.state.breaker(tenantId)).breaker.state === 'closed';
  }

  /** DLQ first: if marking the order fails after it, the retry rejects (and dead-letters) again, losing nothing. */
  private async reject(body: string, tenantId: string, orderId: string, reason: string): Promise<void> {
    await this.deadLetter(body, reason);
    await this.orders.markRejected(tenantId, orderId, new Date(), reason);
  }

  private async deadLetter(body: string, reason: string): Promise<void> {
    await this.deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.config.dlqUrl,
        MessageBody: body,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
      }),
    );
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
