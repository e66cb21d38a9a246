/** The reconciler, run on a schedule: re-enqueues orders still PENDING after a grace period. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

import { parseIntegrations } from '../../lib/contracts/integrations';
import { documentClient, sqsClient } from '../shared/clients';
import { CELL_FUNCTION_ENV, numberOr, readEnv } from '../shared/env';
import { BREAKER_ENV, breakerPolicyOf } from '../shared/integration-state';
import { TRACING_ENV, Tracing } from '../shared/tracing';

import { Reconciler, type ReconcileResult } from './reconciler';

const env = readEnv({
  ...CELL_FUNCTION_ENV,
  ...BREAKER_ENV,
  ...TRACING_ENV,
  RECONCILE_GRACE_SECONDS: numberOr(300),
  RECONCILE_BATCH: numberOr(100),
});
const logger = new Logger({ serviceName: 'reconcile', persistentKeys: { cellId: env.CELL_ID } });
const tracing = Tracing.for('reconcile', env);
const reconciler = new Reconciler(
  {
    tableName: env.TABLE_NAME,
    queueUrl: env.QUEUE_URL,
    integrations: parseIntegrations(env.INTEGRATIONS),
    breakerPolicy: breakerPolicyOf(env),
    graceSeconds: env.RECONCILE_GRACE_SECONDS,
    batchSize: env.RECONCILE_BATCH,
  },
  documentClient(tracing),
  sqsClient(tracing),
  logger,
);

export const handler = tracing.handler(
  { cellId: env.CELL_ID },
  async (_event?: unknown, context?: Context): Promise<ReconcileResult> => {
    if (context) logger.addContext(context);
    return reconciler.run();
  },
);
