import { setTimeout as sleep } from 'node:timers/promises';

import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

import {
  CELL_TABLE_PROPS,
  SYNC_DLQ_PROPS,
  SYNC_QUEUE_PROPS,
  startLocalAws,
  type LocalAws,
} from '../../../harness/local-aws';
import { pendingOrder, syncMessage } from '../../../harness/orders';
import { RemoteComplianceSimulator } from '../../../harness/remote-simulator';
import { lambdaContext, sqsRecord, SqsDriver } from '../../../harness/sqs-driver';
import type { ReconcileResult } from '../../../lambdas/reconcile/reconciler';
import { keys, type SyncStatus } from '../../../lib/contracts/cell-items';
import { integrationColour, type StatusColour } from '../../../lib/domain/integration-status';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';

const TABLE = 'cell-sync';
/** The integration's limit, configured identically in the simulator: any excess shows as a 429 there. */
const RATE = 20;
const BURST = 5;
const GRACE_SECONDS = 2;
const T = { outage: 'outage-co', reject: 'reject-co', lost: 'lost-co', ancient: 'ancient-co' };
/** Small thresholds so the status turns red within the test. */
const STATUS_THRESHOLDS = { redAfterMs: 1500, orangeAfterMs: 500 };

let local: LocalAws;
let doc: DynamoDBDocumentClient;
let queueUrl: string;
let dlqUrl: string;
let driver: SqsDriver | undefined;
let syncHandler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let reconcile: () => Promise<ReconcileResult>;
const simulator = new RemoteComplianceSimulator();

beforeAll(async () => {
  const [aws, baseUrl] = await Promise.all([startLocalAws(), simulator.start()]);
  await simulator.setRateLimit(RATE, BURST);
  local = aws;
  doc = DynamoDBDocumentClient.from(local.ddbClient);
  await createTableFromCfn(local.ddbClient, TABLE, CELL_TABLE_PROPS);
  dlqUrl = await createQueueFromCfn(local.sqsClient, 'sync-dlq', SYNC_DLQ_PROPS, () => '');
  const { Attributes } = await local.sqsClient.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  // The deployed receive count (8), not the support default of 2: retries during an outage must not dead-letter.
  const queueProps = {
    ...SYNC_QUEUE_PROPS,
    RedrivePolicy: { ...SYNC_QUEUE_PROPS.RedrivePolicy, maxReceiveCount: 8 },
  };
  queueUrl = await createQueueFromCfn(local.sqsClient, 'sync', queueProps, () => Attributes?.QueueArn ?? '');

  const integration = { baseUrl, ratePerSecond: RATE, burst: BURST, apiKeySecret: 'unused-locally' };
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: local.dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: local.sqs.endpoint,
    CELL_ID: 'cell-it',
    TABLE_NAME: TABLE,
    QUEUE_URL: queueUrl,
    DLQ_URL: dlqUrl,
    INTEGRATIONS: JSON.stringify(Object.fromEntries(Object.values(T).map((t) => [t, integration]))),
    ...Object.fromEntries(
      Object.values(T).map((t) => [`COMPLIANCE_API_KEY_${t.toUpperCase().replace(/-/g, '_')}`, `key-${t}`]),
    ),
    BREAKER_FAILURES: '3',
    BREAKER_COOLDOWN_MS: '1000',
    COMPLIANCE_TIMEOUT_MS: '2000',
    RECONCILE_GRACE_SECONDS: String(GRACE_SECONDS),
    RECONCILE_BATCH: '100',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const [sync, reconciler] = await Promise.all([
    import('../../../lambdas/sync/handler'),
    import('../../../lambdas/reconcile/handler'),
  ]);
  syncHandler = sync.handler;
  reconcile = () => reconciler.handler();
});

afterAll(async () => {
  await driver?.stop();
  await simulator.stop();
  await local?.stop();
});

/** Four pollers, like the event source with maxConcurrency 4. */
function startWorkers(): void {
  driver = new SqsDriver({ client: local.sqsClient, queueUrl, handler: syncHandler, concurrency: 4 });
  driver.start();
}

async function seed(
  tenantId: string,
  count: number,
  options: { send?: boolean; createdAt?: string; pendingSince?: string; prefix?: string } = {},
): Promise<string[]> {
  const ids = Array.from(
    { length: count },
    (_, i) => `${options.prefix ?? 'o'}-${String(i).padStart(3, '0')}`,
  );
  for (let i = 0; i < ids.length; i += 25) {
    await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [TABLE]: ids
            .slice(i, i + 25)
            .map((id) => ({ PutRequest: { Item: pendingOrder(tenantId, id, options) } })),
        },
      }),
    );
  }
  if (options.send !== false) await sendMessages(tenantId, ids);
  return ids;
}

async function sendMessages(tenantId: string, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 10) {
    await local.sqsClient.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ids
          .slice(i, i + 10)
          .map((id, j) => ({ Id: String(j), MessageBody: syncMessage(tenantId, id) })),
      }),
    );
  }
}

async function countByStatus(tenantId: string, status: SyncStatus): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'byStatus',
        KeyConditionExpression: 'statusPk = :pk',
        ExpressionAttributeValues: { ':pk': keys.statusPk(tenantId, status) },
        Select: 'COUNT',
        ExclusiveStartKey: startKey,
      }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

const getItem = async (key: { pk: string; sk: string }) =>
  (await doc.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item;

/** The status colour from the facts the API reports, computed the way `GET /integration/status` does. */
async function statusColour(tenantId: string): Promise<StatusColour> {
  const [pending, oldest, settings, breaker] = await Promise.all([
    countByStatus(tenantId, 'PENDING'),
    doc.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'byStatus',
        KeyConditionExpression: 'statusPk = :pk',
        ExpressionAttributeValues: { ':pk': keys.statusPk(tenantId, 'PENDING') },
        Limit: 1,
      }),
    ),
    getItem(keys.integration(tenantId)),
    getItem(keys.breaker(tenantId)),
  ]);
  const oldestCreatedAt = oldest.Items?.[0]?.createdAt as string | undefined;
  return integrationColour(
    {
      pending,
      lastSuccessAt: settings?.lastSuccessAt as number | undefined,
      oldestPendingSince: oldestCreatedAt === undefined ? undefined : Date.parse(oldestCreatedAt),
      breaker: (breaker?.state as 'closed' | 'open' | 'half-open' | undefined) ?? 'closed',
      enabled: settings?.enabled !== false,
    },
    Date.now(),
    STATUS_THRESHOLDS,
  );
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(200);
  }
}

async function queueEmpty(url: string): Promise<boolean> {
  const { Attributes = {} } = await local.sqsClient.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Attributes.ApproximateNumberOfMessages === '0' && Attributes.ApproximateNumberOfMessagesNotVisible === '0'
  );
}

async function receiveAll(url: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  await waitFor(`${count} messages are received from ${url}`, async () => {
    const { Messages = [] } = await local.sqsClient.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 30,
        MessageAttributeNames: ['All'],
      }),
    );
    messages.push(...Messages);
    return messages.length >= count;
  });
  return messages;
}

/** The most receipts the simulator accepted for a tenant within any one second. */
function busiestSecond(receivedAt: readonly number[]): number {
  let most = 0;
  for (let start = 0, end = 0; end < receivedAt.length; end++) {
    while ((receivedAt[end] ?? 0) - (receivedAt[start] ?? 0) >= 1000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('sync worker and reconciler against DynamoDB Local, fauxqs and the compliance simulator', () => {
  it('dead-letters a rejected sale with its reason while the rest of its batch syncs', async () => {
    await seed(T.reject, 4, { send: false });
    await doc.send(
      new BatchWriteCommand({
        RequestItems: { [TABLE]: [{ PutRequest: { Item: pendingOrder(T.reject, 'bad', { quantity: 0 }) } }] },
      }),
    );
    await sendMessages(T.reject, ['o-000', 'o-001', 'bad', 'o-002', 'o-003']);
    // One batch of all five, as the event source would hand it over.
    const messages = await receiveAll(queueUrl, 5);
    const response = await syncHandler(
      { Records: messages.map((m) => sqsRecord(m.Body ?? '', { messageId: m.MessageId })) },
      lambdaContext('sync-worker'),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    await local.sqsClient.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );

    const bad = await getItem(keys.order(T.reject, 'bad'));
    expect(bad).toMatchObject({ syncStatus: 'REJECTED', statusPk: `${T.reject}#REJECTED` });
    expect(bad?.rejectReason).toMatch(/^400 invalid: .*items\.0\.quantity/);
    expect(bad).not.toHaveProperty('pendingSince');
    expect(await countByStatus(T.reject, 'SYNCED')).toBe(4);
    const [dead] = await receiveAll(dlqUrl, 1);
    expect(JSON.parse(dead?.Body ?? '')).toMatchObject({ tenantId: T.reject, orderId: 'bad' });
    expect(dead?.MessageAttributes?.reason?.StringValue).toBe(bad?.rejectReason);
    await local.sqsClient.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: [{ Id: '0', ReceiptHandle: dead?.ReceiptHandle }],
      }),
    );
    expect(await simulator.counters()).toMatchObject({ accepted: 4, rejected: 1 });
  });

  it('integration down: 200 orders are kept PENDING, nothing is dead-lettered, and the status turns red', async () => {
    await simulator.setFault('down');
    startWorkers();
    const before = (await simulator.counters()).received;
    await seed(T.outage, 200);

    await waitFor('the queue is drained', () => queueEmpty(queueUrl));
    expect(await countByStatus(T.outage, 'PENDING')).toBe(200);
    expect(await getItem(keys.breaker(T.outage))).toMatchObject({ state: 'open' });
    expect((await getItem(keys.integration(T.outage)))?.lastError).toMatch(/ECONNRESET/);
    // The breaker stopped the calls: a handful of failures and probes, not one call per order.
    expect((await simulator.counters()).received - before).toBeLessThan(30);
    expect(await queueEmpty(dlqUrl)).toBe(true);
    await waitFor('the status is red', async () => (await statusColour(T.outage)) === 'red', 5000);
  });

  it('integration back: the reconciler re-drives every order, each synced once, never above the rate limit', async () => {
    await simulator.setFault('none');
    await simulator.reset();
    const started = Date.now();

    await waitFor(
      'every order is synced',
      async () => {
        await reconcile();
        return (await countByStatus(T.outage, 'SYNCED')) === 200;
      },
      // Paced by the reconciler's batches and the rate limit; generous for a loaded CI machine.
      100_000,
    );

    expect(await countByStatus(T.outage, 'PENDING')).toBe(0);
    const receipts = await simulator.receipts(T.outage);
    expect(new Set(receipts.map((r) => r.body.externalId)).size).toBe(200);
    expect(await simulator.counters()).toMatchObject({
      accepted: 200,
      duplicates: 0,
      rateLimited: 0,
      failed: 0,
    });
    expect(await statusColour(T.outage)).toBe('green');

    const times = receipts.map((r) => Date.parse(r.receivedAt)).sort((a, b) => a - b);
    const busiest = busiestSecond(times);
    const seconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    console.info(
      `drain: 200 receipts in ${seconds.toFixed(1)} s (${((200 - 1) / seconds).toFixed(1)}/s average, ` +
        `${busiest} in the busiest second; configured ${RATE}/s, burst ${BURST}; ` +
        `recovered ${((Date.now() - started) / 1000).toFixed(1)} s after the API came back)`,
    );
    expect(busiest).toBeLessThanOrEqual(RATE + BURST);
  }, 120_000);

  it('finds orders whose message was lost once their grace period is over, and syncs them', async () => {
    const overdue = new Date(Date.now() - 2 * GRACE_SECONDS * 1000).toISOString();
    await seed(T.lost, 5, { send: false, createdAt: overdue });
    // Just written: its message may still be on its way, so the reconciler leaves it alone.
    await seed(T.lost, 1, { send: false, prefix: 'fresh' });

    await expect(reconcile()).resolves.toMatchObject({
      requeued: 5,
      skippedDisabled: 0,
      skippedBreakerOpen: 0,
    });

    await waitFor('the overdue orders are synced', async () => (await countByStatus(T.lost, 'SYNCED')) === 5);
    expect(await getItem(keys.order(T.lost, 'fresh-000'))).toMatchObject({ syncStatus: 'PENDING' });
  });

  it('loses nothing in an outage longer than SQS retention: 17-day-old pending orders still sync', async () => {
    const longAgo = new Date(Date.now() - 17 * 24 * 3600 * 1000).toISOString();
    const ids = await seed(T.ancient, 3, { send: false, createdAt: longAgo });

    await reconcile();

    await waitFor('the old orders are synced', async () => (await countByStatus(T.ancient, 'SYNCED')) === 3);
    expect(
      (await simulator.receipts(T.ancient))
        .map((r) => r.body)
        .sort((a, b) => a.externalId.localeCompare(b.externalId)),
    ).toEqual(ids.map((id) => expect.objectContaining({ externalId: id, salesDateTime: longAgo })));
  });
});
