import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';

import {
  CELL_TABLE_PROPS,
  LOCAL_CLIENT_CONFIG,
  SYNC_DLQ_PROPS,
  SYNC_QUEUE_PROPS,
  startLocalAws,
  type LocalAws,
} from '../../../harness/local-aws';
import {
  connectionRefused,
  externalAddresses,
  isLoopback,
  listenersOn,
  listeningAddresses,
} from '../../../harness/processes';
import { until } from '../../../harness/wait';
import {
  DYNAMODB_ITEM_MAX_BYTES,
  DYNAMODB_TRANSACTION_MAX_ACTIONS,
  SQS_MESSAGE_MAX_BYTES,
} from '../../../lib/contracts/aws-limits';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';
import { DynamoDbLocal } from '../../../lib/local/services/dynamodb-local';
import { trackedProcesses } from '../../../lib/local/services/process-registry';

// Each test creates the tables and queues it uses: none reads another's leftovers.
let tables = 0;
const newTable = () => `cell-${++tables}`;

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function receive(client: SQSClient, queueUrl: string, visibilityTimeout?: number) {
  const { Messages = [] } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  return Messages;
}

describe('local AWS services', () => {
  let local: LocalAws;
  let doc: DynamoDBDocumentClient;
  const tempDirs: string[] = [];

  beforeAll(async () => {
    local = await startLocalAws();
    doc = DynamoDBDocumentClient.from(local.ddbClient);
  });

  afterAll(async () => {
    await local?.stop();
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts both services on loopback ports, tracked by the registry', () => {
    expect(local.dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(local.sqs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(trackedProcesses().map((p) => p.pid)).toEqual(
      expect.arrayContaining([local.dynamo.pid, local.sqs.pid]),
    );
  });

  it('DynamoDB Local (no authentication) and fauxqs listen on the loopback interface only', async () => {
    for (const endpoint of [local.dynamo.endpoint, local.sqs.endpoint]) {
      const port = Number(new URL(endpoint).port);
      // Whatever listens on the service's port, by whichever process: all of it loopback.
      const addresses = listenersOn(port);
      expect(addresses.length).toBeGreaterThan(0);
      expect(addresses.filter((a) => !isLoopback(a.host))).toEqual([]);
      // And as a peer sees it: refused at each of this machine's other addresses.
      for (const host of externalAddresses()) {
        expect([host, await connectionRefused(host, port)]).toEqual([host, true]);
      }
    }
    // The processes themselves, where this machine lets us read their sockets, hold no other listener.
    for (const pid of [local.dynamo.pid, local.sqs.pid]) {
      expect(listeningAddresses(pid as number).filter((a) => !isLoopback(a.host))).toEqual([]);
    }
  });

  it('creates the cell table from its template properties, with its indexes and TTL', async () => {
    const TABLE = newTable();
    await createTableFromCfn(local.ddbClient, TABLE, CELL_TABLE_PROPS);

    const { Table } = await local.ddbClient.send(new DescribeTableCommand({ TableName: TABLE }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual(CELL_TABLE_PROPS.KeySchema);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
    expect(Object.keys(indexes).sort()).toEqual(['byStatus', 'pending', 'unverified']);
    expect(indexes.byStatus?.Projection?.ProjectionType).toBe('ALL');
    expect(indexes.pending?.Projection?.ProjectionType).toBe('KEYS_ONLY');
    expect(indexes.pending?.KeySchema).toEqual(CELL_TABLE_PROPS.GlobalSecondaryIndexes[1].KeySchema);
    // Receipts posted but not yet confirmed by a reconciliation, per tenant.
    expect(indexes.unverified?.Projection?.ProjectionType).toBe('KEYS_ONLY');
    expect(indexes.unverified?.KeySchema).toEqual(CELL_TABLE_PROPS.GlobalSecondaryIndexes[2].KeySchema);

    const { TimeToLiveDescription } = await local.ddbClient.send(
      new DescribeTimeToLiveCommand({ TableName: TABLE }),
    );
    expect(TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
  });

  it('creates the table again without error and keeps its data', async () => {
    const TABLE = newTable();
    await createTableFromCfn(local.ddbClient, TABLE, CELL_TABLE_PROPS);
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 't0', sk: 'KEEP' } }));

    await createTableFromCfn(local.ddbClient, TABLE, CELL_TABLE_PROPS);

    const { Item } = await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: 't0', sk: 'KEEP' } }));
    expect(Item).toEqual({ pk: 't0', sk: 'KEEP' });
  });

  it('runs transactions with a ConditionCheck, all or nothing', async () => {
    const TABLE = newTable();
    await createTableFromCfn(local.ddbClient, TABLE, CELL_TABLE_PROPS);
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 't1', sk: 'TENANT', status: 'ACTIVE' } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 't1', sk: 'STOCK#sku-1', qty: 1 } }));
    const order = (orderId: string): TransactWriteCommandInput => ({
      TransactItems: [
        {
          ConditionCheck: {
            TableName: TABLE,
            Key: { pk: 't1', sk: 'TENANT' },
            ConditionExpression: '#status = :active',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':active': 'ACTIVE' },
          },
        },
        {
          Update: {
            TableName: TABLE,
            Key: { pk: 't1', sk: 'STOCK#sku-1' },
            UpdateExpression: 'SET qty = qty - :one',
            ConditionExpression: 'qty >= :one',
            ExpressionAttributeValues: { ':one': 1 },
          },
        },
        {
          Put: {
            TableName: TABLE,
            Item: { pk: 't1', sk: `ORDER#${orderId}`, syncStatus: 'PENDING' },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    });

    await doc.send(new TransactWriteCommand(order('o1')));

    const oversell = await doc.send(new TransactWriteCommand(order('o2'))).catch((error: unknown) => error);
    expect(oversell).toBeInstanceOf(TransactionCanceledException);
    expect((oversell as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      'None',
      'ConditionalCheckFailed',
      'None',
    ]);

    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk: 't1', sk: 'STOCK#sku-1', qty: 5 } }));
    await doc.send(
      new PutCommand({ TableName: TABLE, Item: { pk: 't1', sk: 'TENANT', status: 'SUSPENDED' } }),
    );
    const suspended = await doc.send(new TransactWriteCommand(order('o3'))).catch((error: unknown) => error);
    expect((suspended as TransactionCanceledException).CancellationReasons?.[0]?.Code).toBe(
      'ConditionalCheckFailed',
    );

    const get = async (sk: string) =>
      (await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: 't1', sk } }))).Item;
    expect(await get('ORDER#o1')).toEqual({ pk: 't1', sk: 'ORDER#o1', syncStatus: 'PENDING' });
    expect(await get('ORDER#o2')).toBeUndefined();
    expect(await get('ORDER#o3')).toBeUndefined();
    expect((await get('STOCK#sku-1'))?.qty).toBe(5);
  });

  it('refuses what AWS refuses: an item over 400 KB, a transaction over 100 actions or 4 MB, a message over 1 MiB', async () => {
    const TABLE = newTable();
    await createTableFromCfn(local.ddbClient, TABLE, CELL_TABLE_PROPS);
    const item = (sk: string, bytes: number) => ({ pk: 't1', sk, blob: 'x'.repeat(bytes) });
    await doc.send(new PutCommand({ TableName: TABLE, Item: item('fits', DYNAMODB_ITEM_MAX_BYTES - 1024) }));
    await expect(
      doc.send(new PutCommand({ TableName: TABLE, Item: item('big', DYNAMODB_ITEM_MAX_BYTES) })),
    ).rejects.toThrow(/Item size has exceeded the maximum allowed size/);
    const puts = (count: number) => ({
      TransactItems: Array.from({ length: count }, (_, i) => ({
        Put: { TableName: TABLE, Item: { pk: 't1', sk: `T#${count}#${i}` } },
      })),
    });
    await doc.send(new TransactWriteCommand(puts(DYNAMODB_TRANSACTION_MAX_ACTIONS)));
    await expect(
      doc.send(new TransactWriteCommand(puts(DYNAMODB_TRANSACTION_MAX_ACTIONS + 1))),
    ).rejects.toThrow(/Member must have length less than or equal to 100/);

    const queueUrl = await createQueueFromCfn(local.sqsClient, 'cell-limits-dlq', SYNC_DLQ_PROPS, () => '');
    const send = (bytes: number) =>
      local.sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x'.repeat(bytes) }));
    await send(SQS_MESSAGE_MAX_BYTES);
    await expect(send(SQS_MESSAGE_MAX_BYTES + 1)).rejects.toThrow(
      /Message must be shorter than 1048576 bytes/,
    );
  });

  it('moves a message received maxReceiveCount times without a delete to the DLQ', async () => {
    const { sqsClient } = local;
    const dlqUrl = await createQueueFromCfn(sqsClient, 'cell-a-sync-dlq', SYNC_DLQ_PROPS, () => {
      throw new Error('the DLQ references nothing');
    });
    const { Attributes: dlq } = await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const refs: unknown[] = [];
    const resolveArn = (ref: unknown): string => {
      refs.push(ref);
      return dlq?.QueueArn ?? '';
    };
    const queueUrl = await createQueueFromCfn(sqsClient, 'cell-a-sync', SYNC_QUEUE_PROPS, resolveArn);
    // Again, as a restarted local platform would: same URL, no error.
    expect(await createQueueFromCfn(sqsClient, 'cell-a-sync', SYNC_QUEUE_PROPS, resolveArn)).toBe(queueUrl);

    expect(refs[0]).toEqual(SYNC_QUEUE_PROPS.RedrivePolicy.deadLetterTargetArn);
    const { Attributes } = await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({ VisibilityTimeout: '180', MessageRetentionPeriod: '1209600' });
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlq?.QueueArn,
      maxReceiveCount: 2,
    });

    await sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"orderId":"o1"}' }));

    // First receive: the message stays invisible for the visibility timeout, then comes back.
    const first = await receive(sqsClient, queueUrl, 5);
    expect(first.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['1']);
    expect(await receive(sqsClient, queueUrl)).toEqual([]);
    // Second receive, once it is visible again: a worker gives up on it at once.
    const second = await until('the message to come back after its visibility timeout', 20_000, async () => {
      const messages = await receive(sqsClient, queueUrl);
      return messages.length > 0 ? messages : undefined;
    });
    expect(second.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['2']);
    await sqsClient.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: second[0]?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );

    // The third receive exceeds maxReceiveCount: the message moves to the DLQ instead.
    expect(await receive(sqsClient, queueUrl)).toEqual([]);
    const dead = await receive(sqsClient, dlqUrl);
    expect(dead.map((m) => m.Body)).toEqual(['{"orderId":"o1"}']);
  });

  it('gives an existing queue the attributes of a changed template', async () => {
    const { sqsClient } = local;
    const queueUrl = await createQueueFromCfn(sqsClient, 'changing', { VisibilityTimeout: 30 }, () => '');

    expect(await createQueueFromCfn(sqsClient, 'changing', { VisibilityTimeout: 90 }, () => '')).toBe(
      queueUrl,
    );

    const { Attributes } = await sqsClient.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }),
    );
    expect(Attributes?.VisibilityTimeout).toBe('90');
  });

  it('long-polls: a waiting receive returns as soon as a message arrives', async () => {
    const { sqsClient } = local;
    const queueUrl = await createQueueFromCfn(sqsClient, 'long-poll', {}, () => '');
    const waitSeconds = 20;
    const started = Date.now();
    const waiting = sqsClient.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: waitSeconds }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await sqsClient.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'late' }));

    const { Messages = [] } = await waiting;
    expect(Messages.map((m) => m.Body)).toEqual(['late']);
    // Not at the end of the wait: when the message came.
    expect(Date.now() - started).toBeLessThan(waitSeconds * 1000);
  });

  it('keeps data on disk across stop() and start() with a dbPath, on the same port', async () => {
    const dbPath = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-ddb-'));
    tempDirs.push(dbPath);
    const dynamo = new DynamoDbLocal({ dbPath });
    try {
      await dynamo.start();
      const endpoint = dynamo.endpoint;
      const client = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint }));
      const TABLE = newTable();
      await createTableFromCfn(client, TABLE, CELL_TABLE_PROPS);
      await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 't1', sk: 'STOCK#sku-1', qty: 7 } }));

      const firstPid = dynamo.pid as number;
      await dynamo.stop();
      expect(dynamo.running).toBe(false);
      expect(pidExists(firstPid)).toBe(false);

      await dynamo.start();
      expect(dynamo.endpoint).toBe(endpoint);
      expect(dynamo.pid).not.toBe(firstPid);
      const { Item } = await client.send(
        new GetCommand({ TableName: TABLE, Key: { pk: 't1', sk: 'STOCK#sku-1' } }),
      );
      expect(Item?.qty).toBe(7);
      client.destroy();
    } finally {
      await dynamo.stop();
    }
  });

  it('fails to start with the reason when the port is taken or the process dies', async () => {
    const taken = new DynamoDbLocal({ port: Number(new URL(local.dynamo.endpoint).port) });
    await expect(taken.start()).rejects.toThrow(/port \d+ on 127\.0\.0\.1 is already in use/);

    const broken = new DynamoDbLocal({ javaOptions: ['-Xmx1k'] });
    await expect(broken.start()).rejects.toThrow(
      /stopped before it was ready \(exited with code 1\).*Too small maximum heap/s,
    );
    expect(broken.running).toBe(false);
  });

  it('stops both services: their processes no longer exist', async () => {
    const own = await startLocalAws();
    const pids = [own.dynamo.pid as number, own.sqs.pid as number];
    expect(pids.every(pidExists)).toBe(true);

    await own.stop();

    expect(pids.some(pidExists)).toBe(false);
    expect(own.dynamo.running || own.sqs.running).toBe(false);
    const tracked = trackedProcesses().map((p) => p.pid);
    for (const pid of pids) expect(tracked).not.toContain(pid);
  });
});
