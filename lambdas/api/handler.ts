import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { METRIC_NAMESPACE, SERVICES, statusClassMetric } from '../../lib/contracts/metrics';
import { documentClient, sqsClient } from '../shared/clients';
import { CELL_FUNCTION_ENV, numberOr, optional, readEnv, required } from '../shared/env';
import { HttpError } from '../shared/errors';
import { errorResponse, json, toRequest } from '../shared/http';
import { BREAKER_ENV, breakerPolicyOf } from '../shared/integration-state';
import { readIntegrations } from '../shared/integrations';
import { RequestMetrics } from '../shared/metrics';
import {
  CLAIMED_TENANT_HEADER,
  isRouterSession,
  KEY_HASH_HEADER,
  TENANT_HEADER,
  tenantOf,
} from '../shared/tenant';
import { TRACING_ENV, Tracing } from '../shared/tracing';
import { isUnavailable } from '../shared/unavailable';

import { refuseWhileMoving, routes, verifyPresentedKey } from './app';
import { faultInjector } from './drill-fault';
import { IntegrationApi } from './integration';
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
  /** Work pending this long (the reconciler's grace) is orange. */
  RECONCILE_GRACE_SECONDS: numberOr(300),
  /** Synced work no reconciliation has confirmed for this long (three 5-minute runs) is orange. */
  RECONCILE_STALE_SECONDS: numberOr(15 * 60),
  /** The router's account: sessions of its `bulkhead-router` role are the only URL callers trusted. */
  ROUTER_ACCOUNT: optional,
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
  namespace: METRIC_NAMESPACE,
  serviceName: SERVICES.api,
  defaultDimensions: { cellId: env.CELL_ID },
});
const requestMetrics = new RequestMetrics(SERVICES.api, version, { cellId: env.CELL_ID });
const tracing = Tracing.for('api', env);

const aws = {
  ddb: documentClient(tracing),
  sqs: sqsClient(tracing),
  tableName: env.TABLE_NAME,
  queueUrl: env.QUEUE_URL,
  integrations: readIntegrations(env.INTEGRATIONS_FILE),
};
const store = new CellStore(aws);
const integration = new IntegrationApi({
  ...aws,
  thresholds: {
    redAfterMs: env.STATUS_RED_AFTER_SECONDS * 1000,
    orangeAfterMs: Math.min(env.RECONCILE_GRACE_SECONDS, env.STATUS_RED_AFTER_SECONDS) * 1000,
    reconcileStaleMs: env.RECONCILE_STALE_SECONDS * 1000,
  },
  breakerPolicy: breakerPolicyOf(env),
});

const table = routes({ store, integration, cellId: env.CELL_ID, release: env.RELEASE, version }, (req) => {
  const tenantId = tenantOf(req.headers, cellSecret);
  logger.appendKeys({ tenantId });
  tracing.annotate({ tenantId });
  return tenantId;
});

const drillFault = faultInjector(env.BULKHEAD_FAULT_RATE);

const identity = { 'x-bulkhead-cell': env.CELL_ID, 'x-bulkhead-version': `${env.RELEASE}/${version}` };

/**
 * A request through the function URL that names a tenant (authenticated, or claimed with a key hash) is
 * the router's, or refused (403) before anything reads that header; another caller may still ask for
 * `/health`. One without an IAM caller did not come through the URL: a direct `Invoke` (the pre-traffic
 * hook, drills, operators' tools), which only the invoke permission admits.
 */
function refuseOtherUrlCallers(event: APIGatewayProxyEventV2): void {
  const caller = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam;
  if (caller === undefined || env.ROUTER_ACCOUNT === undefined) return;
  const names = [TENANT_HEADER, CLAIMED_TENANT_HEADER, KEY_HASH_HEADER].some(
    (h) => event.headers?.[h] !== undefined,
  );
  if (names && !isRouterSession(caller.userArn ?? '', env.ROUTER_ACCOUNT)) {
    logger.warn('a caller other than the router reached the function URL', { userArn: caller.userArn });
    throw new HttpError(403, 'forbidden', 'requests must come through the Bulkhead router');
  }
}

/** The tenant API: maps the Function URL event to a route and back; never answers a 500 for bad input. */
async function answer(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  let response: APIGatewayProxyStructuredResultV2;
  // A 5xx the cell is to blame for; a deliberate refusal (an HttpError, such as a frozen tenant's 503) is not.
  let serverError = false;
  try {
    refuseOtherUrlCallers(event);
    if (drillFault(event.headers?.[TENANT_HEADER])) throw new Error('drill fault (BULKHEAD_FAULT_RATE)');
    // A fail-static request is verified against the cell's copy of the key hash before anything else.
    const presented = toRequest(event);
    const req = await verifyPresentedKey(presented, store, cellSecret);
    const { handler: route, params } = resolve(table, req);
    // A verified fail-static request has had its move record checked with its key.
    if (req === presented && req.headers[TENANT_HEADER] !== undefined)
      await refuseWhileMoving(req, tenantOf(req.headers, cellSecret), store);
    const reply = await route(req, params);
    response = json(reply.status, reply.body, reply.headers);
    serverError = reply.status >= 500;
    metrics.addMetric(statusClassMetric(reply.status), MetricUnit.Count, 1);
  } catch (err) {
    if (err instanceof HttpError) {
      response = errorResponse(err);
      metrics.addMetric(statusClassMetric(response.statusCode!), MetricUnit.Count, 1);
    } else if (isUnavailable(err)) {
      logger.warn('the cell table or queue did not answer', { error: (err as Error).message });
      serverError = true;
      metrics.addMetric(statusClassMetric(503), MetricUnit.Count, 1);
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
      serverError = true;
      metrics.addMetric(statusClassMetric(500), MetricUnit.Count, 1);
      response = json(500, {
        error: 'internal',
        details: 'the cell could not complete the request; it was not applied',
      });
    }
  } finally {
    logger.removeKeys(['tenantId']);
  }
  metrics.publishStoredMetrics();
  requestMetrics.answered(serverError);
  return { ...response, headers: { ...response.headers, ...identity } };
}

export const handler = tracing.handler({ cellId: env.CELL_ID }, answer);
