/**
 * API keys are stored only as hashes: `bulkhead tenants place` against DynamoDB Local, into the routing
 * store's tables and a cell's table exactly as synthesized. (The template checks of issue 7 are unit tests,
 * `test/unit/cdk/security.test.ts`; the local platform's seeding is checked against a running platform by
 * `test/reliability/secrets-at-rest.test.ts`.)
 */
import { ListTablesCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';

import { startLocalAws, type LocalAws } from '../../../harness/local-aws';
import { placeTenant } from '../../../lib/cli/tenants';
import { hashApiKey } from '../../../lib/domain/api-keys';
import { createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';
import { readAssembly } from '../../../lib/local/assembly/template-model';
import type { PlatformState } from '../../../lib/local/platform/platform-state';
import { LocalTenantsTarget } from '../../../lib/targets/tenants/local-tenants-target';
import { buildFleet, exampleFleet } from '../../unit/cdk/fixtures';

jest.setTimeout(120_000);

const CELL = 'use1-a';
let aws: LocalAws;
let assemblyDir: string; // removed with the fixtures' scratch folder

beforeAll(async () => {
  // The router and one cell are all `place` needs; synthesized while the services start.
  const starting = startLocalAws();
  assemblyDir = buildFleet(exampleFleet(), [CELL], false, ['**']).app.synth().directory;
  aws = await starting;
});

afterAll(() => aws?.stop());

/** Every item of every table, as text. */
async function everythingStored(): Promise<string[]> {
  const values: string[] = [];
  const { TableNames = [] } = await aws.ddbClient.send(new ListTablesCommand({}));
  for (const TableName of TableNames) {
    let start: Record<string, never> | undefined;
    do {
      const out = await aws.ddbClient.send(new ScanCommand({ TableName, ExclusiveStartKey: start }));
      for (const item of out.Items ?? []) values.push(JSON.stringify(item));
      start = out.LastEvaluatedKey as typeof start;
    } while (start);
  }
  return values;
}

/** The routing store's tables and the cell's table as synthesized, the cell registered as active. */
async function synthesizedTables(): Promise<PlatformState> {
  const assembly = readAssembly(assemblyDir);
  for (const table of assembly.router.tables) {
    await createTableFromCfn(aws.ddbClient, table.tableName, table.properties);
  }
  const cell = assembly.cells.find((c) => c.cellId === CELL)!;
  await createTableFromCfn(aws.ddbClient, cell.tables[0].tableName, cell.tables[0].properties);
  const { QueueUrl } = await aws.sqsClient.send(new CreateQueueCommand({ QueueName: 'security-sync' }));
  const routesTable = assembly.router.tables.find((t) => /route/i.test(t.logicalId))!.tableName;
  const registryTable = assembly.router.tables.find((t) => /registry/i.test(t.logicalId))!.tableName;
  await aws.ddbClient.send(
    new PutItemCommand({
      TableName: registryTable,
      Item: {
        cellId: { S: CELL },
        endpoint: { S: 'http://127.0.0.1:9' },
        region: { S: 'us-east-1' },
        status: { S: 'active' },
        maxTenants: { N: '20' },
      },
    }),
  );
  return {
    routingStore: { endpoint: aws.dynamo.endpoint, routesTable, registryTable },
    cells: {
      [CELL]: {
        dynamodb: aws.dynamo.endpoint,
        tableName: cell.tables[0].tableName,
        sqs: aws.sqs.endpoint,
        queueUrl: QueueUrl!,
      },
    },
  } as unknown as PlatformState;
}

test('`bulkhead tenants place` stores the key hash, and the key nowhere', async () => {
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: () => undefined };
  const target = new LocalTenantsTarget(await synthesizedTables());
  try {
    expect(await placeTenant(target, 'hash-only', { json: true }, io)).toBe(0);
  } finally {
    target.close();
  }
  const { apiKey } = JSON.parse(lines.join('\n')) as { apiKey: string };
  // The secret part: after the tenant id (which holds no `_`; the secret may).
  const secret = apiKey.slice(apiKey.indexOf('_', 3) + 1);
  expect(secret).toHaveLength(43);
  const stored = await everythingStored();
  expect(stored.join('\n')).toContain(hashApiKey(apiKey));
  expect(stored.filter((v) => v.includes(secret) || v.includes(apiKey))).toEqual([]);
});
