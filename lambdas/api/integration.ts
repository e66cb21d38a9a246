/**
 * The tenant API's integration endpoints: `GET /integration/status` (the colour and the facts behind
 * it, the last reconciliation), `PUT /integration` (the on/off switch: switching it back on starts the
 * drain at once) and `GET /integration/reconciliation` (the latest report).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import {
  IntegrationSettingsItem,
  K,
  keys,
  ReconciliationItem,
  SCHEMA_VERSION,
  type SyncStatus,
} from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import { admit, type Breaker, type BreakerPolicy, CLOSED } from '../../lib/domain/circuit-breaker';
import { integrationColour, type ColourThresholds } from '../../lib/domain/integration-status';
import { Drain } from '../shared/drain';
import { notFound } from '../shared/errors';

export interface IntegrationApiDeps {
  readonly ddb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queueUrl: string;
  readonly integrations: Readonly<Record<string, IntegrationConfig>>;
  readonly thresholds: ColourThresholds;
  /** The breaker policy the sync worker applies, so the status reports a due probe as half-open. */
  readonly breakerPolicy?: BreakerPolicy;
  readonly now?: () => number;
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

export class IntegrationApi {
  private readonly now: () => number;
  private readonly drain: Drain;

  constructor(private readonly deps: IntegrationApiDeps) {
    this.now = deps.now ?? Date.now;
    this.drain = new Drain(deps.ddb, deps.sqs, deps.tableName, deps.queueUrl);
  }

  private get(key: { pk: string; sk: string }) {
    return this.deps.ddb.send(new GetCommand({ TableName: this.deps.tableName, Key: key }));
  }

  async status(tenantId: string) {
    const integration = this.deps.integrations[tenantId];
    const [settingsOut, breakerOut, reconciliationOut, pending, discrepancies, oldestUnverifiedAt] =
      await Promise.all([
        this.get(keys.integration(tenantId)),
        this.get(keys.breaker(tenantId)),
        this.get(keys.reconciliation(tenantId)),
        this.pendingFacts(tenantId),
        this.count(tenantId, 'DISCREPANCY'),
        this.oldest(K.unverifiedIndex, K.unverifiedPartitionKey, tenantId, K.unverifiedSortKey),
      ]);
    const settings = IntegrationSettingsItem.parse(settingsOut.Item ?? {});
    const breaker: Breaker = (breakerOut.Item as Breaker | undefined) ?? CLOSED;
    const report = ReconciliationItem.safeParse(reconciliationOut.Item).data?.report;
    const now = this.now();
    // An open breaker whose cool-down is over is about to probe: report it as half-open.
    const breakerState =
      admit(breaker, now, this.deps.breakerPolicy).allowed && breaker.state === 'open'
        ? 'half-open'
        : breaker.state;
    const status = integrationColour(
      {
        pending: pending.pending,
        lastSuccessAt: settings.lastSuccessAt,
        oldestPendingSince: pending.oldestPendingSince,
        breaker: breakerState,
        enabled: settings.enabled,
        oldestUnverifiedAt,
      },
      now,
      this.deps.thresholds,
    );
    return {
      status,
      configured: integration !== undefined,
      ...(integration && { licenseNumber: integration.licenseNumber }),
      enabled: settings.enabled,
      pending: pending.pending,
      oldestPendingSince: iso(pending.oldestPendingSince),
      lastSuccessAt: iso(settings.lastSuccessAt),
      lastError: settings.lastError ?? null,
      breaker: breakerState,
      draining: settings.drainCursor !== undefined,
      discrepancies,
      oldestUnverifiedAt: iso(oldestUnverifiedAt),
      lastReconciledAt: iso(settings.lastReconciledAt),
      reconciliation: report
        ? {
            at: report.at,
            counts: report.counts,
            ...(report.incomplete && { incomplete: report.incomplete }),
          }
        : null,
    };
  }

  /** The latest reconciliation's report (the seed's nightly e-mail, as an API). */
  async reconciliation(tenantId: string) {
    if (!this.deps.integrations[tenantId]) throw notFound('this tenant has no compliance integration');
    const out = await this.get(keys.reconciliation(tenantId));
    const item = ReconciliationItem.safeParse(out.Item);
    if (!item.success) throw notFound('no reconciliation has run yet');
    return { ...item.data.report, reconciledThrough: new Date(item.data.reconciledThrough).toISOString() };
  }

  /** The on/off switch. Switched back on, the backlog is re-driven at once, oldest first. */
  async setEnabled(tenantId: string, enabled: boolean) {
    const out = await this.deps.ddb.send(
      new UpdateCommand({
        TableName: this.deps.tableName,
        Key: keys.integration(tenantId),
        UpdateExpression:
          'SET enabled = :e, updatedAt = :now, schemaVersion = if_not_exists(schemaVersion, :v)',
        ExpressionAttributeValues: {
          ':e': enabled,
          ':now': new Date(this.now()).toISOString(),
          ':v': SCHEMA_VERSION,
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const integration = this.deps.integrations[tenantId];
    const wasOff = out.Attributes?.enabled === false;
    if (enabled && wasOff && integration) await this.drain.start(tenantId, integration, this.now());
    return this.status(tenantId);
  }

  /** Orders of a status, counted in the by-status index. */
  private count(tenantId: string, status: SyncStatus): Promise<number> {
    return this.countIn(K.byStatusIndex, K.byStatusPartitionKey, keys.statusPk(tenantId, status));
  }

  private async countIn(index: string, partition: string, value: string): Promise<number> {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.deps.ddb.send(
        new QueryCommand({
          TableName: this.deps.tableName,
          IndexName: index,
          KeyConditionExpression: '#p = :p',
          ExpressionAttributeNames: { '#p': partition },
          ExpressionAttributeValues: { ':p': value },
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      total += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return total;
  }

  /** The smallest sort key of a tenant's partition of an index, as epoch ms. */
  private async oldest(index: string, partition: string, value: string, sortKey: string) {
    const out = await this.deps.ddb.send(
      new QueryCommand({
        TableName: this.deps.tableName,
        IndexName: index,
        KeyConditionExpression: '#p = :p',
        ExpressionAttributeNames: { '#p': partition },
        ExpressionAttributeValues: { ':p': value },
        Limit: 1,
        ScanIndexForward: true,
      }),
    );
    const at = out.Items?.[0]?.[sortKey] as unknown;
    return typeof at === 'string' ? Date.parse(at) : undefined;
  }

  private async pendingFacts(tenantId: string): Promise<{ pending: number; oldestPendingSince?: number }> {
    // The sparse, keys-only `pending` index: the cheapest count there is.
    const pending = await this.countIn(K.pendingIndex, K.pendingPartitionKey, tenantId);
    if (pending === 0) return { pending };
    // The oldest PENDING order by creation time: `pendingSince` moves each time the reconciler
    // re-drives an order, so it would make a long backlog look fresh.
    const oldest = await this.oldest(
      K.byStatusIndex,
      K.byStatusPartitionKey,
      keys.statusPk(tenantId, 'PENDING'),
      K.byStatusSortKey,
    );
    return { pending, oldestPendingSince: oldest };
  }
}
