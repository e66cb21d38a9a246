import 'aws-sdk-client-mock-jest';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import { listTenants, placeTenant, seedTenants } from '../../../lib/cli/tenants';
import type { Cell, Fleet } from '../../../lib/config/types';
import { hashApiKey } from '../../../lib/domain/api-keys';
import { type MoveProgress, runMove } from '../../../lib/domain/migration';
import { AwsTenantsTarget } from '../../../lib/targets/tenants/aws-tenants-target';
import { movePorts } from '../../../lib/tenants/move';

const doc = mockClient(DynamoDBDocumentClient);
const ddb = mockClient(DynamoDBClient);
const lambda = mockClient(LambdaClient);
const sqs = mockClient(SQSClient);

const cell = (id: string, region: string, maxTenants: number): Cell => ({
  id,
  wave: 0,
  maxTenants,
  tenants: [],
  deployment: { type: 'allAtOnce', percent: 100, intervalMinutes: 0 },
  bakeMinutes: 0,
  account: '111111111111',
  region,
});

const fleet: Fleet = {
  router: { account: '111111111111', region: 'eu-west-1' },
  cells: [cell('use1-a', 'us-east-1', 2), cell('usw2-a', 'us-west-2', 5)],
};

const routes = [
  {
    tenantId: 'greenleaf',
    cellId: 'use1-a',
    status: 'active',
    keyHash: 'h1',
    createdAt: '2025-01-01T00:00:00Z',
  },
  {
    tenantId: 'kind-leaf',
    cellId: 'usw2-a',
    status: 'active',
    keyHash: 'h2',
    createdAt: '2025-01-01T00:00:00Z',
  },
];
const registry = [
  {
    cellId: 'use1-a',
    endpoint: 'https://a.lambda-url.us-east-1.on.aws/',
    region: 'us-east-1',
    status: 'active',
  },
  {
    cellId: 'usw2-a',
    endpoint: 'https://b.lambda-url.us-west-2.on.aws/',
    region: 'us-west-2',
    status: 'active',
  },
];

/** The region of the client a recorded call was sent with. */
async function regionOf(stub: { call(n: number): { thisValue: unknown } }, n: number): Promise<string> {
  const client = stub.call(n).thisValue as { config: { region: () => Promise<string> } };
  return client.config.region();
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

let target: AwsTenantsTarget;

beforeEach(() => {
  for (const stub of [doc, ddb, lambda, sqs]) stub.reset();
  target = new AwsTenantsTarget(fleet);
});

afterEach(() => target.close());

test('list: scans the routes table in the router’s region, page by page, strongly consistent', async () => {
  const moving = {
    ...routes[0],
    tenantId: 'high-noon',
    status: 'frozen',
    move: {
      tenantId: 'high-noon',
      from: 'use1-a',
      to: 'usw2-a',
      step: 'copy',
      copied: 40,
      total: 100,
      startedAt: 'x',
    },
  };
  doc
    .on(ScanCommand, { TableName: 'bulkhead-routes' })
    .resolvesOnce({ Items: [routes[1], moving], LastEvaluatedKey: { tenantId: 'high-noon' } })
    .resolvesOnce({ Items: [routes[0]] });
  const { out, io } = capture();

  expect(await listTenants(target, false, io)).toBe(0);

  expect(doc.calls().map((c) => c.args[0].input)).toEqual([
    { TableName: 'bulkhead-routes', ConsistentRead: true, ExclusiveStartKey: undefined },
    { TableName: 'bulkhead-routes', ConsistentRead: true, ExclusiveStartKey: { tenantId: 'high-noon' } },
  ]);
  expect(await regionOf(doc, 0)).toBe('eu-west-1');
  expect(out).toEqual([
    'TENANT     CELL    STATUS  MOVE',
    'greenleaf  use1-a  active',
    'high-noon  use1-a  frozen  → usw2-a (copy 40/100)',
    'kind-leaf  usw2-a  active',
  ]);
});

/** The cells' live API functions name their tables. */
function cellFunctions() {
  lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'bulkhead-use1-a-api' }).resolves({
    Environment: {
      Variables: { TABLE_NAME: 'cell-a-table', QUEUE_URL: 'https://sqs/a' },
    },
  });
  lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'bulkhead-usw2-a-api' }).resolves({
    Environment: {
      Variables: { TABLE_NAME: 'cell-b-table', QUEUE_URL: 'https://sqs/b' },
    },
  });
}

const tenantItem = (tenantId: string, keyHash: string) => ({
  pk: { S: tenantId },
  sk: { S: 'TENANT' },
  keyHash: { S: keyHash },
  schemaVersion: { N: '1' },
  updatedAt: { S: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
});

test('place: checks the id is free, counts tenants per cell, writes the cell’s key copy, then the route only if absent', async () => {
  doc.on(GetCommand).resolves({});
  doc.on(ScanCommand, { TableName: 'bulkhead-cell-registry' }).resolves({ Items: registry });
  doc.on(ScanCommand, { TableName: 'bulkhead-routes' }).resolves({ Items: routes });
  cellFunctions();
  const order: string[] = [];
  ddb.on(PutItemCommand).callsFake(() => (order.push('cell'), {}));
  doc.on(PutCommand).callsFake(() => (order.push('route'), {}));
  const { out, err, io } = capture();

  expect(await placeTenant(target, 'mile-high', {}, io)).toBe(0);

  // use1-a has 1 of 2 slots free (capacity from the fleet file), usw2-a 4 of 5.
  const apiKey = out[1].replace('api key: ', '');
  expect(out[0]).toBe('placed mile-high on cell usw2-a (us-west-2)');
  expect(err).toEqual([
    'warning: this API key is shown once and is not stored (only its hash is); keep it safe now',
  ]);
  expect(doc).toHaveReceivedCommandWith(GetCommand, {
    TableName: 'bulkhead-routes',
    Key: { tenantId: 'mile-high' },
    ConsistentRead: true,
  });
  expect(order).toEqual(['cell', 'route']);
  expect(ddb.commandCalls(PutItemCommand)[0].args[0].input).toEqual({
    TableName: 'cell-b-table',
    Item: tenantItem('mile-high', hashApiKey(apiKey)),
  });
  expect(await regionOf(ddb, 0)).toBe('us-west-2');
  expect(doc).toHaveReceivedCommandTimes(PutCommand, 1);
  expect(doc.commandCalls(PutCommand)[0].args[0].input).toEqual({
    TableName: 'bulkhead-routes',
    Item: {
      tenantId: 'mile-high',
      cellId: 'usw2-a',
      status: 'active',
      keyHash: hashApiKey(apiKey),
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    },
    ConditionExpression: 'attribute_not_exists(tenantId)',
  });
  expect(JSON.stringify([...doc.calls(), ...ddb.calls()].map((c) => c.args[0].input))).not.toContain(apiKey);
});

test('place: a cell that cannot be written places nothing', async () => {
  doc.on(GetCommand).resolves({});
  doc.on(ScanCommand, { TableName: 'bulkhead-cell-registry' }).resolves({ Items: registry });
  doc.on(ScanCommand, { TableName: 'bulkhead-routes' }).resolves({ Items: routes });
  cellFunctions();
  ddb.on(PutItemCommand).rejects(new Error('AccessDeniedException: not allowed'));
  const { io } = capture();
  await expect(placeTenant(target, 'mile-high', {}, io)).rejects.toThrow('not allowed');
  expect(doc).toHaveReceivedCommandTimes(PutCommand, 0);
});

describe('place: a tenant created meanwhile is refused, not overwritten', () => {
  function raced(winner: Record<string, unknown>) {
    doc.on(ScanCommand, { TableName: 'bulkhead-cell-registry' }).resolves({ Items: registry });
    doc.on(ScanCommand, { TableName: 'bulkhead-routes' }).resolves({ Items: routes });
    cellFunctions();
    ddb.on(PutItemCommand).resolves({});
    ddb.on(DeleteItemCommand).resolves({});
    doc.on(PutCommand).rejects(
      Object.assign(new Error('The conditional request failed'), {
        name: 'ConditionalCheckFailedException',
      }),
    );
    // Free when checked, taken when the route is written.
    doc
      .on(GetCommand)
      .resolvesOnce({})
      .resolves({ Item: { ...winner, tenantId: 'mile-high' } });
  }

  test('the winner is on another cell: our copy there is removed, only if it is still ours', async () => {
    raced(routes[0]);
    const { out, err, io } = capture();
    expect(await placeTenant(target, 'mile-high', {}, io)).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual(["bulkhead tenants place: tenant 'mile-high' already exists (placed meanwhile)"]);
    const ours = ddb.commandCalls(PutItemCommand)[0].args[0].input.Item!.keyHash.S;
    expect(ddb.commandCalls(DeleteItemCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: 'cell-b-table',
        Key: { pk: { S: 'mile-high' }, sk: { S: 'TENANT' } },
        ConditionExpression: 'keyHash = :h',
        ExpressionAttributeValues: { ':h': { S: ours } },
      },
    ]);
  });

  test('the winner is on the same cell: its copy is put back', async () => {
    raced({ ...routes[1], keyHash: 'h-win' });
    expect(await placeTenant(target, 'mile-high', {}, capture().io)).toBe(1);
    const written = ddb.commandCalls(PutItemCommand).map((c) => c.args[0].input.Item!.keyHash.S);
    expect(written).toHaveLength(2);
    expect(written[0]).not.toBe('h-win');
    expect(written[1]).toBe('h-win');
    expect(ddb.commandCalls(DeleteItemCommand)).toHaveLength(0);
  });
});

describe('seed', () => {
  const seedFleet: Fleet = {
    ...fleet,
    cells: [
      { ...fleet.cells[0], tenants: [{ id: 'greenleaf' }, { id: 'high-noon' }] },
      { ...fleet.cells[1], tenants: [{ id: 'kind-leaf' }, { id: 'pacific-roots' }, { id: 'emerald-coast' }] },
    ],
  };

  beforeEach(() => {
    doc.on(ScanCommand, { TableName: 'bulkhead-cell-registry' }).resolves({ Items: registry });
    doc.on(ScanCommand, { TableName: 'bulkhead-routes' }).resolves({ Items: routes });
    cellFunctions();
    ddb.on(PutItemCommand).resolves({});
    doc.on(PutCommand).resolves({});
  });

  test('places each fleet tenant not yet routed on its declared cell, prints each key once, leaves the others alone', async () => {
    const { out, err, io } = capture();
    expect(await seedTenants(target, seedFleet, {}, io)).toBe(0);

    // greenleaf and kind-leaf are routed already: untouched. The three others are new.
    expect(out[0]).toMatch(/^TENANT\s+CELL\s+API KEY$/);
    const rows = out.slice(1).map((l) => l.split(/\s+/));
    expect(rows.map(([t, c]) => [t, c])).toEqual([
      ['high-noon', 'use1-a'],
      ['pacific-roots', 'usw2-a'],
      ['emerald-coast', 'usw2-a'],
    ]);
    const keys = Object.fromEntries(rows.map(([t, , k]) => [t, k]));
    for (const [tenantId, cellId, table] of [
      ['high-noon', 'use1-a', 'cell-a-table'],
      ['pacific-roots', 'usw2-a', 'cell-b-table'],
      ['emerald-coast', 'usw2-a', 'cell-b-table'],
    ]) {
      expect(keys[tenantId]).toMatch(new RegExp(`^bk_${tenantId}_`));
      expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
        TableName: table,
        Item: tenantItem(tenantId, hashApiKey(keys[tenantId])),
      });
      expect(doc).toHaveReceivedCommandWith(PutCommand, {
        TableName: 'bulkhead-routes',
        Item: expect.objectContaining({
          tenantId,
          cellId,
          status: 'active',
          keyHash: hashApiKey(keys[tenantId]),
        }),
        ConditionExpression: 'attribute_not_exists(tenantId)',
      });
    }
    expect(doc).toHaveReceivedCommandTimes(PutCommand, 3);
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 3);
    expect(err.at(-2)).toBe('seeded 3 tenants; 2 already in the routing store, left alone');
    expect(err.join('\n')).not.toContain('bk_');
  });

  test('--json: seeded with keys, existing, failed', async () => {
    const { out, io } = capture();
    const small: Fleet = {
      ...seedFleet,
      cells: [
        {
          ...seedFleet.cells[0],
          maxTenants: 2,
          tenants: [{ id: 'greenleaf' }, { id: 'high-noon' }, { id: 'x-tra' }],
        },
      ],
    };
    expect(await seedTenants(target, small, { json: true }, io)).toBe(1);
    const result = JSON.parse(out.join('\n'));
    expect(result).toEqual({
      seeded: [
        {
          tenantId: 'high-noon',
          cellId: 'use1-a',
          region: 'us-east-1',
          apiKey: expect.stringMatching(/^bk_high-noon_/),
        },
      ],
      existing: [{ tenantId: 'greenleaf', cellId: 'use1-a' }],
      // use1-a holds 2 of 2 once high-noon is on it.
      failed: [{ tenantId: 'x-tra', cellId: 'use1-a', reason: 'cell use1-a is full (2/2 tenants)' }],
    });
  });

  test('a tenant whose declared cell is not deployed, or cannot be written, is reported and the rest go on', async () => {
    const ghost: Fleet = {
      ...seedFleet,
      cells: [
        { ...seedFleet.cells[0], tenants: [{ id: 'high-noon' }] },
        { ...seedFleet.cells[1], id: 'ghost-1', tenants: [{ id: 'boo' }] },
      ],
    };
    ddb
      .on(PutItemCommand)
      .rejectsOnce(new Error('ProvisionedThroughputExceededException: slow down'))
      .resolves({});
    const { out, err, io } = capture();
    expect(await seedTenants(target, ghost, {}, io)).toBe(1);
    expect(err).toEqual(
      expect.arrayContaining([
        '  high-noon: not seeded: ProvisionedThroughputExceededException: slow down',
        '  boo: not seeded: cell ghost-1 is not in the cell registry: deploy Bulkhead-Cell-ghost-1 first',
        'seeded 0 tenants; 0 already in the routing store, left alone; 2 not seeded',
      ]),
    );
    expect(out).toEqual([]);
    expect(doc).toHaveReceivedCommandTimes(PutCommand, 0);
    // Run again: the one that failed for a passing reason is seeded now.
    const again = capture();
    expect(await seedTenants(target, ghost, {}, again.io)).toBe(1);
    expect(again.out[1]).toMatch(/^high-noon\s+use1-a\s+bk_high-noon_/);
  });
});

test('move, one copy step: finds each cell’s table from its live API function, copies a page, saves the cursor', async () => {
  cellFunctions();
  const items: Record<string, AttributeValue>[] = [
    { pk: { S: 'greenleaf' }, sk: { S: 'INV#a' }, quantity: { N: '3' }, tags: { SS: ['x', 'y'] } },
    { pk: { S: 'greenleaf' }, sk: { S: 'INV#b' }, quantity: { N: '1.50' } },
  ];
  ddb
    .on(QueryCommand)
    .resolves({ Items: items, LastEvaluatedKey: { pk: { S: 'greenleaf' }, sk: { S: 'INV#b' } } });
  ddb.on(BatchWriteItemCommand).resolves({ UnprocessedItems: {} });
  doc.on(UpdateCommand).resolves({});

  const progress: MoveProgress = {
    tenantId: 'greenleaf',
    from: 'use1-a',
    to: 'usw2-a',
    step: 'copy',
    cursor: JSON.stringify({ pk: { S: 'greenleaf' }, sk: { S: 'INV#0' } }),
    copied: 100,
    total: 102,
    startedAt: '2025-04-20T10:00:00.000Z',
    integrationWasEnabled: true,
    // This run holds the move's lease, long enough for the step not to renew it first.
    owner: 'run-1',
    leaseUntil: '2999-01-01T00:00:00.000Z',
  };
  const ports = await movePorts(target, 'use1-a', 'usw2-a');
  class Stop extends Error {}
  await expect(
    runMove(progress, ports, {
      pageSize: 2,
      owner: 'run-1',
      afterSave: () => {
        throw new Stop();
      },
    }),
  ).rejects.toThrow(Stop);

  expect(lambda.calls().map((c) => c.args[0].input)).toEqual([
    { FunctionName: 'bulkhead-use1-a-api', Qualifier: 'live' },
    { FunctionName: 'bulkhead-usw2-a-api', Qualifier: 'live' },
  ]);
  expect([await regionOf(lambda, 0), await regionOf(lambda, 1)]).toEqual(['us-east-1', 'us-west-2']);

  expect(ddb.calls().map((c) => c.args[0].input)).toEqual([
    {
      TableName: 'cell-a-table',
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': 'pk' },
      ExpressionAttributeValues: { ':pk': { S: 'greenleaf' } },
      ConsistentRead: true,
      Limit: 2,
      ExclusiveStartKey: { pk: { S: 'greenleaf' }, sk: { S: 'INV#0' } },
    },
    // Written back as read: the number keeps its text, the set stays a set.
    { RequestItems: { 'cell-b-table': items.map((Item) => ({ PutRequest: { Item } })) } },
  ]);
  expect([await regionOf(ddb, 0), await regionOf(ddb, 1)]).toEqual(['us-east-1', 'us-west-2']);

  expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
    {
      TableName: 'bulkhead-routes',
      Key: { tenantId: 'greenleaf' },
      UpdateExpression: 'SET #move = :new_move',
      ConditionExpression:
        'attribute_exists(tenantId) AND #cellId = :was_cellId AND #status = :was_status AND ' +
        '#move.#step = :was_step AND #move.#startedAt = :was_started AND #move.#owner = :was_owner',
      ExpressionAttributeNames: {
        '#move': 'move',
        '#cellId': 'cellId',
        '#status': 'status',
        '#step': 'step',
        '#startedAt': 'startedAt',
        '#owner': 'owner',
      },
      ExpressionAttributeValues: {
        ':new_move': {
          ...progress,
          cursor: JSON.stringify({ pk: { S: 'greenleaf' }, sk: { S: 'INV#b' } }),
          copied: 102,
          leaseUntil: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
        ':was_cellId': 'use1-a',
        ':was_status': 'frozen',
        ':was_step': 'copy',
        ':was_started': '2025-04-20T10:00:00.000Z',
        ':was_owner': 'run-1',
      },
    },
  ]);
  expect(await regionOf(doc, 0)).toBe('eu-west-1');
  expect(sqs.calls()).toEqual([]);
});
