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

import { type ApiHandler, call } from '../../../harness/api-events';
import { integrationsFile } from '../../../harness/integrations-file';
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
import { userKeyEnvName } from '../../../lib/contracts/integrations';
import { metrcAuthorization } from '../../../lib/contracts/metrc';
import { receiptOf } from '../../../lib/domain/compliance/receipt';
import { integrationColour, type StatusColour } from '../../../lib/domain/integration-status';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';

const TABLE = 'cell-sync';
/** The integration's limit, configured identically in the simulator: any excess shows as a 429 there. */
const RATE = 20;
const BURST = 5;
const GRACE_SECONDS = 2;
/** The breaker's cool-down: at least the lookup settle time (the timeout), so a probe's own order is settled by then. */
const COOLDOWN_MS = 2000;
/** The GET limit the simulator enforces during the long outage, and the share the tenant's integration budgets. */
const READS = {
  perFacilityPerSecond: 5,
  perIntegratorPerSecond: 10,
  concurrentPerFacility: 10,
  concurrentPerIntegrator: 30,
};
const ANCIENT_READ_BUDGET = { readRatePerSecond: 4.5, readBurst: 2 };
const T = {
  outage: 'outage-co',
  reject: 'reject-co',
  lost: 'lost-co',
  ancient: 'ancient-co',
  comeback: 'comeback-co',
  switched: 'switched-co',
};
/** Small thresholds so the status turns red within the test. */
const STATUS_THRESHOLDS = { redAfterMs: 1500, orangeAfterMs: 500 };

let local: LocalAws;
let doc: DynamoDBDocumentClient;
let queueUrl: string;
let dlqUrl: string;
let driver: SqsDriver | undefined;
let syncHandler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let reconcile: () => Promise<ReconcileResult>;
let api: ApiHandler;

/** The workers' clock: the wall clock, until a test stops it to step time itself. */
const clock = {
  offset: 0,
  stoppedAt: undefined as number | undefined,
  now(): number {
    return this.stoppedAt ?? Date.now() + this.offset;
  },
  stop(at: number): void {
    this.stoppedAt = at;
  },
  /** Runs on from where it stood, never backwards. */
  resume(): void {
    if (this.stoppedAt === undefined) return;
    this.offset = Math.max(this.offset, this.stoppedAt - Date.now());
    this.stoppedAt = undefined;
  },
};
const simulator = new RemoteComplianceSimulator();
const VENDOR_KEY = 'vendor-it';

beforeAll(async () => {
  const [aws, baseUrl] = await Promise.all([startLocalAws(), simulator.start()]);
  await simulator.setWriteLimit({ ratePerSecond: RATE, burst: BURST });
  await simulator.configure(
    [VENDOR_KEY],
    Object.fromEntries(Object.values(T).map((t) => [t, { userKey: `user-${t}` }])),
  );
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
  const integrations = Object.fromEntries(Object.values(T).map((t) => [t, integration]));
  integrations[T.ancient] = { ...integration, ...ANCIENT_READ_BUDGET };
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
    INTEGRATIONS_FILE: integrationsFile(integrations),
    RELEASE: 'v-it',
    COMPLIANCE_VENDOR_KEY: VENDOR_KEY,
    ...Object.fromEntries(Object.values(T).map((t) => [userKeyEnvName(t), `user-${t}`])),
    BREAKER_FAILURES: '3',
    BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
    COMPLIANCE_TIMEOUT_MS: '2000',
    RECONCILE_GRACE_SECONDS: String(GRACE_SECONDS),
    RECONCILE_BATCH: '100',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  const [sync, reconciler, apiModule] = await Promise.all([
    import('../../../lambdas/sync/handler'),
    import('../../../lambdas/reconcile/handler'),
    import('../../../lambdas/api/handler'),
  ]);
  syncHandler = sync.createHandler(undefined, () => clock.now());
  reconcile = () => reconciler.handler();
  api = apiModule.handler;
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
  options: {
    send?: boolean;
    createdAt?: string | ((i: number) => string);
    pendingSince?: string;
    prefix?: string;
    /** An attempt whose outcome is unknown, at this epoch ms: the next try must look the receipt up first. */
    attemptedAt?: (i: number) => number | undefined;
  } = {},
): Promise<string[]> {
  const ids = Array.from(
    { length: count },
    (_, i) => `${options.prefix ?? 'o'}-${String(i).padStart(3, '0')}`,
  );
  const item = (id: string, i: number) => {
    const createdAt = typeof options.createdAt === 'function' ? options.createdAt(i) : options.createdAt;
    const attemptedAt = options.attemptedAt?.(i);
    return {
      ...pendingOrder(tenantId, id, { createdAt, pendingSince: options.pendingSince }),
      ...(attemptedAt !== undefined && { attemptId: `lost-${id}`, attemptedAt, claimUntil: attemptedAt }),
    };
  };
  for (let i = 0; i < ids.length; i += 25) {
    await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [TABLE]: ids.slice(i, i + 25).map((id, j) => ({ PutRequest: { Item: item(id, i + j) } })),
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

/** The most calls within any one second. */
function busiestSecond(receivedAt: readonly number[]): number {
  let most = 0;
  for (let start = 0, end = 0; end < receivedAt.length; end++) {
    while ((receivedAt[end] ?? 0) - (receivedAt[start] ?? 0) >= 1000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** The ids not held exactly once by the state system. */
async function notHeldOnce(tenantId: string, ids: readonly string[]): Promise<string[]> {
  const copies = await simulator.activeCopies(tenantId);
  return ids.filter((id) => copies.get(id) !== 1);
}

/** Receipts posted straight to the state system: what an attempt whose answer was lost left there. */
async function plant(tenantId: string, orders: readonly { id: string; createdAt: string }[]): Promise<void> {
  const receipts = orders.map(({ id, createdAt }) =>
    receiptOf(pendingOrder(tenantId, id, { createdAt }), { timeZone: 'UTC' }),
  );
  const res = await fetch(`${simulator.url}/sales/v2/receipts?licenseNumber=${tenantId}`, {
    method: 'POST',
    headers: {
      authorization: metrcAuthorization(VENDOR_KEY, `user-${tenantId}`),
      'content-type': 'application/json',
    },
    body: JSON.stringify(receipts),
  });
  expect(res.status).toBe(200);
}

/** When each SYNCED order of the tenant was settled, by the workers' clock (epoch ms). */
async function syncedTimes(tenantId: string): Promise<number[]> {
  const times: number[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'byStatus',
        KeyConditionExpression: 'statusPk = :pk',
        ExpressionAttributeValues: { ':pk': keys.statusPk(tenantId, 'SYNCED') },
        ExclusiveStartKey: startKey,
      }),
    );
    times.push(...(page.Items ?? []).map((i) => Date.parse(String(i.syncedAt))));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return times;
}

/** The calls of `method` for one license since `since`, as the state system counted them, by arrival. */
async function callTimes(licenseNumber: string, method: string, since: number): Promise<number[]> {
  return (await simulator.calls(since))
    .filter((c) => c.method === method && c.licenseNumber === licenseNumber)
    .map((c) => c.at)
    .sort((a, b) => a - b);
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
    expect(bad?.rejectReason).toMatch(/^400 .*Quantity/);
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
    expect(await simulator.counters()).toMatchObject({ recorded: 4, rejected: 1 });
  });

  it('integration down: 200 orders are kept PENDING, nothing is dead-lettered, and the status turns red', async () => {
    await simulator.setFault('down');
    startWorkers();
    const calls = async () => {
      const { requests } = await simulator.counters();
      return requests.post + requests.get;
    };
    const before = await calls();
    await seed(T.outage, 200);

    await waitFor('the queue is drained', () => queueEmpty(queueUrl));
    expect(await countByStatus(T.outage, 'PENDING')).toBe(200);
    expect(await getItem(keys.breaker(T.outage))).toMatchObject({ state: 'open' });
    expect((await getItem(keys.integration(T.outage)))?.lastError).toMatch(/ECONNRESET/);
    // The breaker stopped the calls: a handful of failures and probes, not one call per order.
    expect((await calls()) - before).toBeLessThan(30);
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
    expect(receipts).toHaveLength(200);
    expect(new Set(receipts.map((r) => r.ExternalReceiptNumber)).size).toBe(200);
    expect(await simulator.counters()).toMatchObject({
      recorded: 200,
      rateLimited: { reads: 0, writes: 0 },
      failed: 0,
    });
    expect(await statusColour(T.outage)).toBe('green');

    const times = receipts.map((r) => r.lastModifiedMs).sort((a, b) => a - b);
    // The limit is on POSTs (of up to ten receipts each), as the state system counted them.
    const posts = (await simulator.calls(started))
      .filter((c) => c.method === 'POST')
      .map((c) => c.at)
      .sort((a, b) => a - b);
    const busiest = busiestSecond(posts);
    const seconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    console.info(
      `drain: 200 receipts in ${seconds.toFixed(1)} s (${((200 - 1) / seconds).toFixed(1)}/s average, ` +
        `${posts.length} POSTs, ${busiest} in the busiest second; configured ${RATE}/s, burst ${BURST}; ` +
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

  it('a 17-day outage (orders older than SQS retention) loses nothing, duplicates nothing, drains within the GET and POST limits', async () => {
    const DAY_MS = 24 * 3600 * 1000;
    const OLD = 120;
    /** Of the old orders, the first ones had an attempt whose answer was lost; the state system holds some of those. */
    const UNKNOWN = 12;
    const RECORDED = 5;
    const base = Date.now();
    const attemptedAt = base - 3600_000;
    // 17 to 30 days back: past SQS's 14-day retention, so only the table knows these orders.
    const createdAt = (i: number) =>
      new Date(base - 17 * DAY_MS - Math.floor((i * 13 * DAY_MS) / OLD)).toISOString();
    const oldIds = await seed(T.ancient, OLD, {
      send: false,
      prefix: 'old',
      createdAt,
      attemptedAt: (i) => (i < UNKNOWN ? attemptedAt : undefined),
    });
    await plant(
      T.ancient,
      oldIds.slice(0, RECORDED).map((id, i) => ({ id, createdAt: createdAt(i) })),
    );
    await simulator.setReadLimits(READS);
    const since = Date.now();
    try {
      await simulator.setFault('down');
      // The outage's last orders: their messages reach the workers, whose failures open the breaker.
      const freshIds = await seed(T.ancient, 10, { prefix: 'fresh' });
      await waitFor(
        'the breaker opens',
        async () => (await getItem(keys.breaker(T.ancient)))?.state === 'open',
      );

      await simulator.setFault('none');

      // No reconciler run: the probe's success starts the drain of everything the table holds.
      const ids = [...oldIds, ...freshIds];
      await waitFor(
        'every order is synced',
        async () => (await countByStatus(T.ancient, 'SYNCED')) === ids.length,
        100_000,
      );
      expect(await countByStatus(T.ancient, 'PENDING')).toBe(0);
      expect(await notHeldOnce(T.ancient, ids)).toEqual([]);
      const counters = await simulator.counters();
      expect(counters.rateLimited).toEqual({ reads: 0, writes: 0 });
      const [posts, gets] = await Promise.all([
        callTimes(T.ancient, 'POST', since),
        callTimes(T.ancient, 'GET', since),
      ]);
      // The lookups of the lost answers are GETs: they happened, within the GET limit.
      expect(gets.length).toBeGreaterThan(0);
      // The simulator's bucket holds a second's worth: a full bucket and a second's refill at most.
      expect(busiestSecond(gets)).toBeLessThanOrEqual(2 * READS.perFacilityPerSecond);
      expect(busiestSecond(posts)).toBeLessThanOrEqual(RATE + BURST);
      console.info(
        `17-day outage: ${ids.length} orders (${OLD} older than SQS retention, ${UNKNOWN} with a lost answer, ` +
          `${RECORDED} of those already recorded), ${posts.length} POSTs (busiest second ${busiestSecond(posts)}), ` +
          `${gets.length} GETs (busiest second ${busiestSecond(gets)}), 429s ${counters.rateLimited.reads + counters.rateLimited.writes}`,
      );
    } finally {
      await simulator.setReadLimits(null);
    }
    // Each receipt carries its order's own sale time, up to 30 days back, not the time it was sent.
    const saleTimes = new Map(
      (await simulator.receipts(T.ancient)).map((r) => [r.ExternalReceiptNumber, r.SalesDateTime]),
    );
    expect(oldIds.filter((id, i) => saleTimes.get(id) !== createdAt(i).replace('Z', ''))).toEqual([]);
  }, 150_000);

  it("integration-up: the first order syncs within the breaker cool-down, by the workers' clock, no reconciler run", async () => {
    await simulator.setFault('down');
    const ids = await seed(T.comeback, 20);
    await waitFor(
      'the breaker opens',
      async () => (await getItem(keys.breaker(T.comeback)))?.state === 'open',
    );
    await waitFor('the queue has given up its messages', () => queueEmpty(queueUrl));
    expect(await countByStatus(T.comeback, 'PENDING')).toBe(20);

    await simulator.setFault('none');
    const upAt = clock.now();
    // The clock stands still at the end of the cool-down: what needs more time than that (the
    // reconciler's grace and schedule) cannot happen, and the first order must sync all the same.
    clock.stop(upAt + COOLDOWN_MS);
    try {
      await waitFor('an order is synced', async () => (await countByStatus(T.comeback, 'SYNCED')) > 0);
      const first = Math.min(...(await syncedTimes(T.comeback)));
      expect(first - upAt).toBeLessThanOrEqual(COOLDOWN_MS);
    } finally {
      clock.resume();
    }
    await waitFor('every order is synced', async () => (await countByStatus(T.comeback, 'SYNCED')) === 20);
    expect(await notHeldOnce(T.comeback, ids)).toEqual([]);
  });

  it('switched back on: the backlog drains at once, with no call while off and no reconciler run', async () => {
    const off = await call(api, 'PUT', '/integration', { tenant: T.switched, body: { enabled: false } });
    expect(off.status).toBe(200);
    const since = Date.now();
    const ids = await seed(T.switched, 30);
    await waitFor('the queue has given up its messages', () => queueEmpty(queueUrl));
    expect(await countByStatus(T.switched, 'PENDING')).toBe(30);
    expect((await simulator.calls(since)).filter((c) => c.licenseNumber === T.switched)).toEqual([]);

    const on = await call(api, 'PUT', '/integration', { tenant: T.switched, body: { enabled: true } });
    expect(on.body).toMatchObject({ enabled: true });

    await waitFor('every order is synced', async () => (await countByStatus(T.switched, 'SYNCED')) === 30);
    expect(await notHeldOnce(T.switched, ids)).toEqual([]);
    expect((await simulator.counters()).rateLimited).toEqual({ reads: 0, writes: 0 });
  });
});
