import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { call } from '../../../harness/api-events';
import { integrationsFile } from '../../../harness/integrations-file';
import { generateApiKey, hashApiKey } from '../../../lib/domain/api-keys';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);

Object.assign(process.env, {
  CELL_ID: 'use1-a',
  RELEASE: 'v-test',
  TABLE_NAME: 'cell-table',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111111111111/sync',
  INTEGRATIONS_FILE: integrationsFile({
    greenleaf: { baseUrl: 'https://x.test', ratePerSecond: 5, burst: 1, apiKeySecret: 's' },
  }),
  CELL_SECRET: 'cell-secret-1',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_REGION: 'us-east-1',
});

// eslint-disable-next-line @typescript-eslint/no-require-imports -- env above must be set before the module loads
const { handler } = require('../../../lambdas/api/handler') as typeof import('../../../lambdas/api/handler');

const router = { 'x-bulkhead-cell-secret': 'cell-secret-1' };
const order = { items: [{ sku: 'og-kush', quantity: 1 }] };

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  ddb.on(GetCommand).resolves({ Item: { pk: 'greenleaf', sk: 'INV#og-kush', priceCents: 1200 } });
});

test('a request without the router’s cell secret is refused before any data access', async () => {
  const res = await call(handler, 'GET', '/inventory/og-kush', {
    tenant: 'greenleaf',
    headers: { 'x-bulkhead-cell-secret': 'guess' },
  });
  expect(res.status).toBe(403);
  expect(ddb.calls()).toHaveLength(0);
});

test('conflicting transactions are retried until the order goes through', async () => {
  const conflict = new TransactionCanceledException({
    message: 'conflict',
    $metadata: {},
    CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
  });
  ddb.on(TransactWriteCommand).rejectsOnce(conflict).rejectsOnce(conflict).resolves({});
  sqs.on(SendMessageCommand).resolves({});
  const res = await call(handler, 'POST', '/orders', { tenant: 'greenleaf', body: order, headers: router });
  expect(res.status).toBe(201);
  expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
  const sent = JSON.parse(sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody!);
  expect(sent).toEqual({ schemaVersion: 1, tenantId: 'greenleaf', orderId: res.body.id });
});

test('the transaction decrements stock with a condition, writes the order PENDING with the tenant as partition key', async () => {
  ddb.on(TransactWriteCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({});
  await call(handler, 'POST', '/orders', { tenant: 'greenleaf', body: order, headers: router });
  const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
  expect(items[0].Put!.Item).toMatchObject({
    pk: 'greenleaf',
    syncStatus: 'PENDING',
    statusPk: 'greenleaf#PENDING',
    pendingTenant: 'greenleaf',
  });
  expect(items[1].Update).toMatchObject({
    Key: { pk: 'greenleaf', sk: 'INV#og-kush' },
    ConditionExpression: 'attribute_exists(pk) AND quantity >= :q',
    ExpressionAttributeValues: expect.objectContaining({ ':q': 1 }),
  });
});

test('a failed enqueue still accepts the order: it stays PENDING for the reconciler', async () => {
  ddb.on(TransactWriteCommand).resolves({});
  sqs.on(SendMessageCommand).rejects(new Error('queue unavailable'));
  const res = await call(handler, 'POST', '/orders', { tenant: 'greenleaf', body: order, headers: router });
  expect(res.status).toBe(201);
  expect(res.body.syncStatus).toBe('PENDING');
});

test('a database failure answers a JSON 500 that says nothing was applied, and nothing is enqueued', async () => {
  ddb.on(TransactWriteCommand).rejects(new Error('InternalServerError'));
  const res = await call(handler, 'POST', '/orders', { tenant: 'greenleaf', body: order, headers: router });
  expect(res.status).toBe(500);
  expect(res.body.error).toBe('internal');
  expect(sqs.calls()).toHaveLength(0);
});

test('insufficient stock is a 409 naming the SKU and the stock found, from the transaction’s cancellation reasons', async () => {
  ddb.on(TransactWriteCommand).rejects(
    new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      CancellationReasons: [
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed', Item: { quantity: { N: '0' } } },
      ],
    }),
  );
  const res = await call(handler, 'POST', '/orders', { tenant: 'greenleaf', body: order, headers: router });
  expect(res).toEqual(
    expect.objectContaining({
      status: 409,
      body: {
        error: 'insufficient_stock',
        details: { sku: 'og-kush', requested: 1, available: 0, reason: 'low_stock' },
      },
    }),
  );
});

test('an unknown SKU is the same 409, in the same shape, and no transaction is tried', async () => {
  ddb.on(GetCommand).resolves({});
  const res = await call(handler, 'POST', '/orders', {
    tenant: 'greenleaf',
    body: { items: [{ sku: 'no-such-sku', quantity: 2 }] },
    headers: router,
  });
  expect(res).toEqual(
    expect.objectContaining({
      status: 409,
      body: {
        error: 'insufficient_stock',
        details: { sku: 'no-such-sku', requested: 2, available: 0, reason: 'unknown_sku' },
      },
    }),
  );
  expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
});

describe('fail static: a key hash from a cold router is verified against the cell’s copy', () => {
  const key = generateApiKey('greenleaf');
  const tenantItem = { pk: 'greenleaf', sk: 'TENANT', keyHash: hashApiKey(key), schemaVersion: 1 };
  /** What a cold router sends: no trusted tenant, the claimed one and the hash of the presented key. */
  const cold = (presented: string, tenant = 'greenleaf') => ({
    ...router,
    'x-bulkhead-claimed-tenant': tenant,
    'x-bulkhead-key-hash': hashApiKey(presented),
  });
  const tenantGets = () => ddb.commandCalls(GetCommand).filter((c) => c.args[0].input.Key?.sk === 'TENANT');

  const stock = {
    pk: 'greenleaf',
    sk: 'INV#og-kush',
    schemaVersion: 1,
    sku: 'og-kush',
    quantity: 7,
    updatedAt: 't',
  };

  beforeEach(() => {
    ddb.on(GetCommand, { Key: { pk: 'greenleaf', sk: 'TENANT' } }).resolves({ Item: tenantItem });
    ddb.on(GetCommand, { Key: { pk: 'greenleaf', sk: 'INV#og-kush' } }).resolves({ Item: stock });
  });

  test('the right key’s hash: served as the claimed tenant, after one strongly consistent read of its copy', async () => {
    const res = await call(handler, 'GET', '/inventory/og-kush', { headers: cold(key) });
    expect([res.status, res.body.quantity]).toEqual([200, 7]);
    expect(tenantGets().map((c) => c.args[0].input)).toEqual([
      { TableName: 'cell-table', Key: { pk: 'greenleaf', sk: 'TENANT' }, ConsistentRead: true },
    ]);
    expect(ddb.commandCalls(GetCommand)[1].args[0].input.Key).toEqual({ pk: 'greenleaf', sk: 'INV#og-kush' });
  });

  test('a write with the right key goes through as the claimed tenant', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({});
    const res = await call(handler, 'POST', '/orders', { body: order, headers: cold(key) });
    expect(res.status).toBe(201);
    const items = ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems!;
    expect(items[0].Put!.Item).toMatchObject({ pk: 'greenleaf' });
  });

  test('a wrong key, a tenant without a copy here, and a malformed hash all get the same 401, and touch nothing else', async () => {
    ddb.on(GetCommand, { Key: { pk: 'nobody', sk: 'TENANT' } }).resolves({});
    const wrong = await call(handler, 'POST', '/orders', {
      body: order,
      headers: cold(generateApiKey('greenleaf')),
    });
    const unknown = await call(handler, 'POST', '/orders', {
      body: order,
      headers: cold(generateApiKey('nobody'), 'nobody'),
    });
    const malformed = await call(handler, 'GET', '/inventory/og-kush', {
      headers: { ...cold(key), 'x-bulkhead-key-hash': 'abc' },
    });
    for (const res of [wrong, unknown, malformed]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'unauthenticated' });
      expect(res.headers).toEqual(wrong.headers);
    }
    expect(
      ddb.calls().every((c) => (c.args[0].input as { Key?: { sk?: string } }).Key?.sk === 'TENANT'),
    ).toBe(true);
    expect(sqs.calls()).toHaveLength(0);
  });

  test('the hash decides, not any trusted-tenant header sent along', async () => {
    const res = await call(handler, 'GET', '/inventory/og-kush', {
      tenant: 'someone-else',
      headers: cold(generateApiKey('greenleaf')),
    });
    expect(res.status).toBe(401);
    const ok = await call(handler, 'GET', '/inventory/og-kush', {
      tenant: 'someone-else',
      headers: cold(key),
    });
    expect(ok.status).toBe(200);
    expect(ddb.commandCalls(GetCommand).at(-1)!.args[0].input.Key).toEqual({
      pk: 'greenleaf',
      sk: 'INV#og-kush',
    });
  });

  test('a malformed claimed tenant is refused; without the router’s secret it is 403 before any data access', async () => {
    const bad = await call(handler, 'GET', '/inventory/og-kush', { headers: cold(key, 'Not_A_Tenant') });
    expect([bad.status, bad.body]).toEqual([401, { error: 'unauthenticated' }]);
    const forged = await call(handler, 'GET', '/inventory/og-kush', {
      headers: { ...cold(key), 'x-bulkhead-cell-secret': 'guess' },
    });
    expect(forged.status).toBe(403);
    expect(ddb.calls()).toHaveLength(0);
  });

  test('a tenant being moved away (its copy marked frozen) may read but not write', async () => {
    ddb
      .on(GetCommand, { Key: { pk: 'greenleaf', sk: 'TENANT' } })
      .resolves({ Item: { ...tenantItem, frozen: true } });
    const write = await call(handler, 'POST', '/orders', { body: order, headers: cold(key) });
    expect([write.status, write.body, write.headers['retry-after']]).toEqual([
      503,
      { error: 'tenant_frozen' },
      '5',
    ]);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect((await call(handler, 'GET', '/inventory/og-kush', { headers: cold(key) })).status).toBe(200);
  });

  test('without the hash header the router’s tenant header is trusted: its copy is read only for the move record', async () => {
    const res = await call(handler, 'GET', '/inventory/og-kush', {
      tenant: 'greenleaf',
      headers: { ...router, 'x-bulkhead-claimed-tenant': 'someone-else' },
    });
    expect(res.status).toBe(200);
    expect(tenantGets().map((c) => c.args[0].input.Key)).toEqual([{ pk: 'greenleaf', sk: 'TENANT' }]);
    // A claimed tenant alone is no tenant at all.
    const claimOnly = await call(handler, 'GET', '/inventory/og-kush', {
      headers: { ...router, 'x-bulkhead-claimed-tenant': 'greenleaf' },
    });
    expect(claimOnly.status).toBe(401);
  });
});

test('a database that does not answer gives 503 with Retry-After, not a 500', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });
  ddb.on(GetCommand).rejects(refused);
  const res = await call(handler, 'GET', '/inventory/og-kush', { tenant: 'greenleaf', headers: router });
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe('1');
  expect(res.body.error).toBe('unavailable');
});

test('a tenant being moved away may read but not write here, whatever route the router has cached', async () => {
  ddb.on(GetCommand, { Key: { pk: 'greenleaf', sk: 'TENANT' } }).resolves({
    Item: { pk: 'greenleaf', sk: 'TENANT', schemaVersion: 1, keyHash: 'a'.repeat(64), frozen: true },
  });
  const write = await call(handler, 'PUT', '/inventory/og-kush', {
    tenant: 'greenleaf',
    body: { quantity: 1 },
    headers: router,
  });
  expect(write).toMatchObject({ status: 503, body: { error: 'tenant_frozen' } });
  expect(write.headers['retry-after']).toBe('5');
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  ddb.on(GetCommand, { Key: { pk: 'greenleaf', sk: 'INV#og-kush' } }).resolves({
    Item: {
      pk: 'greenleaf',
      sk: 'INV#og-kush',
      schemaVersion: 1,
      sku: 'og-kush',
      quantity: 3,
      updatedAt: 'x',
    },
  });
  const read = await call(handler, 'GET', '/inventory/og-kush', { tenant: 'greenleaf', headers: router });
  expect(read.status).toBe(200);
});

test('a tenant that has left the cell gets 421 tenant_moved naming its new cell, for reads and writes, and nothing is applied', async () => {
  ddb.on(GetCommand, { Key: { pk: 'greenleaf', sk: 'TENANT' } }).resolves({
    Item: { pk: 'greenleaf', sk: 'TENANT', schemaVersion: 1, keyHash: 'a'.repeat(64), movedTo: 'use1-b' },
  });
  const write = await call(handler, 'PUT', '/inventory/og-kush', {
    tenant: 'greenleaf',
    body: { quantity: 1 },
    headers: router,
  });
  const read = await call(handler, 'GET', '/inventory/og-kush', { tenant: 'greenleaf', headers: router });
  for (const res of [write, read]) {
    expect(res).toMatchObject({ status: 421, body: { error: 'tenant_moved', details: { to: 'use1-b' } } });
    expect(res.headers['x-bulkhead-moved-to']).toBe('use1-b');
  }
  expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  expect(ddb.commandCalls(GetCommand).every((c) => c.args[0].input.Key?.sk === 'TENANT')).toBe(true);
});
