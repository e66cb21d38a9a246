/**
 * What the request-serving handlers really print in the embedded metric format: every metric is one the
 * metrics contract (`lib/contracts/metrics.ts`) lists with that exact dimension set (the list the CDK test
 * holds every alarm to), and each answer counts once per executing version, a server error as one.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { call } from '../../../harness/api-events';
import { integrationsFile } from '../../../harness/integrations-file';
import { EMITTED_METRICS } from '../../../lib/contracts/metrics';
import { parseEmf } from '../../../lib/local/lambda/emf-recorder';

const ddb = mockClient(DynamoDBDocumentClient);

Object.assign(process.env, {
  CELL_ID: 'use1-a',
  RELEASE: 'v-test',
  TABLE_NAME: 'cell-table',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111111111111/sync',
  INTEGRATIONS_FILE: integrationsFile({}),
  CELL_SECRET: 'cell-secret-1',
  ROUTES_TABLE: 'routes',
  REGISTRY_TABLE: 'registry',
  AWS_LAMBDA_FUNCTION_VERSION: '7',
  POWERTOOLS_LOG_LEVEL: 'CRITICAL',
  AWS_REGION: 'us-east-1',
});
delete process.env.POWERTOOLS_METRICS_DISABLED;

/* eslint-disable @typescript-eslint/no-require-imports -- the env above must be set before the modules load */
const api = require('../../../lambdas/api/handler') as typeof import('../../../lambdas/api/handler');
const router = require('../../../lambdas/router/handler') as typeof import('../../../lambdas/router/handler');
/* eslint-enable @typescript-eslint/no-require-imports */

let printed: string[];
let write: jest.SpyInstance;

beforeEach(() => {
  ddb.reset();
  printed = [];
  write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
});

afterEach(() => write.mockRestore());

const datapoints = () => printed.flatMap((line) => parseEmf(line, 0));
const requestCounts = (service: string) =>
  datapoints()
    .filter((p) => p.dimensions.service === service && ['Requests', 'ServerErrors'].includes(p.name))
    .map((p) => [p.name, p.value, p.dimensions.FunctionVersion]);

function expectOnlyListedMetrics(): void {
  const points = datapoints();
  expect(points.length).toBeGreaterThan(0);
  for (const p of points) {
    const listed = EMITTED_METRICS.some(
      (m) =>
        m.namespace === p.namespace &&
        m.name === p.name &&
        [...m.dimensions].sort().join() === Object.keys(p.dimensions).sort().join(),
    );
    expect({ listed, metric: p }).toEqual({ listed: true, metric: p });
  }
}

describe('cell API', () => {
  it('counts a refused request (403) as an answer, not a server error, for its version', async () => {
    const res = await call(api.handler, 'GET', '/inventory/og-kush', {
      tenant: 'greenleaf',
      headers: { 'x-bulkhead-cell-secret': 'guess' },
    });
    expect(res.status).toBe(403);
    expect(requestCounts('api')).toEqual([
      ['Requests', 1, '7'],
      ['ServerErrors', 0, '7'],
    ]);
    expectOnlyListedMetrics();
  });

  it('counts a 500 as a server error of its version', async () => {
    ddb.on(GetCommand).rejects(new Error('boom'));
    const res = await call(api.handler, 'GET', '/inventory/og-kush', {
      tenant: 'greenleaf',
      headers: { 'x-bulkhead-cell-secret': 'cell-secret-1' },
    });
    expect(res.status).toBe(500);
    expect(requestCounts('api')).toEqual([
      ['Requests', 1, '7'],
      ['ServerErrors', 1, '7'],
    ]);
    expectOnlyListedMetrics();
  });
});

describe('router', () => {
  const event = (more: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 => ({
    version: '2.0',
    routeKey: '$default',
    rawPath: '/inventory',
    rawQueryString: '',
    headers: {},
    requestContext: { http: { method: 'GET' } } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
    ...more,
  });

  it('counts its own 401 as an answer, not a server error', async () => {
    const res = await router.handler(event());
    expect(res.statusCode).toBe(401);
    expect(requestCounts('router')).toEqual([
      ['Requests', 1, '7'],
      ['ServerErrors', 0, '7'],
    ]);
    expectOnlyListedMetrics();
  });

  it('counts its own failure (502) as a server error of its version', async () => {
    const broken = event({
      requestContext: undefined as unknown as APIGatewayProxyEventV2['requestContext'],
    });
    const res = await router.handler(broken);
    expect(res.statusCode).toBe(502);
    expect(requestCounts('router')).toEqual([
      ['Requests', 1, '7'],
      ['ServerErrors', 1, '7'],
    ]);
    expectOnlyListedMetrics();
  });
});
