/**
 * The tenants port's contract (test/contracts), run for real against the local tenants target: DynamoDB
 * Local and fauxqs, a fresh routing store, cell tables and queues for every test.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

import {
  CELL_TABLE_PROPS,
  LOCAL_CLIENT_CONFIG,
  type LocalAws,
  startLocalAws,
  SYNC_DLQ_PROPS,
} from '../../../harness/local-aws';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';
import type { LocalCellState, PlatformState } from '../../../lib/local/platform/platform-state';
import { LocalTenantsTarget } from '../../../lib/targets/tenants/local-tenants-target';
import { CONTRACT_FLEET, describeTenantsTargetContract } from '../../contracts/tenants-target.contract';

import { receiveAll } from './receive-all';

let aws: LocalAws;
let sqs: SQSClient;
let worlds = 0;

beforeAll(async () => {
  aws = await startLocalAws();
  // fauxqs's queue URLs name a host that need not resolve: always send to its endpoint.
  sqs = new SQSClient({ ...LOCAL_CLIENT_CONFIG, endpoint: aws.sqs.endpoint, useQueueUrlAsEndpoint: false });
}, 90_000);

afterAll(async () => {
  sqs?.destroy();
  await aws?.stop();
});

/** The routing tables as the router stack declares them: one string partition key. */
const routingTable = (name: string, partitionKey: string) =>
  createTableFromCfn(aws.ddbClient, name, {
    KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  });

describeTenantsTargetContract('local (DynamoDB Local and fauxqs)', async () => {
  const n = ++worlds;
  const routesTable = `routes-${n}`;
  const registryTable = `registry-${n}`;
  await Promise.all([routingTable(routesTable, 'tenantId'), routingTable(registryTable, 'cellId')]);
  const cells: Record<string, LocalCellState> = {};
  for (const [wave, { id }] of CONTRACT_FLEET.cells.entries()) {
    await createTableFromCfn(aws.ddbClient, `table-${id}-${n}`, CELL_TABLE_PROPS);
    const queueUrl = await createQueueFromCfn(sqs, `sync-${id}-${n}`, SYNC_DLQ_PROPS, () => '');
    cells[id] = {
      wave,
      endpoint: 'http://127.0.0.1:1',
      secret: '',
      dynamodb: aws.dynamo.endpoint,
      tableName: `table-${id}-${n}`,
      sqs: aws.sqs.endpoint,
      queueUrl,
      dlqUrl: '',
      status: 'up',
    };
  }
  const state: PlatformState = {
    pid: process.pid,
    control: 'http://127.0.0.1:1',
    router: 'http://127.0.0.1:1',
    statusPage: 'http://127.0.0.1:1',
    compliance: {
      url: 'http://127.0.0.1:1',
      vendorKey: '',
      userKeys: {},
      licenseNumbers: {},
      sandbox: { url: 'http://127.0.0.1:1', licenseNumber: 'bulkhead-drill' },
    },
    routingStore: { endpoint: aws.dynamo.endpoint, routesTable, registryTable },
    cells,
    tenants: {},
  };
  const target = new LocalTenantsTarget(state, { fleet: CONTRACT_FLEET });
  const registry = DynamoDBDocumentClient.from(aws.ddbClient);
  return {
    target,
    registerCell: async (cell) =>
      void (await registry.send(
        new PutCommand({ TableName: registryTable, Item: { endpoint: 'http://127.0.0.1:1', ...cell } }),
      )),
    syncMessages: async (cellId) =>
      (await receiveAll(sqs, cells[cellId].queueUrl)).map((body) => JSON.parse(body) as unknown),
    dispose: async () => target.close(),
  };
});
