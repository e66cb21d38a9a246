import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { call } from '../support/api-events';

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);

Object.assign(process.env, {
  CELL_ID: 'use1-a',
  RELEASE: 'v-test',
  TABLE_NAME: 'cell-table',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/111111111111/sync',
  INTEGRATIONS: JSON.stringify({
    greenleaf: { baseUrl: 'https://x.test', ratePerSecond: 5, burst: 1, apiKeySecret: 's' },
  }),
  CELL_SECRET: 'cell-secret-1',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
  AWS_REGION: 'us-east-1',
});

// eslint-disable-next-line @typescript-eslint/no-require-imports -- env above must be set before the module loads
const { handler } = require('../../lambdas/api/handler') as typeof import('../../lambdas/api/handler');

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

test('insufficient stock is a 409 naming the SKU, from the transaction’s cancellation reasons', async () => {
  ddb.on(TransactWriteCommand).rejects(
    new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    }),
  );
  const res = await call(handler, 'POST', '/orders', { tenant: 'greenleaf', body: order, headers: router });
  expect(res).toMatchObject({
    status: 409,
    body: { error: 'insufficient_stock', details: { sku: 'og-kush' } },
  });
});
