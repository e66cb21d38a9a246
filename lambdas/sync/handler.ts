/**
 * The sync worker: reports each sale on the sync queue to the tenant's compliance API, answering
 * SQS with the records to deliver again (partial batch response).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

import { parseIntegrations } from '../../lib/contracts/integrations';
import { documentClient, dynamoClient, sqsClient } from '../shared/clients';
import { CELL_FUNCTION_ENV, numberOr, readEnv, required } from '../shared/env';
import { BREAKER_ENV, breakerPolicyOf } from '../shared/integration-state';
import { TRACING_ENV, Tracing } from '../shared/tracing';

import { EnvApiKeyProvider, type ApiKeyProvider } from './api-keys';
import { SyncWorker } from './worker';

const env = readEnv({
  ...CELL_FUNCTION_ENV,
  ...BREAKER_ENV,
  ...TRACING_ENV,
  DLQ_URL: required,
  COMPLIANCE_TIMEOUT_MS: numberOr(5000),
  RATE_HEADROOM: numberOr(0.9),
});
const config = {
  tableName: env.TABLE_NAME,
  queueUrl: env.QUEUE_URL,
  dlqUrl: env.DLQ_URL,
  integrations: parseIntegrations(env.INTEGRATIONS),
  breakerPolicy: breakerPolicyOf(env),
  complianceTimeoutMs: env.COMPLIANCE_TIMEOUT_MS,
  rateHeadroom: env.RATE_HEADROOM,
};

const tracing = Tracing.for('sync', env);
// The idempotency layer needs the plain client; the document client shares it.
const ddb = dynamoClient(tracing);
const doc = documentClient(tracing, ddb);
const sqs = sqsClient(tracing);
const logger = new Logger({ serviceName: 'sync', persistentKeys: { cellId: env.CELL_ID } });
const metrics = new Metrics({
  namespace: 'Bulkhead',
  serviceName: 'sync',
  defaultDimensions: { cellId: env.CELL_ID },
});

/** Builds the handler; the API key source is the one thing a deployment may swap. */
export function createHandler(apiKeys: ApiKeyProvider = new EnvApiKeyProvider()) {
  const worker = new SyncWorker(config, { ddb, doc, sqs, apiKeys, logger, metrics, tracing });
  return tracing.handler(
    { cellId: env.CELL_ID },
    async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      logger.addContext(context);
      worker.startInvocation(context);
      try {
        // A processor per invocation: it holds the batch's results, and a local runtime may overlap invocations.
        return await processPartialResponse(
          event,
          // A subsegment per record: records are processed concurrently, each annotated with its tenant.
          (record: SQSRecord) => tracing.span('### record', () => worker.process(record, context)),
          new BatchProcessor(EventType.SQS),
          // Throwing on a full failure would only make Lambda retry the whole batch the same way.
          { context, throwOnFullBatchFailure: false },
        );
      } finally {
        // A batch of already-settled orders has no metric to report; publishing nothing would only log a warning.
        if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      }
    },
  );
}

export const handler = createHandler();
