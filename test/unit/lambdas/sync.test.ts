import 'aws-sdk-client-mock-jest';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { integrationsFile } from '../../../harness/integrations-file';
import { pendingOrder, syncMessage } from '../../../harness/orders';
import { lambdaContext, sqsRecord } from '../../../harness/sqs-driver';
import { keys } from '../../../lib/contracts/cell-items';
import { metrcAuthorization } from '../../../lib/contracts/metrc';
import { receiptOf } from '../../../lib/domain/compliance/receipt';
import { ComplianceSimulator } from '../../../lib/local/compliance/compliance-simulator';

const TENANT = 'tenant-a';
/** Configured with an integration but no API key in the environment. */
const NO_KEY_TENANT = 'tenant-b';
const TABLE = 'cell-table';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/sync-dlq';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/000000000000/sync';

const doc = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const VENDOR_KEY = 'vendor-key';
const USER_KEY = 'user-key-a';
const simulator = new ComplianceSimulator({
  vendorKeys: [VENDOR_KEY],
  facilities: { [TENANT]: { userKey: USER_KEY }, [NO_KEY_TENANT]: { userKey: 'never-given' } },
});
/** How long after an unknown outcome a lookup may trust "not there" (LOOKUP_SETTLE_MS). */
const SETTLE_MS = 3000;
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
    INTEGRATIONS_FILE: integrationsFile({ [TENANT]: integration, [NO_KEY_TENANT]: integration }),
    COMPLIANCE_VENDOR_KEY: VENDOR_KEY,
    COMPLIANCE_USER_KEY_TENANT_A: USER_KEY,
    BREAKER_FAILURES: '3',
    BREAKER_COOLDOWN_MS: '30000',
    // Long enough for a healthy answer on a loaded machine; the timeout case waits it out once.
    COMPLIANCE_TIMEOUT_MS: '2000',
    LOOKUP_SETTLE_MS: String(SETTLE_MS),
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const sync = await import('../../../lambdas/sync/handler');
  handler = (event) => sync.handler(event, lambdaContext('sync-worker'));
});

afterAll(() => simulator.stop());

interface State {
  orders?: (ReturnType<typeof pendingOrder> & { attemptedAt?: number; claimUntil?: number })[];
  settings?: Record<string, unknown>;
  breaker?: Record<string, unknown>;
}

/** The table as the worker will find it; any write succeeds. */
function given({ orders = [], settings, breaker }: State): void {
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

/** The order ids a drain enqueued, in order. */
const drainedOrderIds = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => (JSON.parse(e.MessageBody!) as { orderId: string }).orderId);
const orderUpdates = () =>
  doc.commandCalls(UpdateCommand).filter((c) => c.args[0].input.Key?.sk?.toString().startsWith('ORDER#'));
const breakerWrites = () =>
  [...doc.commandCalls(PutCommand), ...doc.commandCalls(UpdateCommand)].filter(
    (c) =>
      c.args[0].input.TableName === TABLE && JSON.stringify(c.args[0].input).includes('INTEGRATION#BREAKER'),
  );

/** The order writes that settle an order (SYNCED, REJECTED, NOT_REQUIRED), as `[orderKey, status, values]`. */
const settles = () =>
  orderUpdates()
    .map((c) => c.args[0].input)
    .filter((input) => input.ExpressionAttributeValues?.[':syncStatus'] !== undefined);
const claims = () =>
  orderUpdates().filter((c) => c.args[0].input.UpdateExpression?.startsWith('SET attemptId'));
const releases = () =>
  orderUpdates().filter((c) => c.args[0].input.ConditionExpression?.includes('attemptId = :id'));
const visibility = () => sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);

describe('sync worker', () => {
  it('reports a pending sale once, its order id as the external number, and marks it SYNCED with the state id', async () => {
    const order = pendingOrder(TENANT, 'o-1', { createdAt: '2024-04-20T16:20:00.000Z' });
    given({ orders: [order] });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    const receipts = simulator.receipts(TENANT);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({
      ExternalReceiptNumber: 'o-1',
      SalesDateTime: '2024-04-20T16:20:00.000',
      SalesCustomerType: 'Consumer',
      Transactions: [{ PackageLabel: 'PRE-ROLL-1G', Quantity: 2, UnitOfMeasure: 'Each', TotalAmount: 24 }],
      TotalPrice: 24,
    });
    // Claimed before the call (the attempt is on the order), then settled.
    expect(claims()).toHaveLength(1);
    expect(settles()).toEqual([
      expect.objectContaining({
        Key: keys.order(TENANT, 'o-1'),
        ConditionExpression: 'syncStatus = :pending',
        ExpressionAttributeValues: expect.objectContaining({
          ':syncStatus': 'SYNCED',
          ':statusPk': 'tenant-a#SYNCED',
          ':complianceId': String(receipts[0].Id),
        }),
      }),
    ]);
    expect(settles()[0].UpdateExpression).toMatch(/REMOVE .*attemptedAt/);
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.integration(TENANT),
      UpdateExpression: expect.stringContaining('lastSuccessAt'),
    });
    // A closed breaker with no failures has nothing to record; nothing goes to the DLQ.
    expect(breakerWrites()).toHaveLength(0);
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it("posts a tenant's records of one invocation together, oldest first, in one POST", async () => {
    given({
      orders: [
        pendingOrder(TENANT, 'late', { createdAt: '2024-04-20T16:22:00.000Z' }),
        pendingOrder(TENANT, 'early', { createdAt: '2024-04-20T16:20:00.000Z' }),
      ],
    });

    await handler(event(syncMessage(TENANT, 'late'), syncMessage(TENANT, 'early')));

    expect(simulator.counters().requests.post).toBe(1);
    expect(simulator.receipts(TENANT).map((r) => r.ExternalReceiptNumber)).toEqual(['early', 'late']);
  });

  it('takes a token from the shared write bucket before calling, with a conditional write', async () => {
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

  it('rejects a sale the state system refuses: DLQ with the reason, order REJECTED, rest of the batch synced', async () => {
    given({ orders: [pendingOrder(TENANT, 'bad', { quantity: 0 }), pendingOrder(TENANT, 'good')] });

    const response = await handler(event(syncMessage(TENANT, 'bad'), syncMessage(TENANT, 'good')));

    expect(response).toEqual({ batchItemFailures: [] });
    const reason = expect.stringMatching(/^400 .*Quantity/);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ_URL,
      MessageBody: syncMessage(TENANT, 'bad'),
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason } },
    });
    expect(settles()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Key: keys.order(TENANT, 'bad'),
          ExpressionAttributeValues: expect.objectContaining({
            ':syncStatus': 'REJECTED',
            ':rejectReason': reason,
          }),
        }),
        expect.objectContaining({
          Key: keys.order(TENANT, 'good'),
          ExpressionAttributeValues: expect.objectContaining({ ':syncStatus': 'SYNCED' }),
        }),
      ]),
    );
    // The refused array recorded nothing; the good receipt went again on its own.
    expect(simulator.receipts(TENANT).map((r) => r.ExternalReceiptNumber)).toEqual(['good']);
  });

  it.each([
    ['a 500', 'error500' as const, /^500/],
    ['a connection reset', 'down' as const, /ECONNRESET/],
    ['a timeout', 'timeout' as const, /^no answer: timed out/],
  ])(
    'on %s (outcome unknown): the attempt stays on the order, the record comes back once it has settled, the breaker counts it',
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
      expect(settles()).toHaveLength(0);
      // Released without forgetting the attempt: the next try looks the receipt up first.
      expect(releases()).toHaveLength(1);
      expect(releases()[0].args[0].input.UpdateExpression).toBe('SET claimUntil = :at');
      expect(visibility()).toEqual([
        expect.objectContaining({ QueueUrl: QUEUE_URL, ReceiptHandle: 'handle-m1' }),
      ]);
      expect(visibility()[0].VisibilityTimeout).toBeGreaterThanOrEqual(SETTLE_MS / 1000);
      expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
    },
  );

  it('on a 429 (nothing recorded): the attempt is forgotten and the record comes back after Retry-After', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1'), pendingOrder(TENANT, 'o-2')] });
    simulator.setWriteLimit({ ratePerSecond: 0.01, burst: 1 });
    // One receipt per POST, so the second POST meets the empty bucket.
    simulator.setFault('none');
    let response: SQSBatchResponse;
    try {
      await handler(event(syncMessage(TENANT, 'o-1')));
      response = await handler(event(syncMessage(TENANT, 'o-2')));
    } finally {
      simulator.setWriteLimit(undefined);
    }
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(simulator.counters().rateLimited.writes).toBe(1);
    expect(visibility().at(-1)?.VisibilityTimeout).toBeGreaterThanOrEqual(1);
    expect(releases().at(-1)?.args[0].input.UpdateExpression).toBe(
      'REMOVE attemptId, attemptedAt, claimUntil',
    );
    expect(doc).not.toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ type: 'breaker' }),
    });
  });

  it('looks an order with an unknown attempt up before posting again: found, it is SYNCED with that receipt', async () => {
    const attemptedAt = Date.now() - 60_000;
    given({ orders: [{ ...pendingOrder(TENANT, 'o-1'), attemptedAt, claimUntil: attemptedAt + 7000 }] });
    // The lost answer's receipt, already in the state system.
    simulator.setFault('flaky');
    await fetch(`${simulator.url}/sales/v2/receipts?licenseNumber=${TENANT}`, {
      method: 'POST',
      headers: {
        authorization: metrcAuthorization(VENDOR_KEY, USER_KEY),
        'content-type': 'application/json',
      },
      body: JSON.stringify([receiptOf(pendingOrder(TENANT, 'o-1'), { timeZone: 'UTC' })]),
    }).catch(() => undefined);
    simulator.setFault('none');
    const [kept] = simulator.receipts(TENANT);

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().requests).toMatchObject({ post: 1, get: 1 });
    expect(simulator.receipts(TENANT)).toHaveLength(1);
    expect(settles()).toEqual([
      expect.objectContaining({
        ExpressionAttributeValues: expect.objectContaining({
          ':syncStatus': 'SYNCED',
          ':complianceId': String(kept.Id),
        }),
      }),
    ]);
    expect(claims()).toHaveLength(0);
  });

  it('posts an order with an unknown attempt again once the lookup shows the state system does not have it', async () => {
    const attemptedAt = Date.now() - 60_000;
    given({ orders: [{ ...pendingOrder(TENANT, 'o-1'), attemptedAt }] });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().requests).toMatchObject({ get: 1, post: 1 });
    expect(simulator.receipts(TENANT)).toHaveLength(1);
    // The claim holds only if the attempt is still the one the lookup judged.
    expect(claims()[0].args[0].input).toMatchObject({
      ConditionExpression: expect.stringContaining('attemptedAt = :seen'),
      ExpressionAttributeValues: expect.objectContaining({ ':seen': attemptedAt }),
    });
  });

  it('waits, without a call, while an unknown attempt may still be committing', async () => {
    given({ orders: [{ ...pendingOrder(TENANT, 'o-1'), attemptedAt: Date.now() - 100 }] });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });

    expect(simulator.counters().requests).toMatchObject({ get: 0, post: 0 });
    expect(visibility()[0].VisibilityTimeout).toBeGreaterThanOrEqual(1);
  });

  it('opens the breaker on the failure that reaches the threshold, and schedules one probe for the end of the cool-down', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: { ...keys.breaker(TENANT), state: 'closed', failures: 2, version: 7 },
    });
    simulator.setFault('error500');

    // No SQS retry: it would only meet the open breaker; the probe carries the order instead.
    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(doc).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ state: 'open', failures: 3, openedAt: expect.any(Number), version: 8 }),
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':version': 7 },
    });
    expect(settles()).toHaveLength(0);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, DelaySeconds: 30 });
  });

  it('makes no call while the breaker is open: the order stays PENDING and the message is done', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: { ...keys.breaker(TENANT), state: 'open', failures: 5, openedAt: Date.now(), version: 3 },
    });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().requests.post).toBe(0);
    expect(orderUpdates()).toHaveLength(0);
  });

  it('puts a POST with no token in time back in line as a new message, spending none of its receives', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1')] });
    // 1,000 tokens reserved ahead by other workers, at 95/s (100/s less the worker's 5 % headroom): this
    // POST's token is 10.5 s away, past the 3 s an invocation waits. Stamped ahead of this clock, so no
    // refill blurs it.
    doc.on(GetCommand, { Key: keys.bucket(TENANT) }).resolves({
      Item: { ...keys.bucket(TENANT), tokens: -1000, updatedAt: Date.now() + 60_000, version: 7 },
    });
    const body = syncMessage(TENANT, 'o-1');
    const record = { ...event(body).Records[0], attributes: { ApproximateReceiveCount: '7' } };

    const response = await handler({ Records: [record as SQSEvent['Records'][number]] });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(simulator.counters().requests.post).toBe(0);
    // Due 2 s before its token (an invocation waits up to 3 s, less 1 s to be handed over): 8 s.
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE_URL,
      MessageBody: body,
      DelaySeconds: 8,
    });
    expect(visibility()).toEqual([]);
    expect(settles()).toHaveLength(0);
    expect(releases()[0]?.args[0].input.UpdateExpression).toBe('REMOVE attemptId, attemptedAt, claimUntil');
  });

  it('makes no call when the breaker opened while it waited for a token', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1')] });
    // Empty, and stamped ahead of this clock (another worker's), so no token comes before the second look.
    doc.on(GetCommand, { Key: keys.bucket(TENANT) }).resolves({
      Item: { ...keys.bucket(TENANT), tokens: 0, updatedAt: Date.now() + 500, version: 9 },
    });
    doc
      .on(GetCommand, { Key: keys.breaker(TENANT) })
      .resolvesOnce({})
      .resolves({ Item: { state: 'open', failures: 3, openedAt: Date.now(), version: 1 } });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().requests.post).toBe(0);
    expect(settles()).toHaveLength(0);
    // The claim is let go, forgetting the attempt: nothing was sent.
    expect(releases()[0]?.args[0].input.UpdateExpression).toBe('REMOVE attemptId, attemptedAt, claimUntil');
  });

  it('sends one probe after the cool-down, closes the breaker when it succeeds, and starts the drain at once', async () => {
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
    doc.on(QueryCommand).resolves({
      Items: [keys.order(TENANT, 'o-2'), keys.order(TENANT, 'o-3')],
    });
    // The success's write finds the breaker as the probe left it.
    doc.on(UpdateCommand, { Key: keys.breaker(TENANT) }).resolves({ Attributes: { state: 'half-open' } });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(doc).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ state: 'half-open', probeStartedAt: expect.any(Number), version: 4 }),
      ConditionExpression: 'version = :version',
      ExpressionAttributeValues: { ':version': 3 },
    });
    expect(simulator.receipts(TENANT)).toHaveLength(1);
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      Key: keys.breaker(TENANT),
      ExpressionAttributeValues: expect.objectContaining({ ':closed': 'closed', ':zero': 0 }),
    });
    // The pending orders, oldest first, straight onto the queue.
    expect(doc).toHaveReceivedCommandWith(QueryCommand, { ScanIndexForward: true });
    const drained = drainedOrderIds();
    expect(drained).toEqual(['o-2', 'o-3']);
  });

  it('hands the probe on to the oldest pending order when the order carrying it was settled meanwhile', async () => {
    given({
      orders: [{ ...pendingOrder(TENANT, 'o-1'), syncStatus: 'SYNCED' }, pendingOrder(TENANT, 'o-2')],
      breaker: {
        ...keys.breaker(TENANT),
        state: 'open',
        failures: 5,
        openedAt: Date.now() - 31_000,
        version: 3,
      },
    });
    doc.on(QueryCommand).resolves({ Items: [keys.order(TENANT, 'o-2')] });
    const probe = JSON.stringify({ ...JSON.parse(syncMessage(TENANT, 'o-1')), probe: true });

    await expect(handler(event(probe))).resolves.toEqual({ batchItemFailures: [] });

    // No call for the settled order; the probe goes on at once, carried by the oldest pending one.
    expect(simulator.counters().requests).toMatchObject({ get: 0, post: 0 });
    expect(doc).toHaveReceivedCommandWith(QueryCommand, { ScanIndexForward: true, Limit: 1 });
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([
      expect.objectContaining({ QueueUrl: QUEUE_URL, DelaySeconds: 0, MessageBody: expect.any(String) }),
    ]);
    expect(JSON.parse(sent[0].MessageBody!)).toEqual({
      schemaVersion: 1,
      tenantId: TENANT,
      orderId: 'o-2',
      probe: true,
    });
  });

  it('a settled order without the probe mark hands nothing on, and neither does a probe with nothing pending', async () => {
    given({ orders: [{ ...pendingOrder(TENANT, 'o-1'), syncStatus: 'SYNCED' }] });
    doc.on(QueryCommand).resolves({ Items: [] });
    const probe = JSON.stringify({ ...JSON.parse(syncMessage(TENANT, 'o-1')), probe: true });

    await expect(handler(event(syncMessage(TENANT, 'o-1'), probe))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect(doc).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('starts the drain when its success closes a breaker another worker opened after it looked', async () => {
    // Seen closed with failures; stored open by then (that worker dropped its records, and drains nothing).
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: { ...keys.breaker(TENANT), state: 'closed', failures: 2, version: 7 },
    });
    doc.on(UpdateCommand, { Key: keys.breaker(TENANT) }).resolves({ Attributes: { state: 'open' } });
    doc.on(QueryCommand).resolves({ Items: [keys.order(TENANT, 'o-2')] });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    const drained = drainedOrderIds();
    expect(drained).toEqual(['o-2']);
  });

  it('starts no drain when the breaker its success closes was closed already', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      breaker: { ...keys.breaker(TENANT), state: 'closed', failures: 2, version: 7 },
    });
    doc.on(UpdateCommand, { Key: keys.breaker(TENANT) }).resolves({ Attributes: { state: 'closed' } });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
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

    expect(simulator.counters().requests.post).toBe(0);
    expect(orderUpdates()).toHaveLength(0);
  });

  it('makes no call while the tenant has switched the integration off', async () => {
    given({
      orders: [pendingOrder(TENANT, 'o-1')],
      settings: { ...keys.integration(TENANT), enabled: false },
    });

    await expect(handler(event(syncMessage(TENANT, 'o-1')))).resolves.toEqual({ batchItemFailures: [] });

    expect(simulator.counters().requests.post).toBe(0);
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

    expect(simulator.counters().requests.post).toBe(0);
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
    expect(simulator.counters().requests.post).toBe(0);
  });

  it('retries later, without blaming the state system, when no API key is available', async () => {
    given({ orders: [pendingOrder(NO_KEY_TENANT, 'o-1')] });

    await expect(handler(event(syncMessage(NO_KEY_TENANT, 'o-1')))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }],
    });

    expect(simulator.counters().requests.post).toBe(0);
    expect(breakerWrites()).toHaveLength(0);
  });

  it('is a no-op when another worker claimed or settled the order between read and write', async () => {
    given({ orders: [pendingOrder(TENANT, 'o-1')] });
    doc
      .on(UpdateCommand, { Key: keys.order(TENANT, 'o-1') })
      .rejects(new ConditionalCheckFailedException({ message: 'not pending', $metadata: {} }));

    const response = await handler(event(syncMessage(TENANT, 'o-1')));

    expect(simulator.counters().requests.post).toBe(0);
    expect(response.batchItemFailures).toHaveLength(1);
  });
});
