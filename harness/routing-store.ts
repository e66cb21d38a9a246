import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';

import {
  CELL_REGISTRY_TABLE,
  RELEASES_TABLE,
  ROUTER_LIMITS_TABLE,
  ROUTES_TABLE,
} from '../lib/contracts/names';
import { RELEASES_TABLE_KEYS, ROUTER_LIMITS_TABLE_KEYS } from '../lib/contracts/table-schema';
import { createTableFromCfn } from '../lib/local/assembly/cfn-resources';
import type { LocalCellState, PlatformState } from '../lib/local/platform/platform-state';
import { DynamoDbLocal } from '../lib/local/services/dynamodb-local';

import { LOCAL_CLIENT_CONFIG } from './local-aws';

/** The routing tables' properties as the router stack declares them (on-demand, one string partition key). */
const routingTableProps = (partitionKey: string) => ({
  KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
  AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
  BillingMode: 'PAY_PER_REQUEST',
  PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  DeletionProtectionEnabled: true,
});

/** The releases table (release log, cell locks) as the router stack declares it: string pk and sk. */
const releasesTableProps = () => ({
  ...routingTableProps(RELEASES_TABLE_KEYS.partitionKey),
  KeySchema: [
    { AttributeName: RELEASES_TABLE_KEYS.partitionKey, KeyType: 'HASH' },
    { AttributeName: RELEASES_TABLE_KEYS.sortKey, KeyType: 'RANGE' },
  ],
  AttributeDefinitions: [
    { AttributeName: RELEASES_TABLE_KEYS.partitionKey, AttributeType: 'S' },
    { AttributeName: RELEASES_TABLE_KEYS.sortKey, AttributeType: 'S' },
  ],
});

export interface RoutingStore {
  readonly dynamo: DynamoDbLocal;
  readonly doc: DynamoDBDocumentClient;
  readonly routesTable: string;
  readonly registryTable: string;
  /** The router's per-tenant limit counters. */
  readonly limitsTable: string;
  putRoute(route: Record<string, unknown>): Promise<void>;
  putCell(cell: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** The routing store in its own DynamoDB Local: the routes table, the cell registry, the releases table, the limit counters. */
export async function startRoutingStore(): Promise<RoutingStore> {
  const dynamo = new DynamoDbLocal();
  await dynamo.start();
  const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: dynamo.endpoint });
  await createTableFromCfn(client, ROUTES_TABLE, routingTableProps('tenantId'));
  await createTableFromCfn(client, CELL_REGISTRY_TABLE, routingTableProps('cellId'));
  await createTableFromCfn(client, RELEASES_TABLE, releasesTableProps());
  await createTableFromCfn(
    client,
    ROUTER_LIMITS_TABLE,
    routingTableProps(ROUTER_LIMITS_TABLE_KEYS.partitionKey),
  );
  const doc = DynamoDBDocumentClient.from(client);
  return {
    dynamo,
    doc,
    routesTable: ROUTES_TABLE,
    registryTable: CELL_REGISTRY_TABLE,
    limitsTable: ROUTER_LIMITS_TABLE,
    putRoute: async (route) =>
      void (await doc.send(new PutCommand({ TableName: ROUTES_TABLE, Item: route }))),
    putCell: async (cell) =>
      void (await doc.send(new PutCommand({ TableName: CELL_REGISTRY_TABLE, Item: cell }))),
    async stop() {
      client.destroy();
      await dynamo.stop();
    },
  };
}

/** A platform state as the local platform would publish it, for targets built in tests. */
export function platformState(
  store: RoutingStore,
  cells: Record<
    string,
    Pick<LocalCellState, 'dynamodb' | 'tableName' | 'sqs' | 'queueUrl'> & Partial<LocalCellState>
  >,
): PlatformState {
  return {
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
    routingStore: {
      endpoint: store.dynamo.endpoint,
      routesTable: store.routesTable,
      registryTable: store.registryTable,
    },
    cells: Object.fromEntries(
      Object.entries(cells).map(([id, c], wave) => [
        id,
        { wave, endpoint: 'http://127.0.0.1:1', secret: '', dlqUrl: '', status: 'up', ...c },
      ]),
    ),
    tenants: {},
  };
}
