import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { METRIC_NAMESPACE, ROUTER_METRICS, SERVICES, statusClassMetric } from '../../lib/contracts/metrics';
import { cellEndpointProblem } from '../../lib/domain/cell-endpoint';
import { bakedRoutingFromBundle, RouteCache, type RouteCacheCounters } from '../../lib/domain/route-cache';
import { fleetLimitsFromBundle } from '../../lib/domain/tenant-limits';
import { documentClient } from '../shared/clients';
import { numberOr, optional, readEnv, required } from '../shared/env';
import { RequestMetrics } from '../shared/metrics';
import { CLAIMED_TENANT_HEADER, TENANT_HEADER } from '../shared/tenant';
import { TRACING_ENV, Tracing } from '../shared/tracing';

import { createForwarder } from './forward';
import { DynamoTenantLimiter } from './limiter';
import {
  type CellLocator,
  FunctionUrlLocator,
  parseCellEndpoints,
  staticCellLocator,
  urlConfigClient,
} from './locator';
import { route, type RouterDeps } from './router';
import { DynamoRoutingStore } from './store';
import type { RouterRequest, RouterResponse } from './types';

const env = readEnv({
  ...TRACING_ENV,
  ROUTES_TABLE: required,
  REGISTRY_TABLE: required,
  /** The per-tenant counters (`lambdas/router/limiter.ts`); without it no tenant limit is applied. */
  LIMITS_TABLE: optional,
  LIMITS_TIMEOUT_MS: numberOr(200),
  /** Local target only: `{ cellId: { endpoint, secret } }` (see `locator.ts`). */
  CELL_ENDPOINTS: optional,
  LOCATE_TIMEOUT_MS: numberOr(1000),
  CONNECT_TIMEOUT_MS: numberOr(1000),
  FORWARD_TIMEOUT_MS: numberOr(10_000),
  ROUTE_CACHE_TTL_SECONDS: numberOr(30),
  MAX_BODY_BYTES: numberOr(64 * 1024),
  STORE_TIMEOUT_MS: numberOr(500),
  API_KEY_PEPPER: optional,
  AWS_REGION: optional,
  AWS_LAMBDA_FUNCTION_VERSION: optional,
  /** Local platform only (`true`): its cells' function URLs listen on loopback. Never set by the CDK stack. */
  CELL_ENDPOINTS_ON_LOOPBACK: optional,
});

const logger = new Logger({ serviceName: 'router' });
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICES.router });
const requestMetrics = new RequestMetrics(SERVICES.router, env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST');
const tracing = Tracing.for('router', env);

/**
 * Where a baked tenant's cell answers when the store is down: locally the endpoints the platform sets
 * in `CELL_ENDPOINTS`; on AWS the cells' Function URLs, looked up (and cached) on demand.
 */
const locator: CellLocator = env.CELL_ENDPOINTS
  ? staticCellLocator(parseCellEndpoints(env.CELL_ENDPOINTS))
  : new FunctionUrlLocator({
      timeoutMs: env.LOCATE_TIMEOUT_MS,
      clientFor: (region) => tracing.client(urlConfigClient(region)),
    });

const bakedRoutes = bakedRoutingFromBundle();
const forwarder = createForwarder({
  sign: true,
  // A cell's region, when its endpoint's host does not say (locally): the fleet file's, baked in.
  regionOf: (cellId) => bakedRoutes.cells[cellId]?.region,
  region: env.AWS_REGION,
  connectTimeoutMs: env.CONNECT_TIMEOUT_MS,
  timeoutMs: env.FORWARD_TIMEOUT_MS,
});

const doc = documentClient(tracing);
const limiter = env.LIMITS_TABLE
  ? new DynamoTenantLimiter(doc, {
      tableName: env.LIMITS_TABLE,
      limits: fleetLimitsFromBundle(),
      timeoutMs: env.LIMITS_TIMEOUT_MS,
      onStoreError: (error) => {
        logger.warn('tenant limit counters unavailable: request let through', { error: error.message });
        metrics.addMetric(ROUTER_METRICS.limiterErrors, MetricUnit.Count, 1);
      },
    })
  : undefined;

// Module scope = per warm instance: the cache and the keep-alive connections outlive one request.
const deps: RouterDeps = {
  store: new DynamoRoutingStore(doc, env.ROUTES_TABLE, env.REGISTRY_TABLE),
  limiter,
  onLimited: () => metrics.addMetric(ROUTER_METRICS.tenantLimited, MetricUnit.Count, 1),
  // The trace is annotated where the router hands an authenticated (or, baked, claimed) tenant to its cell.
  forward: (up) => {
    tracing.annotate({
      cellId: up.cellId,
      tenantId: up.headers[TENANT_HEADER] ?? up.headers[CLAIMED_TENANT_HEADER],
    });
    return forwarder.forward(up);
  },
  cache: new RouteCache({ ttlMs: env.ROUTE_CACHE_TTL_SECONDS * 1000 }),
  bakedRoutes,
  locator,
  maxBodyBytes: env.MAX_BODY_BYTES,
  storeTimeoutMs: env.STORE_TIMEOUT_MS,
  pepper: env.API_KEY_PEPPER,
  // Only the fleet's function URLs get tenants' requests, whatever a registry row says.
  endpointProblem: (cellId, endpoint) =>
    cellEndpointProblem(
      { cells: bakedRoutes.cells, loopback: env.CELL_ENDPOINTS_ON_LOOPBACK === 'true' },
      cellId,
      endpoint,
    ),
  onRefusedEndpoint: (cellId, endpoint, problem) => {
    logger.error('refused to forward to a cell endpoint', { cellId, endpoint, problem });
    metrics.addMetric(ROUTER_METRICS.refusedEndpoint, MetricUnit.Count, 1);
  },
};

/** HTTP API v2 event → router request. API Gateway lower-cases header names and splits out cookies. */
export function toRouterRequest(event: APIGatewayProxyEventV2): RouterRequest {
  const headers: Record<string, string | undefined> = { ...event.headers };
  if (event.cookies?.length) headers.cookie = event.cookies.join('; ');
  const body =
    event.body === undefined ? undefined : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    query: event.rawQueryString,
    headers,
    body,
  };
}

/** Router response → HTTP API v2 result (always base64: the router does not interpret cell bodies). */
export function toResult(res: RouterResponse): APIGatewayProxyStructuredResultV2 {
  const { 'set-cookie': cookie, ...headers } = res.headers;
  return {
    statusCode: res.status,
    headers,
    ...(cookie ? { cookies: [cookie] } : {}),
    body: res.body.toString('base64'),
    isBase64Encoded: true,
  };
}

const published: RouteCacheCounters = { failStatic: 0, bakedFallback: 0, storeErrors: 0 };
let publishedLocatorFailures = 0;

function publishCounters(): void {
  const counters = deps.cache.counters;
  for (const name of Object.keys(published) as (keyof RouteCacheCounters)[]) {
    const delta = counters[name] - published[name];
    if (delta > 0) metrics.addMetric(ROUTER_METRICS[name], MetricUnit.Count, delta);
    published[name] = counters[name];
  }
  if (locator instanceof FunctionUrlLocator && locator.failures > publishedLocatorFailures) {
    metrics.addMetric(
      ROUTER_METRICS.locatorFailures,
      MetricUnit.Count,
      locator.failures - publishedLocatorFailures,
    );
    publishedLocatorFailures = locator.failures;
  }
}

export const handler = tracing.handler(
  {},
  async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    let res: RouterResponse;
    // Only the router's own failures count against its version: a cell's answer, or a 503/504 for a cell
    // that is down, slow or moving a tenant, is that cell's (its own version is judged on it).
    let serverError = false;
    try {
      res = await route(toRouterRequest(event), deps);
    } catch (error) {
      logger.error('router failure', { error: error as Error });
      serverError = true;
      res = {
        status: 502,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"error":"bad_gateway"}'),
      };
    }
    metrics.addMetric(statusClassMetric(res.status), MetricUnit.Count, 1);
    publishCounters();
    metrics.publishStoredMetrics();
    requestMetrics.answered(serverError);
    return toResult(res);
  },
);
