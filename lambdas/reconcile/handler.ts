/** The reconciler, run on a schedule: re-drives overdue pending orders, reconciles against the state system. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

import { documentClient, sqsClient } from '../shared/clients';
import { type CredentialsProvider, EnvCredentials } from '../shared/compliance-keys';
import { CELL_FUNCTION_ENV, numberOr, readEnv } from '../shared/env';
import { DEFAULT_RATE_HEADROOM } from '../shared/facility-session';
import { BREAKER_ENV, breakerPolicyOf } from '../shared/integration-state';
import { readIntegrations } from '../shared/integrations';
import { TRACING_ENV, Tracing } from '../shared/tracing';

import { Reconciler, type ReconcileResult } from './reconciler';

const env = readEnv({
  ...CELL_FUNCTION_ENV,
  ...BREAKER_ENV,
  ...TRACING_ENV,
  RECONCILE_GRACE_SECONDS: numberOr(300),
  RECONCILE_BATCH: numberOr(100),
  COMPLIANCE_TIMEOUT_MS: numberOr(5000),
  RATE_HEADROOM: numberOr(DEFAULT_RATE_HEADROOM),
  /** How far the state system's clock may be from ours. */
  CLOCK_SKEW_MS: numberOr(5000),
  /** How far back a tenant's first reconciliation looks. */
  RECONCILE_FIRST_LOOKBACK_SECONDS: numberOr(3600),
});
const logger = new Logger({ serviceName: 'reconcile', persistentKeys: { cellId: env.CELL_ID } });
const tracing = Tracing.for('reconcile', env);

/** Kept back from the invocation's remaining time for the writes after the last call. */
const MARGIN_MS = 10_000;

/** Builds the handler; where the Metrc keys come from is the one thing a deployment may swap. */
export function createHandler(credentials: CredentialsProvider = new EnvCredentials()) {
  const reconciler = new Reconciler(
    {
      tableName: env.TABLE_NAME,
      queueUrl: env.QUEUE_URL,
      integrations: readIntegrations(env.INTEGRATIONS_FILE),
      breakerPolicy: breakerPolicyOf(env),
      graceSeconds: env.RECONCILE_GRACE_SECONDS,
      batchSize: env.RECONCILE_BATCH,
      complianceTimeoutMs: env.COMPLIANCE_TIMEOUT_MS,
      rateHeadroom: env.RATE_HEADROOM,
      policy: {
        skewMs: env.CLOCK_SKEW_MS,
        // A receipt whose POST is still within its timeout may not be recorded yet.
        settleMs: env.COMPLIANCE_TIMEOUT_MS,
        firstLookbackMs: env.RECONCILE_FIRST_LOOKBACK_SECONDS * 1000,
        maxOrders: 500,
        maxConfirmations: 50,
        maxPages: 200,
      },
    },
    { doc: documentClient(tracing), sqs: sqsClient(tracing), credentials, logger },
  );
  return tracing.handler(
    { cellId: env.CELL_ID },
    async (_event?: unknown, context?: Context): Promise<ReconcileResult> => {
      if (context) logger.addContext(context);
      const now = Date.now();
      const deadline = now + (context ? context.getRemainingTimeInMillis() - MARGIN_MS : 30_000);
      return reconciler.run(now, deadline);
    },
  );
}

export const handler = createHandler();
