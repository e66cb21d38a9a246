import 'aws-sdk-client-mock-jest';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { pendingOrder, syncMessage } from '../../../harness/orders';
import { lambdaContext, sqsRecord } from '../../../harness/sqs-driver';
import { keys } from '../../../lib/contracts/cell-items';
import { ComplianceSimulator } from '../../../lib/local/compliance/compliance-simulator';

const TENANT = 'tenant-a';
/** Configured with an integration but no API key in the environment. */
const NO_KEY_TENANT = 'tenant-b';
const TABLE = 'cell-table';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/sync-dlq';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/sync';

const ddb = mockClient(DynamoDBClient);
const doc = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const simulator = new ComplianceSimulator({ apiKeys: { [TENANT]: 'key-a' } });
let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  const baseUrl = await simulator.start();
  const integration = { baseUrl, ratePerSecond: 100, burst: 10, apiKeySecret: 'bulkhead/compliance' };
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    CELL_ID: 'cell-test',
    TABLE_NAME: TABLE,
    QUEUE_URL,
    DLQ_URL,
    INTEGRATIONS: JSON.stringify({ [TENANT]: integration, [NO_KEY_TENANT]: integration }),
    COMPLIANCE_API_KEY_TENANT_A: 'key-a',
    BREAKER_FAILURES: '3',
    BREAKER_COOLDOWN_MS: '30000',
    // Long enough for a healthy answer on a loaded machine; the timeout case waits it out once.
    COMPLIANCE_TIMEOUT_MS: '2000',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const sync = await import('../../../lambdas/sync/handler');
  handler = (event) => sync.handler(event, lambdaContext('sync-worker'));
});

afterAll(() => simulator.stop());

interface State {
  orders?: ReturnType<typeof pendingOrder>[];
  settings?: Record<string, unknown>;
  breaker?: Record<string, unknown>;
}

/** The table as the worker will find it; any write succeeds. */
function given({ orders = [], settings, breaker }: State): void {
  ddb.reset();
  doc.reset();
  sqs.reset();
  doc.onAnyCommand().resolves({});
  doc.on(GetCommand).resolves({});
  for (const order of orders) {
    doc.on(GetCommand, { Key: { pk: order.pk, sk: order.sk } }).resolves({ Item: order });
  }
  doc.on(GetCommand, { Key: keys.integration(TENANT) }).resolves({ Item: settings });
  doc.on(GetCommand, { Key: keys.breaker(TENANT) }).resolves({ Item: breaker });
  simulator.setFault('none');
  simulator.reset();
}

const event = (...bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => sqsRecord(body, { messageId: `m${i + 1}` })),
});

const orderUpdates = () =>
  doc.commandCalls(UpdateCommand).filter((c) => c.args[0].input.Key?.sk?.toString().startsWith('ORDER#'));
const breakerWrites = () =>
  [...doc.commandCalls(PutCommand), ...doc.commandCalls(UpdateCommand)].filter(
    (c) =>
      c.args[0].input.TableName === TABLE && JSON.stringify(c.args[0].input).includes('INTEGRATION#BREAKER'),
  );

describe('sync worker', () => {
  it('reports a pending sale once and marks the order SYNCED', async () => {
    const order = pendingOrder(TENANT, 'o-1', { createdAt: '2024-04-20T16:20:00.000Z' });
    given({ orders: [order] });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    const [receipt] = simulator.receipts(TENANT);
    expect(simulator.receipts()).toHaveLength(1);
    expect(receipt).toMatchObject({
      idempotencyKey: 'tenant-a:o-1',
      body: {
        externalId: 'o-1',
        salesDateTime: '2024-04-20T16:20:00.000Z',
        items: [{ sku: 'PRE-ROLL-1G', quantity: 2, unitPriceCents: 1200 }],
        totalCents: 2400,
      },
    });
    expect(orderUpdates()).toHaveLength(1);
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: TABLE,
      Key: keys.order(TENANT, 'o-1'),
      UpdateExpression:
        'SET syncStatus = :syncStatus, statusPk = :statusPk, syncedAt = :syncedAt, complianceId = :complianceId ' +
        'REMOVE pendingTenant, pendingSince',
      ConditionExpression: 'syncStatus = :pending',
      ExpressionAttributeValues: {
        ':syncStatus': 'SYNCED',
        ':statusPk': 'tenant-a#SYNCED',
        ':syncedAt': expect.any(String),
        ':complianceId': receipt?.id,
        ':pending': 'PENDING',
      },
    });
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.integration(TENANT),
      UpdateExpression: expect.stringContaining('SET lastSuccessAt = :at'),
    });
    // The delivery held a lock in the tenant's partition while posting, and completed it.
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: TABLE,
      Item: expect.objectContaining({ pk: { S: TENANT }, sk: { S: expect.stringMatching(/^SYNC#/) } }),
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ':status': { S: 'COMPLETED' } }),
    });
    expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
    // A closed breaker with no failures has nothing to record; nothing goes to the DLQ.
    expect(breakerWrites()).toHaveLength(0);
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it('takes a token from the shared bucket before calling, with a conditional write', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1')] });
    // Stamped ahead of this clock (another worker's), so no refill blurs the count.
    doc.on(GetCommand, { Key: keys.bucket(TENANT) }).resolves({
      Item: { ...keys.bucket(TENANT), tokens: 5, updatedAt: Date.now() + 60_000, version: 41 },
    });

    await handler(event(syncMessage(TENANT, 'o-1')));

    expect(doc).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ ...keys.bucket(TENANT), version: 42 }),
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':version': 41 },
    });
    const [put] = doc
      .commandCalls(PutCommand)
      .filter((c) => c.args[0].input.Item?.sk === 'INTEGRATION#BUCKET');
    expect(put?.args[0].input.Item?.tokens).toBe(4);
  });

  it('rejects a sale the compliance API refuses: DLQ with the reason, order REJECTED, rest of the batch synced', async () => {
    given({ orders: [pendingOrder(TENANT, 'bad', { quantity: 0 }), pendingOrder(TENANT, 'good')] });

    const response = await handler(event(syncMessage(TENANT, 'bad'), syncMessage(TENANT, 'good')));

    expect(response).toEqual({ batchItemFailures: [] });
    const reason = expect.stringMatching(/^400 invalid: .*items\.0\.quantity/);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ_URL,
      MessageBody: syncMessage(TENANT, 'bad'),
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
    });
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.order(TENANT, 'bad'),
      ConditionExpression: 'syncStatus = :pending',
      ExpressionAttributeValues: expect.objectContaining({
        ':syncStatus': 'REJECTED',
        ':statusPk': 'tenant-a#REJECTED',
        ':rejectReason': reason,
      }),
    });
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.order(TENANT, 'good'),
      ExpressionAttributeValues: expect.objectContaining({ ':syncStatus': 'SYNCED' }),
    });
    expect(simulator.counters()).toMatchObject({ accepted: 1, rejected: 1 });
    // The lock of the rejected delivery was released, not completed.
    expect(ddb).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
  });

  it.each([
    ['a 500', 'error500' as const, /^compliance API answered 500/],
    ['a connection reset', 'down' as const, /ECONNRESET/],
    ['a timeout', 'timeout' as const, /^timed out/],
  ])(
    'on %s: the record fails for SQS to retry soon, and the breaker and lastError record it',
    async (_, fault, error) => {
      given({ orders: [pendingOrder(TENANT, 'o-1')] });
      simulator.setFault(fault);

      await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({
        batchItemFailures: [{ itemIdentifier: 'm1' }],
      });

      expect(doc).toHaveReceivedCommandWith(PutCommand, {
        Item: {
          ...keys.breaker(TENANT),
          type: 'breaker',
          schemaVersion: 1,
          state: 'closed',
          failures: 1,
          version: 1,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
        Key: keys.integration(TENANT),
        ExpressionAttributeValues: expect.objectContaining({ ':message': expect.stringMatching(error) }),
      });
      expect(orderUpdates()).toHaveLength(0);
      // First failure: back in 1-2 s, not after the queue's 3-minute visibility timeout.
      expect(sqs).toHaveReceivedCommandTimes(ChangeMessageVisibilityCommand, 1);
      const retry = sqs.commandCalls(ChangeMessageVisibilityCommand)[0].args[0].input;
      expect(retry).toMatchObject({ QueueUrl: QUEUE_URL, ReceiptHandle: 'handle-m1' });
      expect(retry.VisibilityTimeout).toBeGreaterThanOrEqual(1);
      expect(retry.VisibilityTimeout).toBeLessThanOrEqual(2);
      expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
      expect(ddb).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
    },
  );

  it('opens the breaker on the failure that reaches the threshold, leaving the order to the reconciler', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: { ...keys.breaker(TENANT), state: 'closed', failures: 2, version: 7 },
    });
    simulator.setFault('error500');

    // No SQS retry: it would only meet the open breaker, again and again, until the message dead-lettered.
    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(doc).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ state: 'open', failures: 3, openedAt: expect.any(Number), version: 8 }),
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':version': 7 },
    });
    expect(orderUpdates()).toHaveLength(0);
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it('treats 429 as "slow down": retried after Retry-After, neither a rejection nor a breaker failure', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1'), pendingOrder(TENANT, 'o-2')] });
    simulator.setRateLimit(0.01, 1);
    try {
      const response = await handler(event(syncMessage(TENANT, 'o-1'), syncMessage(TENANT, 'o-2')));
      expect(response.batchItemFailures).toHaveLength(1);
    } finally {
      simulator.setRateLimit(undefined);
    }
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
    expect(sqs).toHaveReceivedCommandTimes(ChangeMessageVisibilityCommand, 1);
    // The simulator asks for Retry-After ≥ 1 s; the retry waits at least that long.
    expect(
      sqs.commandCalls(ChangeMessageVisibilityCommand)[0].args[0].input.VisibilityTimeout,
    ).toBeGreaterThanOrEqual(1);
    expect(orderUpdates()).toHaveLength(1);
    expect(doc).not.toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ type: 'breaker' }),
    });
  });

  it('makes no call while the breaker is open: the order stays PENDING and the message is done', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: { ...keys.breaker(TENANT), state: 'open', failures: 5, openedAt: Date.now(), version: 3 },
    });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().received).toBe(0);
    expect(doc).not.toHaveReceivedCommand(PutCommand);
    expect(doc).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedAnyCommand();
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it('makes no call when the breaker opened while it waited for a token', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1')] });
    // Empty, and stamped ahead of this clock (another worker's), so no token comes before the second look.
    doc.on(GetCommand, { Key: keys.bucket(TENANT) }).resolves({
      Item: { ...keys.bucket(TENANT), tokens: 0, updatedAt: Date.now() + 60_000, version: 9 },
    });
    doc
      .on(GetCommand, { Key: keys.breaker(TENANT) })
      .resolvesOnce({})
      .resolves({ Item: { state: 'open', failures: 3, openedAt: Date.now(), version: 1 } });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().received).toBe(0);
    expect(orderUpdates()).toHaveLength(0);
    // The delivery lock is released for whoever tries next.
    expect(ddb).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
  });

  it('sends one probe after the cool-down and closes the breaker when it succeeds', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: {
        ...keys.breaker(TENANT),
        state: 'open',
        failures: 5,
        openedAt: Date.now() - 31_000,
        version: 3,
      },
    });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(doc).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ state: 'half-open', probeStartedAt: expect.any(Number), version: 4 }),
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':version': 3 },
    });
    expect(simulator.counters().accepted).toBe(1);
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.breaker(TENANT),
      ExpressionAttributeValues: expect.objectContaining({ ':closed': 'closed', ':zero': 0 }),
    });
  });

  it('leaves the probe to the worker that won it: a lost race makes no call', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: {
        ...keys.breaker(TENANT),
        state: 'open',
        failures: 5,
        openedAt: Date.now() - 31_000,
        version: 3,
      },
    });
    doc
      .on(PutCommand, { Item: { sk: 'INTEGRATION#BREAKER' } })
      .rejects(new ConditionalCheckFailedException({ message: 'version changed', $metadata: {} }));

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().received).toBe(0);
    expect(orderUpdates()).toHaveLength(0);
  });

  it('makes no call while the tenant has switched the integration off', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      settings: { ...keys.integration(TENANT), enabled: false },
    });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().received).toBe(0);
    expect(doc).not.toHaveReceivedCommand(UpdateCommand);
    expect(doc).not.toHaveReceivedCommand(PutCommand);
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it.each([
    ['not JSON', 'order o-1 please', 'malformed sync message: body is not JSON'],
    ['missing fields', '{"tenantId":"tenant-a"}', expect.stringContaining('orderId')],
    [
      'a schema version from the future',
      '{"schemaVersion":9,"tenantId":"t","orderId":"o"}',
      expect.stringContaining('schemaVersion'),
    ],
  ])(
    'sends a malformed message (%s) to the DLQ with the reason, without retrying it',
    async (_, body, reason) => {
      given({});

      await expect(handler(event(body))).resolves.toEqual({ batchItemFailures: [] });

      expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
      expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
        QueueUrl: DLQ_URL,
        MessageBody: body,
        MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
      });
      expect(doc).not.toHaveReceivedAnyCommand();
    },
  );

  it('does nothing for an order already settled or no longer there', async () => {
    given({ orders: [{ ...pendingOrder(TENANT, 'done'), syncStatus: 'SYNCED' }] });

    await expect(handler(event(syncMessage(TENANT, 'done'), syncMessage(TENANT, 'gone')))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(simulator.counters().received).toBe(0);
    expect(doc).not.toHaveReceivedCommand(UpdateCommand);
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it('marks the order NOT_REQUIRED when its tenant has no compliance integration', async () => {
    given({ orders: [pendingOrder('tenant-z', 'o-1')] });

    await expect(handler(event(syncMessage('tenant-z', 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.order('tenant-z', 'o-1'),
      ConditionExpression: 'syncStatus = :pending',
      ExpressionAttributeValues: {
        ':syncStatus': 'NOT_REQUIRED',
        ':statusPk': 'tenant-z#NOT_REQUIRED',
        ':pending': 'PENDING',
      },
    });
    expect(simulator.counters().received).toBe(0);
  });

  it('retries later, without blaming the compliance API, when no API key is available', async () => {
    given({ orders: [pendingOrder(NO_KEY_TENANT, 'o-1')] });

    await expect(handler(event(syncMessage(NO_KEY_TENANT, 'o-1')))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });

    expect(simulator.counters().received).toBe(0);
    expect(breakerWrites()).toHaveLength(0);
  });

  it('is a no-op when another worker already settled the order between read and write', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1')] });
    doc
      .on(UpdateCommand, { Key: keys.order(TENANT, 'o-1') })
      .rejects(new ConditionalCheckFailedException({ message: 'not pending', $metadata: {} }));

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });
  });
});
