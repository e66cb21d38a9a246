import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { cellRouteOf, tenantRouteOf } from '../../../lambdas/router/store';
import { isRouterSession } from '../../../lambdas/shared/tenant';
import { generateApiKey, hashApiKey } from '../../../lib/domain/api-keys';

const ddb = mockClient(DynamoDBDocumentClient);

Object.assign(process.env, {
  ROUTES_TABLE: 'routes',
  REGISTRY_TABLE: 'registry',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_REGION: 'us-east-1',
  // The router signs every hop to a cell with its role's credentials (the function URL's AWS_IAM auth).
  AWS_ACCESS_KEY_ID: 'AKIDROUTERTEST',
  AWS_SECRET_ACCESS_KEY: 'router-test-secret',
  // The cell below listens on loopback, as the local platform's do.
  CELL_ENDPOINTS_ON_LOOPBACK: 'true',
});
// The fleet the router was built for (an esbuild define in the bundle): cells c1 and c3.
(globalThis as { __BULKHEAD_BAKED_ROUTES__?: string }).__BULKHEAD_BAKED_ROUTES__ = JSON.stringify({
  tenants: {},
  cells: {
    c1: { region: 'us-east-1', account: '111111111111' },
    c3: { region: 'us-east-1', account: '111111111111' },
  },
});

type RouterHandler = typeof import('../../../lambdas/router/handler');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- env above must be set before the module loads
const { handler } = require('../../../lambdas/router/handler') as RouterHandler;

const key = generateApiKey('acme');

function event(more: Partial<APIGatewayProxyEventV2> & { method?: string } = {}): APIGatewayProxyEventV2 {
  const { method = 'GET', ...rest } = more;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/inventory',
    rawQueryString: 'sku=a',
    headers: { authorization: `Bearer ${key}`, 'x-bulkhead-tenant': 'victim' },
    requestContext: { http: { method } } as APIGatewayProxyEventV2['requestContext'],
    isBase64Encoded: false,
    ...rest,
  };
}

describe('router handler', () => {
  let server: http.Server;
  let seen: {
    url?: string;
    tenant?: string | string[];
    secret?: string | string[];
    authorization?: string;
    body: string;
  }[];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({
          url: req.url,
          tenant: req.headers['x-bulkhead-tenant'],
          secret: req.headers['x-bulkhead-cell-secret'],
          authorization: req.headers.authorization,
          body,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    ddb
      .on(GetCommand, { TableName: 'routes', Key: { tenantId: 'acme' } })
      .resolves({ Item: { tenantId: 'acme', cellId: 'c1', status: 'active', keyHash: hashApiKey(key) } })
      .on(GetCommand, { TableName: 'registry', Key: { cellId: 'c1' } })
      .resolves({ Item: { cellId: 'c1', endpoint, status: 'active', secret: 's1' } });
  });
  beforeEach(() => (seen = []));
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('maps an HTTP API v2 event through the router to the cell and back', async () => {
    const res = await handler(
      event({ method: 'POST', body: Buffer.from('{"a":1}').toString('base64'), isBase64Encoded: true }),
    );
    expect(res.statusCode).toBe(200);
    expect(res.isBase64Encoded).toBe(true);
    expect(Buffer.from(res.body ?? '', 'base64').toString()).toBe('{"ok":true}');
    expect(res.headers).toMatchObject({ 'x-bulkhead-cell': 'c1' });
    expect(seen).toEqual([
      {
        url: '/inventory?sku=a',
        tenant: 'acme',
        secret: 's1',
        authorization: expect.stringMatching(
          /^AWS4-HMAC-SHA256 Credential=AKIDROUTERTEST\/\d{8}\/us-east-1\/lambda\/aws4_request/,
        ),
        body: '{"a":1}',
      },
    ]);
  });

  it('sends nothing to a cell the registry has at another host, or to a cell outside its fleet', async () => {
    const loopback = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tenantAt = (tenant: string, cellId: string, endpoint: string) => {
      const tenantKey = generateApiKey(tenant);
      ddb
        .on(GetCommand, { TableName: 'routes', Key: { tenantId: tenant } })
        .resolves({ Item: { tenantId: tenant, cellId, status: 'active', keyHash: hashApiKey(tenantKey) } })
        .on(GetCommand, { TableName: 'registry', Key: { cellId } })
        .resolves({ Item: { cellId, endpoint, status: 'active' } });
      return tenantKey;
    };
    const elsewhere = tenantAt('elsewhere', 'c3', 'https://collector.example.com');
    const outside = tenantAt('outside', 'c2', loopback);
    for (const tenantKey of [elsewhere, outside]) {
      const res = await handler(event({ headers: { authorization: `Bearer ${tenantKey}` } }));
      expect(res.statusCode).toBe(503);
      expect(JSON.parse(Buffer.from(res.body ?? '', 'base64').toString())).toEqual({
        error: 'cell_unavailable',
      });
    }
    expect(seen).toEqual([]);
  });

  it('answers 401 for an unknown tenant without reaching a cell', async () => {
    ddb.on(GetCommand, { TableName: 'routes', Key: { tenantId: 'nobody' } }).resolves({});
    const res = await handler(event({ headers: { authorization: `Bearer ${generateApiKey('nobody')}` } }));
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(Buffer.from(res.body ?? '', 'base64').toString())).toEqual({
      error: 'unauthenticated',
    });
    expect(seen).toEqual([]);
  });
});

describe('routing store items', () => {
  it('reads only complete items', () => {
    expect(tenantRouteOf({ tenantId: 't', cellId: 'c', status: 'active', keyHash: 'h' })).toEqual({
      cellId: 'c',
      status: 'active',
      keyHash: 'h',
    });
    expect(tenantRouteOf({ tenantId: 't', cellId: 'c', status: 'active' })).toBeUndefined();
    expect(tenantRouteOf(undefined)).toBeUndefined();
    expect(cellRouteOf({ endpoint: 'https://x', status: 'draining' })).toEqual({
      endpoint: 'https://x',
      status: 'draining',
    });
    expect(cellRouteOf({ status: 'active' })).toBeUndefined();
  });
});

describe('isRouterSession: the only URL caller whose tenant header a cell trusts', () => {
  const ROUTER_ACCOUNT = '111111111111';
  it.each([
    ['arn:aws:sts::111111111111:assumed-role/bulkhead-router/bulkhead-router-fn', true],
    ['arn:aws-us-gov:sts::111111111111:assumed-role/bulkhead-router/s', true],
    ['arn:aws:sts::111111111111:assumed-role/bulkhead-router/a/b', false],
    ['arn:aws:sts::222222222222:assumed-role/bulkhead-router/x', false],
    ['arn:aws:sts::111111111111:assumed-role/bulkhead-router-evil/x', false],
    ['arn:aws:sts::111111111111:assumed-role/bulkhead-local-operator/operator', false],
    ['arn:aws:iam::111111111111:user/admin', false],
    ['', false],
  ])('%s → %s', (userArn, trusted) => {
    expect(isRouterSession(userArn, ROUTER_ACCOUNT)).toBe(trusted);
  });
});
