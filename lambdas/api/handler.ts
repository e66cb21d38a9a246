import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { parseIntegrations } from '../../lib/contracts/integrations';
import { documentClient, sqsClient } from '../shared/clients';
import { CELL_FUNCTION_ENV, numberOr, optional, readEnv, required } from '../shared/env';
import { HttpError } from '../shared/errors';
import { errorResponse, json, toRequest } from '../shared/http';
import { BREAKER_ENV, breakerPolicyOf } from '../shared/integration-state';
import { TENANT_HEADER, tenantOf } from '../shared/tenant';
import { TRACING_ENV, Tracing } from '../shared/tracing';
import { isUnavailable } from '../shared/unavailable';

import { refuseWriteWhileFrozen, routes, verifyPresentedKey } from './app';
import { faultInjector } from './drill-fault';
import { resolve } from './routes';
import { CellStore } from './store';

const env = readEnv({
  ...CELL_FUNCTION_ENV,
  ...BREAKER_ENV,
  ...TRACING_ENV,
  RELEASE: required,
  /** Local target only: the secret the router presents; on AWS the Function URL's IAM auth. */
  CELL_SECRET: optional,
  AWS_LAMBDA_FUNCTION_VERSION: optional,
  STATUS_RED_AFTER_SECONDS: numberOr(20 * 60),
  /** Only `bulkhead drill bad-release` sets this, on a version it releases to be rolled back. */
  BULKHEAD_FAULT_RATE: numberOr(0),
});
const cellSecret = env.CELL_SECRET;
const version = env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST';

const logger = new Logger({
  serviceName: 'api',
  persistentKeys: { cellId: env.CELL_ID, release: env.RELEASE },
});
const metrics = new Metrics({
  namespace: 'Bulkhead',
  serviceName: 'api',
  defaultDimensions: { cellId: env.CELL_ID },
});
const tracing = Tracing.for('api', env);

const store = new CellStore({
  ddb: documentClient(tracing),
  sqs: sqsClient(tracing),
  tableName: env.TABLE_NAME,
  queueUrl: env.QUEUE_URL,
  integrations: parseIntegrations(env.INTEGRATIONS),
  redAfterMs: env.STATUS_RED_AFTER_SECONDS * 1000,
  breakerPolicy: breakerPolicyOf(env),
});

const table = routes({ store, cellId: env.CELL_ID, release: env.RELEASE, version }, (req) => {
  const tenantId = tenantOf(req.headers, cellSecret);
  logger.appendKeys({ tenantId });
  tracing.annotate({ tenantId });
  return tenantId;
});

const drillFault = faultInjector(env.BULKHEAD_FAULT_RATE);

const identity = { 'x-bulkhead-cell': env.CELL_ID, 'x-bulkhead-version': `${env.RELEASE}/${version}` };

/** The tenant API: maps the Function URL event to a route and back; never answers a 500 for bad input. */
async function answer(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  let response: APIGatewayProxyStructuredResultV2;
  try {
    if (drillFault(event.headers?.[TENANT_HEADER])) throw new Error('drill fault (BULKHEAD_FAULT_RATE)');
    // A fail-static request is verified against the cell's copy of the key hash before anything else.
    const req = await verifyPresentedKey(toRequest(event), store, cellSecret);
    const { handler: route, params } = resolve(table, req);
    if (req.headers[TENANT_HEADER] !== undefined)
      await refuseWriteWhileFrozen(req, tenantOf(req.headers, cellSecret), store);
    const reply = await route(req, params);
    response = json(reply.status, reply.body, reply.headers);
    metrics.addMetric(`status${Math.floor(reply.status / 100)}xx`, MetricUnit.Count, 1);
  } catch (err) {
    if (err instanceof HttpError) {
      response = errorResponse(err);
      metrics.addMetric('status4xx', MetricUnit.Count, 1);
    } else if (isUnavailable(err)) {
      logger.warn('the cell table or queue did not answer', { error: (err as Error).message });
      metrics.addMetric('status5xx', MetricUnit.Count, 1);
      response = json(
        503,
        {
          error: 'unavailable',
          details:
            'the cell’s database did not answer; retry (an order retried with the same Idempotency-Key is never placed twice)',
        },
        { 'retry-after': '1' },
      );
    } else {
      logger.error('request failed', err as Error);
      metrics.addMetric('status5xx', MetricUnit.Count, 1);
      response = json(500, {
        error: 'internal',
        details: 'the cell could not complete the request; it was not applied',
      });
    }
  } finally {
    logger.removeKeys(['tenantId']);
  }
  metrics.publishStoredMetrics();
  return { ...response, headers: { ...response.headers, ...identity } };
}

export const handler = tracing.handler({ cellId: env.CELL_ID }, answer);
