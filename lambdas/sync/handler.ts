/**
 * The sync worker: reports each sale on the sync queue to the tenant's compliance API, answering
 * SQS with the records to deliver again (partial batch response).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

import { documentClient, sqsClient } from '../shared/clients';
import { type CredentialsProvider, EnvCredentials } from '../shared/compliance-keys';
import { CELL_FUNCTION_ENV, numberOr, readEnv, required } from '../shared/env';
import { DEFAULT_RATE_HEADROOM } from '../shared/facility-session';
import { BREAKER_ENV, breakerPolicyOf } from '../shared/integration-state';
import { readIntegrations } from '../shared/integrations';
import { TRACING_ENV, Tracing } from '../shared/tracing';

import { SyncWorker } from './worker';

const env = readEnv({
  ...CELL_FUNCTION_ENV,
  ...BREAKER_ENV,
  ...TRACING_ENV,
  DLQ_URL: required,
  COMPLIANCE_TIMEOUT_MS: numberOr(5000),
  RATE_HEADROOM: numberOr(DEFAULT_RATE_HEADROOM),
  /** How long after an unknown outcome before a lookup may trust "not recorded" (default: the timeout). */
  LOOKUP_SETTLE_MS: numberOr(0),
});
const config = {
  tableName: env.TABLE_NAME,
  queueUrl: env.QUEUE_URL,
  dlqUrl: env.DLQ_URL,
  integrations: readIntegrations(env.INTEGRATIONS_FILE),
  breakerPolicy: breakerPolicyOf(env),
  complianceTimeoutMs: env.COMPLIANCE_TIMEOUT_MS,
  rateHeadroom: env.RATE_HEADROOM,
  lookupSettleMs: env.LOOKUP_SETTLE_MS || env.COMPLIANCE_TIMEOUT_MS,
};

const tracing = Tracing.for('sync', env);
const doc = documentClient(tracing);
const sqs = sqsClient(tracing);
const logger = new Logger({ serviceName: 'sync', persistentKeys: { cellId: env.CELL_ID } });
const metrics = new Metrics({
  namespace: 'Bulkhead',
  serviceName: 'sync',
  defaultDimensions: { cellId: env.CELL_ID },
});

/**
 * Builds the handler; where the Metrc keys come from is the one thing a deployment may swap. `now` is
 * the worker's clock (breaker, claims, lookups), for tests that step time themselves.
 */
export function createHandler(
  credentials: CredentialsProvider = new EnvCredentials(),
  now: () => number = () => Date.now(),
) {
  const worker = new SyncWorker(config, { doc, sqs, credentials, logger, metrics, tracing, now });
  return tracing.handler(
    { cellId: env.CELL_ID },
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      logger.addContext(context);
      // One invocation's records: a tenant's are posted together once all have been read.
      const invocation = worker.invocation(event.Records.length, context);
      try {
        // A processor per invocation: it holds the batch's results, and a local runtime may overlap invocations.
        return await processPartialResponse(
          event,
          // A subsegment per record: records are processed concurrently, each annotated with its tenant.
          (record: SQSRecord) => tracing.span('### record', () => invocation.process(record)),
          new BatchProcessor(EventType.SQS),
          // In parallel: a tenant's records wait for each other to be posted together. Throwing on a full
          // failure would only make Lambda retry the whole batch the same way.
          { context, processInParallel: true, throwOnFullBatchFailure: false },
        );
      } finally {
        // A batch of already-settled orders has no metric to report; publishing nothing would only log a warning.
        if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      }
    },
  );
}

export const handler = createHandler();
