import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';

import { ApiHandler, call } from '../../../harness/api-events';
import { integrationsFile } from '../../../harness/integrations-file';
import { CELL_TABLE_PROPS, LocalAws, startLocalAws, SYNC_DLQ_PROPS } from '../../../harness/local-aws';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';

let aws: LocalAws;
let handler: ApiHandler;
let queueUrl: string;
const TABLE = 'cell-api-test';

beforeAll(async () => {
  aws = await startLocalAws();
  await createTableFromCfn(aws.ddbClient, TABLE, CELL_TABLE_PROPS);
  queueUrl = await createQueueFromCfn(aws.sqsClient, 'sync-api-test', SYNC_DLQ_PROPS, () => '');
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: aws.sqs.endpoint,
    CELL_ID: 'use1-a',
    RELEASE: 'v-test',
    TABLE_NAME: TABLE,
    QUEUE_URL: queueUrl,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
    INTEGRATIONS_FILE: integrationsFile({
      greenleaf: { baseUrl: 'http://127.0.0.1:1', ratePerSecond: 5, burst: 1, apiKeySecret: 'x' },
    }),
  });
  ({ handler } = await import('../../../lambdas/api/handler'));
}, 60_000);

afterAll(async () => {
  await aws?.stop();
});

const stock = (tenant: string, sku: string, quantity: number, priceCents = 1500) =>
  call(handler, 'PUT', `/inventory/${sku}`, { tenant, body: { quantity, priceCents, name: `Item ${sku}` } });

test('50 concurrent orders for a stock of 10: exactly 10 succeed and stock ends at 0, never below', async () => {
  await stock('greenleaf', 'og-kush-3.5g', 10);
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      call(handler, 'POST', '/orders', {
        tenant: 'greenleaf',
        body: { items: [{ sku: 'og-kush-3.5g', quantity: 1 }] },
      }),
    ),
  );
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(10);
  expect(statuses.filter((s) => s !== 201).every((s) => s === 409)).toBe(true);
  const conflict = results.find((r) => r.status === 409)!;
  expect(conflict.body).toEqual({
    error: 'insufficient_stock',
    details: { sku: 'og-kush-3.5g', requested: 1, available: 0, reason: 'low_stock' },
  });
  const after = await call(handler, 'GET', '/inventory/og-kush-3.5g', { tenant: 'greenleaf' });
  expect(after.body.quantity).toBe(0);
});

test('a created order is PENDING, priced from inventory, readable, and enqueued for sync', async () => {
  await stock('greenleaf', 'gummies-10pk', 5, 2000);
  const before = await queueDepth();
  const created = await call(handler, 'POST', '/orders', {
    tenant: 'greenleaf',
    body: { items: [{ sku: 'gummies-10pk', quantity: 2 }], customerId: 'c-17' },
  });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    items: [{ sku: 'gummies-10pk', quantity: 2, unitPriceCents: 2000 }],
    totalCents: 4000,
    syncStatus: 'PENDING',
    customerId: 'c-17',
  });
  expect(Object.keys(created.body).sort()).toEqual([
    'createdAt',
    'customerId',
    'id',
    'items',
    'syncStatus',
    'totalCents',
  ]);
  const read = await call(handler, 'GET', `/orders/${created.body.id}`, { tenant: 'greenleaf' });
  expect(read.body).toEqual(created.body);
  expect(await queueDepth()).toBe(before + 1);
  const pending = await call(handler, 'GET', '/orders', {
    tenant: 'greenleaf',
    query: { status: 'PENDING' },
  });
  expect(pending.body.items.map((o: { id: string }) => o.id)).toContain(created.body.id);
});

test('a tenant without an integration gets orders that need no sync', async () => {
  await stock('high-noon', 'pre-roll', 3);
  const created = await call(handler, 'POST', '/orders', {
    tenant: 'high-noon',
    body: { items: [{ sku: 'pre-roll', quantity: 1 }] },
  });
  expect(created.body.syncStatus).toBe('NOT_REQUIRED');
});

test('the same Idempotency-Key five times (at once) yields one order and one stock decrement', async () => {
  await stock('greenleaf', 'vape-1g', 20);
  const body = { items: [{ sku: 'vape-1g', quantity: 3 }] };
  const results = await Promise.all(
    Array.from({ length: 5 }, () =>
      call(handler, 'POST', '/orders', {
        tenant: 'greenleaf',
        body,
        headers: { 'idempotency-key': 'till-4-sale-981' },
      }),
    ),
  );
  expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
  expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
  expect((await call(handler, 'GET', '/inventory/vape-1g', { tenant: 'greenleaf' })).body.quantity).toBe(17);
  const reused = await call(handler, 'POST', '/orders', {
    tenant: 'greenleaf',
    body: { items: [{ sku: 'vape-1g', quantity: 1 }] },
    headers: { 'idempotency-key': 'till-4-sale-981' },
  });
  expect(reused.status).toBe(422);
});

test('tenant A can neither read nor change tenant B’s inventory or orders', async () => {
  await stock('greenleaf', 'secret-sku', 7);
  const order = await call(handler, 'POST', '/orders', {
    tenant: 'greenleaf',
    body: { items: [{ sku: 'secret-sku', quantity: 1 }] },
  });
  expect((await call(handler, 'GET', '/inventory/secret-sku', { tenant: 'high-noon' })).status).toBe(404);
  expect((await call(handler, 'GET', `/orders/${order.body.id}`, { tenant: 'high-noon' })).status).toBe(404);
  const list = await call(handler, 'GET', '/inventory', { tenant: 'high-noon' });
  expect(list.body.items.map((i: { sku: string }) => i.sku)).not.toContain('secret-sku');
  // An order by B for A's SKU sees no stock; A's stock is untouched.
  const steal = await call(handler, 'POST', '/orders', {
    tenant: 'high-noon',
    body: { items: [{ sku: 'secret-sku', quantity: 1 }] },
  });
  expect(steal.status).toBe(409);
  await call(handler, 'PUT', '/inventory/secret-sku', { tenant: 'high-noon', body: { quantity: 0 } });
  expect((await call(handler, 'GET', '/inventory/secret-sku', { tenant: 'greenleaf' })).body.quantity).toBe(
    6,
  );
  // A forged cursor pointing into A's partition is refused.
  const forged = Buffer.from(JSON.stringify({ pk: 'greenleaf', sk: 'INV#a' })).toString('base64url');
  expect(
    (await call(handler, 'GET', '/inventory', { tenant: 'high-noon', query: { cursor: forged } })).status,
  ).toBe(400);
});

test('an order that cannot be filled in full changes nothing (no partial write)', async () => {
  await stock('greenleaf', 'tincture', 5);
  await stock('greenleaf', 'topical', 1);
  const res = await call(handler, 'POST', '/orders', {
    tenant: 'greenleaf',
    body: {
      items: [
        { sku: 'tincture', quantity: 2 },
        { sku: 'topical', quantity: 2 },
      ],
    },
  });
  expect(res.status).toBe(409);
  expect(res.body.details.sku).toBe('topical');
  expect((await call(handler, 'GET', '/inventory/tincture', { tenant: 'greenleaf' })).body.quantity).toBe(5);
});

test.each([
  ['invalid JSON', 'POST', '/orders', { rawBody: '{"items": [' }, 400],
  ['unknown field', 'POST', '/orders', { body: { items: [{ sku: 'a1', quantity: 1 }], coupon: 'x' } }, 400],
  ['wrong type', 'PUT', '/inventory/a1', { body: { quantity: '5' } }, 400],
  ['negative quantity', 'PUT', '/inventory/a1', { body: { quantity: -1 } }, 400],
  ['huge quantity', 'POST', '/orders', { body: { items: [{ sku: 'a1', quantity: 1e12 }] } }, 400],
  ['no items', 'POST', '/orders', { body: { items: [] } }, 400],
  [
    'duplicate sku lines',
    'POST',
    '/orders',
    {
      body: {
        items: [
          { sku: 'a1', quantity: 1 },
          { sku: 'a1', quantity: 1 },
        ],
      },
    },
    400,
  ],
  [
    'body over 64 KB',
    'PUT',
    '/inventory/a1',
    { rawBody: JSON.stringify({ quantity: 1, name: 'x'.repeat(70_000) }) },
    413,
  ],
  ['unknown route', 'GET', '/admin', {}, 404],
  ['path traversal', 'GET', '/inventory/..%2F..%2Fetc', {}, 400],
  ['wrong method', 'DELETE', '/orders', {}, 405],
  ['bad status filter', 'GET', '/orders', { query: { status: 'LOST' } }, 400],
  ['bad limit', 'GET', '/orders', { query: { limit: '0' } }, 400],
  [
    'bad idempotency key',
    'POST',
    '/orders',
    { body: { items: [{ sku: 'a1', quantity: 1 }] }, headers: { 'idempotency-key': '' } },
    400,
  ],
])('bad input (%s) is a %s-free JSON error, never a 500', async (_what, method, path, c, status) => {
  const res = await call(handler, method, path, { tenant: 'greenleaf', ...c });
  expect(res.status).toBe(status);
  expect(res.body).toEqual(expect.objectContaining({ error: expect.any(String) }));
  expect(res.headers['x-bulkhead-cell']).toBe('use1-a');
});

test('a request that did not come through the router (no tenant) is refused', async () => {
  const res = await call(handler, 'GET', '/inventory', {});
  expect(res.status).toBe(401);
});

test('orders list pages with a cursor, newest-last, and every order appears once', async () => {
  await stock('sativa-springs', 'flower', 100);
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const r = await call(handler, 'POST', '/orders', {
      tenant: 'sativa-springs',
      body: { items: [{ sku: 'flower', quantity: 1 }] },
    });
    ids.push(r.body.id);
  }
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await call(handler, 'GET', '/orders', {
      tenant: 'sativa-springs',
      query: { limit: '3', ...(cursor && { cursor }) },
    });
    expect(page.status).toBe(200);
    seen.push(...page.body.items.map((o: { id: string }) => o.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  expect(seen).toEqual(ids);
});

test('a version reads items a newer schema version wrote, and keeps attributes it does not know', async () => {
  await aws.ddbClient.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: {
        pk: { S: 'greenleaf' },
        sk: { S: 'INV#from-v2' },
        type: { S: 'inventory' },
        schemaVersion: { N: '2' },
        sku: { S: 'from-v2' },
        quantity: { N: '4' },
        updatedAt: { S: new Date().toISOString() },
        thcPercent: { N: '21.5' },
      },
    }),
  );
  const read = await call(handler, 'GET', '/inventory/from-v2', { tenant: 'greenleaf' });
  expect(read.body).toMatchObject({ sku: 'from-v2', quantity: 4 });
  await stock('greenleaf', 'from-v2', 9);
  const raw = await aws.ddbClient.send(
    new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'greenleaf' }, sk: { S: 'INV#from-v2' } } }),
  );
  expect(raw.Item?.thcPercent).toEqual({ N: '21.5' });
  expect(raw.Item?.schemaVersion).toEqual({ N: '2' });
});

test('GET /health reports the cell, its release and a reachable table', async () => {
  const res = await call(handler, 'GET', '/health');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ cell: 'use1-a', release: 'v-test', version: '$LATEST', table: 'reachable' });
  expect(res.headers['x-bulkhead-version']).toBe('v-test/$LATEST');
});

test('integration switch: off keeps work pending and the status says so', async () => {
  const off = await call(handler, 'PUT', '/integration', { tenant: 'greenleaf', body: { enabled: false } });
  expect(off.status).toBe(200);
  expect(off.body).toMatchObject({ enabled: false, configured: true, breaker: 'closed' });
  expect(off.body.pending).toBeGreaterThan(0);
  expect(off.body.status).toBe('orange');
  const on = await call(handler, 'PUT', '/integration', { tenant: 'greenleaf', body: { enabled: true } });
  expect(on.body.enabled).toBe(true);
  expect(
    (await call(handler, 'PUT', '/integration', { tenant: 'greenleaf', body: { enabled: 'yes' } })).status,
  ).toBe(400);
});

async function queueDepth(): Promise<number> {
  const out = await aws.sqsClient.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0);
}

test('the pre-traffic smoke test passes against the real API', async () => {
  const { smokeTest } = await import('../../../lib/domain/smoke-test');
  const result = await smokeTest(async (method, path, body) => {
    const res = await call(handler, method, path, { tenant: 'bulkhead-smoke', body });
    return { statusCode: res.status, body: res.body };
  });
  expect(result.steps.map((s) => s.step)).toEqual([
    'health',
    'set inventory',
    'read inventory',
    'create order',
    'read order',
  ]);
  expect(result.ok).toBe(true);
});

test('status turns red when the oldest pending order waited 20 minutes, even if the reconciler re-drove it since', async () => {
  const tenant = 'pacific-roots';
  const created = new Date(Date.now() - 25 * 60 * 1000).toISOString();
  await aws.ddbClient.send(
    new PutItemCommand({
      TableName: TABLE,
      Item: {
        pk: { S: tenant },
        sk: { S: 'ORDER#old1' },
        type: { S: 'order' },
        schemaVersion: { N: '1' },
        id: { S: 'old1' },
        items: { L: [] },
        totalCents: { N: '0' },
        syncStatus: { S: 'PENDING' },
        createdAt: { S: created },
        statusPk: { S: `${tenant}#PENDING` },
        pendingTenant: { S: tenant },
        // Re-driven a moment ago: this must not make the backlog look fresh.
        pendingSince: { S: new Date().toISOString() },
      },
    }),
  );
  const status = await call(handler, 'GET', '/integration/status', { tenant });
  expect(status.body).toMatchObject({
    status: 'red',
    pending: 1,
    oldestPendingSince: created,
    lastSuccessAt: null,
  });
});

test('DELETE /synthetic-data removes every item of the drill tenant, past one page, and refuses a real tenant', async () => {
  const DRILL = 'bulkhead-drill';
  // Over a page of 25 deletes, and orders whose idempotency records live in the same partition.
  for (let i = 0; i < 30; i++) await stock(DRILL, `drill-sku-${i}`, 5);
  for (let i = 0; i < 3; i++) {
    const order = await call(handler, 'POST', '/orders', {
      tenant: DRILL,
      headers: { 'idempotency-key': `drill-order-${i}` },
      body: { items: [{ sku: 'drill-sku-0', quantity: 1 }] },
    });
    expect(order.status).toBe(201);
  }
  await stock('greenleaf', 'kept-sku', 4);

  const refused = await call(handler, 'DELETE', '/synthetic-data', { tenant: 'greenleaf' });
  expect(refused).toMatchObject({ status: 403, body: { error: 'forbidden' } });
  expect((await call(handler, 'GET', '/inventory/kept-sku', { tenant: 'greenleaf' })).body.quantity).toBe(4);

  const removed = await call(handler, 'DELETE', '/synthetic-data', { tenant: DRILL });
  expect(removed.status).toBe(200);
  expect(removed.body.removed).toBeGreaterThanOrEqual(36);
  expect((await call(handler, 'GET', '/inventory?limit=100', { tenant: DRILL })).body.items).toEqual([]);
  expect((await call(handler, 'GET', '/orders?limit=100', { tenant: DRILL })).body.items).toEqual([]);
  expect((await call(handler, 'GET', '/inventory/kept-sku', { tenant: 'greenleaf' })).body.quantity).toBe(4);
  expect((await call(handler, 'DELETE', '/synthetic-data', { tenant: DRILL })).body).toEqual({ removed: 0 });
});
