/**
 * The sync worker: reports each sale on the sync queue to the tenant's compliance API, answering
 * SQS with the records to deliver again (partial batch response).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

import { parseIntegrations } from '../../lib/contracts/integrations';
import { sqsClient } from '../shared/clients';
import { numberEnv, requireEnv } from '../shared/env';
import { breakerPolicyFromEnv } from '../shared/integration-state';

import { EnvApiKeyProvider, type ApiKeyProvider } from './api-keys';
import { SyncWorker } from './worker';

const env = requireEnv(['CELL_ID', 'TABLE_NAME', 'QUEUE_URL', 'DLQ_URL', 'INTEGRATIONS']);
const config = {
  tableName: env.TABLE_NAME,
  queueUrl: env.QUEUE_URL,
  dlqUrl: env.DLQ_URL,
  integrations: parseIntegrations(env.INTEGRATIONS),
  breakerPolicy: breakerPolicyFromEnv(),
  complianceTimeoutMs: numberEnv('COMPLIANCE_TIMEOUT_MS', 5000),
  rateHeadroom: numberEnv('RATE_HEADROOM', 0.9),
};

const ddb = new DynamoDBClient({});
// The idempotency layer needs the plain client; the document client shares it.
const doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
const sqs = sqsClient();
const logger = new Logger({ serviceName: 'sync', persistentKeys: { cellId: env.CELL_ID } });
const metrics = new Metrics({
  namespace: 'Bulkhead',
  serviceName: 'sync',
  defaultDimensions: { cellId: env.CELL_ID },
});

/** Builds the handler; the API key source is the one thing a deployment may swap. */
export function createHandler(apiKeys: ApiKeyProvider = new EnvApiKeyProvider()) {
  const worker = new SyncWorker(config, { ddb, doc, sqs, apiKeys, logger, metrics });
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    logger.addContext(context);
    worker.startInvocation(context);
    try {
      // A processor per invocation: it holds the batch's results, and a local runtime may overlap invocations.
      return await processPartialResponse(
        event,
        (record: SQSRecord) => worker.process(record, context),
        new BatchProcessor(EventType.SQS),
        // Throwing on a full failure would only make Lambda retry the whole batch the same way.
        { context, throwOnFullBatchFailure: false },
      );
    } finally {
      // A batch of already-settled orders has no metric to report; publishing nothing would only log a warning.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

export const handler = createHandler();
