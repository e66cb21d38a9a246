/**
 * The scheduled reconciler: re-drives orders still PENDING after their grace period, then reconciles
 * each integrated tenant against the state system's own records. It never probes an open breaker (the
 * worker's probe does) and makes no call for a tenant whose integration is switched off.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import type { ReconciliationReport } from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import { isSyntheticTenant } from '../../lib/contracts/names';
import type { CredentialsProvider } from '../shared/compliance-keys';
import { FacilitySession, limitsOf } from '../shared/facility-session';
import { IntegrationStateStore } from '../shared/integration-state';
import { MetrcClient } from '../shared/metrc-client';
import { SharedRateLimiter } from '../shared/rate-limiter';

import { OrderRepairs } from './order-repairs';
import { Redrive, type RedriveConfig, type RedriveResult } from './redrive';
import { type ReconciliationPolicy, StateReconciliation } from './state-reconciliation';

export interface ReconcilerConfig extends RedriveConfig {
  readonly complianceTimeoutMs: number;
  readonly rateHeadroom: number;
  readonly policy: ReconciliationPolicy;
}

export interface ReconcilerDeps {
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly credentials: CredentialsProvider;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Per tenant: its report's counts, or why it was not reconciled. */
export type TenantReconciliation =
  | { readonly counts: ReconciliationReport['counts']; readonly incomplete?: string }
  | { readonly skipped: string };

export interface ReconcileResult extends RedriveResult {
  readonly reconciled: Readonly<Record<string, TenantReconciliation>>;
}

export class Reconciler {
  private readonly redrive: Redrive;
  private readonly state: IntegrationStateStore;
  private readonly limiter: SharedRateLimiter;
  private readonly reconciliation: StateReconciliation;
  private readonly clock: () => number;

  constructor(
    private readonly config: ReconcilerConfig,
    private readonly deps: ReconcilerDeps,
  ) {
    this.clock = deps.now ?? (() => Date.now());
    this.redrive = new Redrive(config, deps.doc, deps.sqs, deps.logger);
    this.state = new IntegrationStateStore(deps.doc, config.tableName);
    this.limiter = new SharedRateLimiter(deps.doc, config.tableName);
    const repairs = new OrderRepairs(deps.doc, deps.sqs, config.tableName, config.queueUrl);
    this.reconciliation = new StateReconciliation(
      deps.doc,
      config.tableName,
      repairs,
      config.policy,
      deps.logger,
    );
  }

  /** `deadline` (epoch ms): no token is waited for past it. */
  async run(now: number = this.clock(), deadline: number = now + 30_000): Promise<ReconcileResult> {
    const redriven = await this.redrive.run(now);
    const reconciled: Record<string, TenantReconciliation> = {};
    for (const [tenantId, integration] of Object.entries(this.config.integrations)) {
      // The drill checks its own sandbox receipts, then removes its orders: the sandbox would otherwise
      // report them as sales the cell never made.
      if (isSyntheticTenant(tenantId)) continue;
      try {
        reconciled[tenantId] = await this.tenant(tenantId, integration, now, deadline);
      } catch (error) {
        this.deps.logger.warn('reconciliation failed', { tenantId, error: (error as Error).message });
        reconciled[tenantId] = { skipped: `failed: ${(error as Error).message}` };
      }
    }
    this.deps.logger.info('reconciled against the state system', { reconciled });
    return { ...redriven, reconciled };
  }

  private async tenant(
    tenantId: string,
    integration: IntegrationConfig,
    now: number,
    deadline: number,
  ): Promise<TenantReconciliation> {
    const [settings, breaker] = await Promise.all([
      this.state.settings(tenantId),
      this.state.breaker(tenantId),
    ]);
    if (!settings.enabled) return { skipped: 'the integration is switched off' };
    if (breaker.breaker.state !== 'closed') return { skipped: `the breaker is ${breaker.breaker.state}` };
    const credentials = await this.deps.credentials.credentials(tenantId, integration);
    const session = new FacilitySession(
      { state: this.state, limiter: this.limiter, policy: this.config.breakerPolicy, now: this.clock },
      {
        tenantId,
        integration,
        client: new MetrcClient({
          baseUrl: integration.baseUrl,
          licenseNumber: integration.licenseNumber,
          credentials,
          timeoutMs: this.config.complianceTimeoutMs,
        }),
        breaker: breaker.breaker,
        deadline,
        probe: false,
        limits: limitsOf(integration, this.config.rateHeadroom),
      },
    );
    const report = await this.reconciliation.run(session, now);
    return { counts: report.counts, ...(report.incomplete && { incomplete: report.incomplete }) };
  }
}
