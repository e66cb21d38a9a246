/**
 * Exactly once against a state system that deduplicates nothing (the Metrc-like simulator in its own
 * process) and DynamoDB Local: lost answers, planted duplicates and wrong totals.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';

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
import { SqsDriver } from '../../../harness/sqs-driver';
import type { ReconcileResult } from '../../../lambdas/reconcile/reconciler';
import { keys, type SyncStatus } from '../../../lib/contracts/cell-items';
import { userKeyEnvName } from '../../../lib/contracts/integrations';
import { metrcAuthorization } from '../../../lib/contracts/metrc';
import { receiptOf } from '../../../lib/domain/compliance/receipt';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';

const TABLE = 'cell-exactly-once';
const TENANT = 'flaky-co';
const VENDOR_KEY = 'vendor-eo';
const USER_KEY = 'user-flaky-co';

let local: LocalAws;
let doc: DynamoDBDocumentClient;
let queueUrl: string;
let driver: SqsDriver | undefined;
let syncHandler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
let reconcile: () => Promise<ReconcileResult>;
const simulator = new RemoteComplianceSimulator();

beforeAll(async () => {
  const [aws, baseUrl] = await Promise.all([startLocalAws(), simulator.start()]);
  await simulator.configure([VENDOR_KEY], { [TENANT]: { userKey: USER_KEY } });
  local = aws;
  doc = DynamoDBDocumentClient.from(local.ddbClient);
  await createTableFromCfn(local.ddbClient, TABLE, CELL_TABLE_PROPS);
  const dlqUrl = await createQueueFromCfn(local.sqsClient, 'eo-dlq', SYNC_DLQ_PROPS, () => '');
  const { Attributes } = await local.sqsClient.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueProps = {
    ...SYNC_QUEUE_PROPS,
    RedrivePolicy: { ...SYNC_QUEUE_PROPS.RedrivePolicy, maxReceiveCount: 20 },
  };
  queueUrl = await createQueueFromCfn(local.sqsClient, 'eo', queueProps, () => Attributes?.QueueArn ?? '');
  const integration = { baseUrl, ratePerSecond: 50, burst: 10, apiKeySecret: 'unused-locally' };
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: local.dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: local.sqs.endpoint,
    CELL_ID: 'cell-eo',
    TABLE_NAME: TABLE,
    QUEUE_URL: queueUrl,
    DLQ_URL: dlqUrl,
    INTEGRATIONS_FILE: integrationsFile({ [TENANT]: integration }),
    COMPLIANCE_VENDOR_KEY: VENDOR_KEY,
    [userKeyEnvName(TENANT)]: USER_KEY,
    BREAKER_FAILURES: '5',
    BREAKER_COOLDOWN_MS: '1000',
    // A lost answer of the `hang` kind costs one timeout; short, so the test does not wait long.
    COMPLIANCE_TIMEOUT_MS: '1000',
    RECONCILE_GRACE_SECONDS: '2',
    CLOCK_SKEW_MS: '2000',
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

async function seed(ids: readonly string[], send: boolean): Promise<void> {
  for (let i = 0; i < ids.length; i += 25) {
    await doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [TABLE]: ids.slice(i, i + 25).map((id) => ({ PutRequest: { Item: pendingOrder(TENANT, id) } })),
        },
      }),
    );
  }
  if (!send) return;
  for (let i = 0; i < ids.length; i += 10) {
    await local.sqsClient.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ids
          .slice(i, i + 10)
          .map((id, j) => ({ Id: String(j), MessageBody: syncMessage(TENANT, id) })),
      }),
    );
  }
}

async function countByStatus(status: SyncStatus): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: 'byStatus',
        KeyConditionExpression: 'statusPk = :pk',
        ExpressionAttributeValues: { ':pk': keys.statusPk(TENANT, status) },
        Select: 'COUNT',
        ExclusiveStartKey: startKey,
      }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(250);
  }
}

/** Active receipts per external number, as the state system holds them. */
const activeCopies = () => simulator.activeCopies(TENANT);

/** A receipt posted straight to the state system, as another system (or a lost answer) would leave it. */
async function plant(orderId: string, totalCents = 2400): Promise<number> {
  const order = pendingOrder(TENANT, orderId);
  const receipt = receiptOf(
    { ...order, items: [{ ...order.items[0], unitPriceCents: totalCents / 2 }], totalCents },
    { timeZone: 'UTC' },
  );
  const res = await fetch(`${simulator.url}/sales/v2/receipts?licenseNumber=${TENANT}`, {
    method: 'POST',
    headers: { authorization: metrcAuthorization(VENDOR_KEY, USER_KEY), 'content-type': 'application/json' },
    body: JSON.stringify([receipt]),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { Ids: number[] }).Ids[0];
}

describe('exactly once against a state system that deduplicates nothing', () => {
  it('flaky at 50 % for 100 orders: every order ends SYNCED and the state system holds each exactly once', async () => {
    await simulator.setFault('flaky', { share: 0.5 });
    const ids = Array.from({ length: 100 }, (_, i) => `f-${String(i).padStart(3, '0')}`);
    await seed(ids, true);
    driver = new SqsDriver({ client: local.sqsClient, queueUrl, handler: syncHandler, concurrency: 4 });
    driver.start();

    await waitFor('every order is synced', async () => (await countByStatus('SYNCED')) === 100, 240_000);
    await driver.stop();
    driver = undefined;
    await simulator.setFault('none');

    const copies = await activeCopies();
    expect(ids.filter((id) => copies.get(id) !== 1)).toEqual([]);
    expect((await simulator.counters()).answersLost).toBeGreaterThan(0);
    // Each order is SYNCED with the id of its one receipt.
    const receipts = new Map((await simulator.receipts(TENANT)).map((r) => [String(r.Id), r]));
    for (const id of ids.slice(0, 10)) {
      const { Item } = await doc.send(new GetCommand({ TableName: TABLE, Key: keys.order(TENANT, id) }));
      expect(receipts.get(String(Item?.complianceId))?.ExternalReceiptNumber).toBe(id);
    }
  }, 300_000);

  it('a duplicate planted in the state system is voided by the next reconciliation, the original kept', async () => {
    const extra = await plant('f-007');
    expect((await activeCopies()).get('f-007')).toBe(2);

    const result = await reconcile();

    expect(result.reconciled[TENANT]).toMatchObject({ counts: expect.objectContaining({ duplicates: 1 }) });
    const receipts = await simulator.receipts(TENANT);
    expect(receipts.find((r) => r.Id === extra)?.ArchivedDate).toEqual(expect.any(String));
    expect((await activeCopies()).get('f-007')).toBe(1);
  });

  it('a receipt whose total differs from the order is flagged: the order is DISCREPANCY with both sides', async () => {
    await seed(['wrong-total'], false);
    await plant('wrong-total', 3000);

    await reconcile();

    const { Item } = await doc.send(
      new GetCommand({ TableName: TABLE, Key: keys.order(TENANT, 'wrong-total'), ConsistentRead: true }),
    );
    expect(Item?.syncStatus).toBe('DISCREPANCY');
    expect(JSON.stringify(Item)).toMatch(/3000/);
    expect(JSON.stringify(Item)).toMatch(/2400/);
  });
});
