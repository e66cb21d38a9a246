/** The reconciler, run on a schedule: re-enqueues orders still PENDING after a grace period. */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

import { parseIntegrations } from '../../lib/contracts/integrations';
import { documentClient, sqsClient } from '../shared/clients';
import { numberEnv, requireEnv } from '../shared/env';
import { breakerPolicyFromEnv } from '../shared/integration-state';

import { Reconciler, type ReconcileResult } from './reconciler';

const env = requireEnv(['CELL_ID', 'TABLE_NAME', 'QUEUE_URL', 'INTEGRATIONS']);
const logger = new Logger({ serviceName: 'reconcile', persistentKeys: { cellId: env.CELL_ID } });
const reconciler = new Reconciler(
  {
    tableName: env.TABLE_NAME,
    queueUrl: env.QUEUE_URL,
    integrations: parseIntegrations(env.INTEGRATIONS),
    breakerPolicy: breakerPolicyFromEnv(),
    graceSeconds: numberEnv('RECONCILE_GRACE_SECONDS', 300),
    batchSize: numberEnv('RECONCILE_BATCH', 100),
  },
  documentClient(),
  sqsClient(),
  logger,
);

export const handler = async (_event?: unknown, context?: Context): Promise<ReconcileResult> => {
  if (context) logger.addContext(context);
  return reconciler.run();
};
