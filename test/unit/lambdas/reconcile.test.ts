import 'aws-sdk-client-mock-jest';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { integrationsFile } from '../../../harness/integrations-file';
import type { ReconcileResult } from '../../../lambdas/reconcile/reconciler';
import { keys } from '../../../lib/contracts/cell-items';

const TABLE = 'cell-table';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/sync';
const NOW = Date.parse('2024-04-20T16:20:00.000Z');
const integration = { baseUrl: 'https://api.example.test', ratePerSecond: 5, burst: 5, apiKeySecret: 'key' };

const doc = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
let reconcile: () => Promise<ReconcileResult>;

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    CELL_ID: 'cell-test',
    TABLE_NAME: TABLE,
    QUEUE_URL,
    INTEGRATIONS_FILE: integrationsFile({
      on: integration,
      off: integration,
      tripped: integration,
      cooled: integration,
    }),
    BREAKER_COOLDOWN_MS: '30000',
    RECONCILE_GRACE_SECONDS: '300',
    RECONCILE_BATCH: '12',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  const { handler } = await import('../../../lambdas/reconcile/handler');
  reconcile = () => handler();
});

beforeEach(() => {
  jest.spyOn(Date, 'now').mockReturnValue(NOW);
  doc.reset();
  sqs.reset();
  doc.onAnyCommand().resolves({});
  doc.on(GetCommand).resolves({});
  doc.on(GetCommand, { Key: keys.integration('off') }).resolves({ Item: { enabled: false } });
  doc.on(GetCommand, { Key: keys.breaker('tripped') }).resolves({
    Item: { state: 'open', failures: 5, openedAt: NOW - 10_000, version: 2 },
  });
  doc.on(GetCommand, { Key: keys.breaker('cooled') }).resolves({
    Item: { state: 'open', failures: 5, openedAt: NOW - 31_000, version: 2 },
  });
  // Every entry sent, unless a test says otherwise.
  sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({
      Id: e.Id,
      MessageId: `msg-${e.Id}`,
      MD5OfMessageBody: '',
    })),
    Failed: [],
  }));
});

afterEach(() => jest.restoreAllMocks());

/** An entry of the KEYS_ONLY `pending` index. */
const indexed = (tenantId: string, orderId: string) => ({
  ...keys.order(tenantId, orderId),
  pendingTenant: tenantId,
  pendingSince: new Date(NOW - 3600_000).toISOString(),
});

const sentMessages = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => JSON.parse(e.MessageBody ?? '') as unknown));
const touched = () =>
  doc.commandCalls(UpdateCommand).map((c) => (c.args[0].input.Key?.sk as string).replace('ORDER#', ''));

describe('reconciler', () => {
  it('re-enqueues overdue pending orders, ten per call, and moves their pendingSince to now', async () => {
    const orders = Array.from({ length: 11 }, (_, i) => indexed('on', `o-${i}`));
    doc
      .on(ScanCommand)
      .resolvesOnce({ Items: orders.slice(0, 6), LastEvaluatedKey: { pk: 'on', sk: 'ORDER#o-5' } })
      .resolvesOnce({ Items: orders.slice(6) });

    await expect(reconcile()).resolves.toEqual({
      scanned: 11,
      requeued: 11,
      skippedDisabled: 0,
      skippedBreakerOpen: 0,
      skippedDraining: 0,
      reconciled: expect.any(Object),
    });

    expect(doc).toHaveReceivedNthSpecificCommandWith(1, ScanCommand, {
      TableName: TABLE,
      IndexName: 'pending',
      FilterExpression: '#since < :cutoff',
      ExpressionAttributeNames: { '#since': 'pendingSince' },
      ExpressionAttributeValues: { ':cutoff': '2024-04-20T16:15:00.000Z' },
    });
    expect(doc).toHaveReceivedNthSpecificCommandWith(2, ScanCommand, {
      ExclusiveStartKey: { pk: 'on', sk: 'ORDER#o-5' },
    });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
    expect(sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      10, 1,
    ]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
    expect(sentMessages()).toEqual(
      orders.map((_, i) => ({ schemaVersion: 1, tenantId: 'on', orderId: `o-${i}` })),
    );
    expect(doc).toHaveReceivedCommandTimes(UpdateCommand, 11);
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: keys.order('on', 'o-0'),
      UpdateExpression: 'SET #since = :since',
      ConditionExpression: 'syncStatus = :pending',
      ExpressionAttributeNames: { '#since': 'pendingSince' },
      ExpressionAttributeValues: { ':since': '2024-04-20T16:20:00.000Z', ':pending': 'PENDING' },
    });
  });

  it('stops at the batch size and reads no further page', async () => {
    doc.on(ScanCommand).resolvesOnce({
      Items: Array.from({ length: 15 }, (_, i) => indexed('on', `o-${i}`)),
      LastEvaluatedKey: { pk: 'on', sk: 'ORDER#o-14' },
    });

    await expect(reconcile()).resolves.toMatchObject({ scanned: 12, requeued: 12 });

    expect(doc).toHaveReceivedCommandTimes(ScanCommand, 1);
    expect(sentMessages()).toHaveLength(12);
  });

  it('skips tenants switched off or whose breaker is cooling down, without counting them towards the batch', async () => {
    doc.on(ScanCommand).resolvesOnce({
      Items: [
        ...Array.from({ length: 20 }, (_, i) => indexed('off', `off-${i}`)),
        indexed('tripped', 't-1'),
        indexed('tripped', 't-2'),
        indexed('cooled', 'c-1'),
        indexed('on', 'o-1'),
        indexed('no-integration', 'n-1'),
      ],
    });

    await expect(reconcile()).resolves.toEqual({
      scanned: 25,
      requeued: 3,
      skippedDisabled: 20,
      skippedBreakerOpen: 2,
      skippedDraining: 0,
      reconciled: expect.any(Object),
    });

    expect(touched().sort()).toEqual(['c-1', 'n-1', 'o-1']);
    // Once per tenant per run (by the re-drive, then by the reconciliation against the state system), not once per order.
    expect(doc).toHaveReceivedCommandWith(GetCommand, { Key: keys.integration('off') });
    expect(
      doc
        .commandCalls(GetCommand)
        .filter(
          (c) => c.args[0].input.Key?.pk === 'off' && c.args[0].input.Key.sk === 'INTEGRATION#SETTINGS',
        ),
    ).toHaveLength(2);
  });

  it('leaves an order SQS refused to take with its old pendingSince, for the next run', async () => {
    doc
      .on(ScanCommand)
      .resolvesOnce({ Items: [indexed('on', 'o-1'), indexed('on', 'o-2'), indexed('on', 'o-3')] });
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: '0', MessageId: 'a', MD5OfMessageBody: '' },
        { Id: '2', MessageId: 'c', MD5OfMessageBody: '' },
      ],
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });

    await expect(reconcile()).resolves.toMatchObject({ scanned: 3, requeued: 2 });

    expect(touched().sort()).toEqual(['o-1', 'o-3']);
  });

  it('does not put an order that settled meanwhile back into the pending index', async () => {
    doc.on(ScanCommand).resolvesOnce({ Items: [indexed('on', 'o-1'), indexed('on', 'o-2')] });
    doc
      .on(UpdateCommand, { Key: keys.order('on', 'o-1') })
      .rejects(new ConditionalCheckFailedException({ message: 'not pending', $metadata: {} }));

    await expect(reconcile()).resolves.toMatchObject({ requeued: 2 });

    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.order('on', 'o-2'),
      ConditionExpression: 'syncStatus = :pending',
    });
  });

  it('sends nothing when no order is overdue', async () => {
    doc.on(ScanCommand).resolvesOnce({ Items: [] });

    await expect(reconcile()).resolves.toEqual({
      scanned: 0,
      requeued: 0,
      skippedDisabled: 0,
      skippedBreakerOpen: 0,
      skippedDraining: 0,
      reconciled: expect.any(Object),
    });

    expect(sqs).not.toHaveReceivedAnyCommand();
    expect(doc).not.toHaveReceivedCommand(UpdateCommand);
  });
});
