import {
  type AttributeValue,
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';

import { CELL_TABLE_PROPS, LOCAL_CLIENT_CONFIG, SYNC_DLQ_PROPS } from '../../../harness/local-aws';
import { platformState, type RoutingStore, startRoutingStore } from '../../../harness/routing-store';
import { DynamoRoutingStore } from '../../../lambdas/router/store';
import { UsageError } from '../../../lib/cli/io';
import { moveTenantCommand } from '../../../lib/cli/tenants';
import type { Cell, Fleet } from '../../../lib/config/types';
import { ItemsChecksum, type MoveProgress } from '../../../lib/domain/migration';
import { EMPTY_BAKED_ROUTING, resolveTenant, RouteCache } from '../../../lib/domain/route-cache';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';
import type { PlatformState } from '../../../lib/local/platform/platform-state';
import { DynamoDbLocal } from '../../../lib/local/services/dynamodb-local';
import { FauxqsServer } from '../../../lib/local/services/fauxqs';
import { LocalTenantsTarget } from '../../../lib/targets/tenants/local-tenants-target';

import { receiveAll } from './receive-all';

type Row = Record<string, AttributeValue>;

const SETTINGS = 'INTEGRATION#SETTINGS';
const ROUTE_TTL_MS = 100;
/** Longer than the readers' route cache TTL, as the real default is longer than the router's. */

let routing: RoutingStore;
const dynamos = { 'cell-a': new DynamoDbLocal(), 'cell-b': new DynamoDbLocal() };
const sqsServer = new FauxqsServer();
const ddb: Record<string, DynamoDBClient> = {};
let sqs: SQSClient;
let state: PlatformState;
let target: LocalTenantsTarget;
const table = (cellId: string) => `table-${cellId}`;

beforeAll(async () => {
  const [store] = await Promise.all([
    startRoutingStore(),
    dynamos['cell-a'].start(),
    dynamos['cell-b'].start(),
    sqsServer.start(),
  ]);
  routing = store;
  sqs = new SQSClient({ ...LOCAL_CLIENT_CONFIG, endpoint: sqsServer.endpoint, useQueueUrlAsEndpoint: false });
  const queues: Record<string, string> = {};
  for (const [cellId, dynamo] of Object.entries(dynamos)) {
    ddb[cellId] = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: dynamo.endpoint });
    await createTableFromCfn(ddb[cellId], table(cellId), CELL_TABLE_PROPS);
    queues[cellId] = await createQueueFromCfn(sqs, `sync-${cellId}`, SYNC_DLQ_PROPS, () => '');
  }
  const cell = (cellId: keyof typeof dynamos, more: Record<string, unknown> = {}) =>
    routing.putCell({
      cellId,
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      status: 'active',
      ...more,
    });
  await Promise.all([
    cell('cell-a', { maxTenants: 10 }),
    cell('cell-b', { maxTenants: 10 }),
    routing.putCell({
      cellId: 'cell-c',
      endpoint: 'x',
      region: 'us-east-1',
      status: 'draining',
      maxTenants: 10,
    }),
    routing.putCell({
      cellId: 'cell-d',
      endpoint: 'x',
      region: 'us-east-1',
      status: 'active',
      maxTenants: 1,
    }),
    routing.putRoute({ tenantId: 'solo', cellId: 'cell-d', status: 'active', keyHash: 'h', createdAt: 'x' }),
  ]);
  state = platformState(routing, {
    'cell-a': {
      dynamodb: dynamos['cell-a'].endpoint,
      tableName: table('cell-a'),
      sqs: sqsServer.endpoint,
      queueUrl: queues['cell-a'],
    },
    'cell-b': {
      dynamodb: dynamos['cell-b'].endpoint,
      tableName: table('cell-b'),
      sqs: sqsServer.endpoint,
      queueUrl: queues['cell-b'],
    },
  });
  target = new LocalTenantsTarget(state);
}, 60_000);

afterAll(async () => {
  target?.close();
  for (const client of Object.values(ddb)) client.destroy();
  sqs?.destroy();
  await Promise.all([routing?.stop(), ...Object.values(dynamos).map((d) => d.stop()), sqsServer.stop()]);
});

const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });

/**
 * A tenant's items as the cell API and `tenants place` write them: the cell's copy of the key hash,
 * settings, inventory, orders (every tenth pending).
 */
function tenantItems(tenantId: string, count: number): Row[] {
  const rows: Row[] = [
    { pk: s(tenantId), sk: s('TENANT'), keyHash: s('c'.repeat(64)), schemaVersion: n(1) },
    {
      pk: s(tenantId),
      sk: s(SETTINGS),
      enabled: { BOOL: true },
      lastSuccessAt: n(1_713_600_000_000),
      schemaVersion: n(1),
    },
  ];
  // Idempotency records: one still valid, one expired that DynamoDB has not deleted yet.
  for (const [key, expiresAt] of [
    ['live', 4_000_000_000],
    ['expired', 1_700_000_000],
  ] as const) {
    rows.push({
      pk: s(tenantId),
      sk: s(`IDEMP#${key}`),
      type: s('idempotency'),
      orderId: s('o000001'),
      expiresAt: n(expiresAt),
    });
  }
  const inventory = Math.floor((count - rows.length) * 0.6);
  for (let i = 0; i < inventory; i++) {
    const sku = `sku-${String(i).padStart(5, '0')}`;
    rows.push({
      pk: s(tenantId),
      sk: s(`INV#${sku}`),
      type: s('inventory'),
      schemaVersion: n(1),
      sku: s(sku),
      quantity: n(i % 97),
      name: s(`Item ${i}`),
      priceCents: n(1000 + i),
      updatedAt: s('2025-04-20T10:00:00.000Z'),
      // Kept exactly by the copy: sets, binary and a number with more digits than a double holds.
      ...(i % 100 === 0 && {
        tags: { SS: ['indica', 'top-shelf'] },
        label: { B: Buffer.from([i % 256, 7]) },
      }),
      ...(i === 1 && { serial: { N: '12345678901234567890.123' } }),
    });
  }
  for (let i = 0; rows.length < count; i++) {
    const createdAt = new Date(Date.UTC(2025, 3, 20, 10) + i * 1000).toISOString();
    const pending = i % 10 === 0;
    const status = pending ? 'PENDING' : 'SYNCED';
    rows.push({
      pk: s(tenantId),
      sk: s(`ORDER#o${String(i).padStart(6, '0')}`),
      type: s('order'),
      schemaVersion: n(1),
      id: s(`o${String(i).padStart(6, '0')}`),
      items: { L: [{ M: { sku: s('sku-00001'), quantity: n(1), unitPriceCents: n(1001) } }] },
      totalCents: n(1001),
      syncStatus: s(status),
      createdAt: s(createdAt),
      statusPk: s(`${tenantId}#${status}`),
      ...(pending && { pendingTenant: s(tenantId), pendingSince: s(createdAt) }),
    });
  }
  return rows;
}

async function seed(cellId: string, rows: readonly Row[]): Promise<void> {
  const batches: Row[][] = [];
  for (let i = 0; i < rows.length; i += 25) batches.push(rows.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const out = await ddb[cellId].send(
          new BatchWriteItemCommand({ RequestItems: { [table(cellId)]: pending } }),
        );
        pending = (out.UnprocessedItems?.[table(cellId)] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}

async function itemsAt(cellId: string, tenantId: string): Promise<Row[]> {
  const rows: Row[] = [];
  let start: Row | undefined;
  do {
    const out = await ddb[cellId].send(
      new QueryCommand({
        TableName: table(cellId),
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': s(tenantId) },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    rows.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return rows;
}

/** Count and checksum, leaving out the integration settings (the move rewrites their switch); sets sorted. */
const summary = (rows: readonly Row[]) =>
  new ItemsChecksum()
    .add(
      rows
        .filter((r) => r.sk.S !== SETTINGS)
        .map((r) => (r.tags ? { ...r, tags: { SS: [...r.tags.SS!].sort() } } : r)),
    )
    .toString();

async function routeOf(tenantId: string) {
  const { Item } = await routing.doc.send(
    new GetCommand({ TableName: routing.routesTable, Key: { tenantId } }),
  );
  return Item as { cellId: string; status: string; move?: MoveProgress } | undefined;
}

async function placeOn(tenantId: string, cellId: string, rows: readonly Row[]) {
  await routing.putRoute({
    tenantId,
    cellId,
    status: 'active',
    keyHash: 'h',
    createdAt: '2025-01-01T00:00:00Z',
  });
  await seed(cellId, rows);
}

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

test('a tenant with 5,000 items moves while reads go on; every item is at the target once and gone from the source', async () => {
  const rows = tenantItems('bigco', 5000);
  await placeOn('bigco', 'cell-a', rows);
  await seed('cell-a', tenantItems('neighbour', 30));
  await seed('cell-b', tenantItems('resident', 30));
  const pendingOrders = rows.filter((r) => r.pendingTenant).map((r) => r.id.S);

  // A reader that does what the router does: cached route (short TTL), then a read from that cell.
  const store = new DynamoRoutingStore(routing.doc, routing.routesTable, routing.registryTable);
  const cache = new RouteCache({ ttlMs: ROUTE_TTL_MS });
  const reads = { ok: 0, failures: [] as string[], cells: new Set<string>(), statuses: new Set<string>() };
  let reading = true;
  const reader = (async () => {
    while (reading) {
      const route = await resolveTenant(
        cache,
        'bigco',
        Date.now(),
        (id) => store.getTenant(id),
        EMPTY_BAKED_ROUTING,
        1000,
      );
      if (!('value' in route)) {
        reads.failures.push(`route: ${route.source}`);
        continue;
      }
      const { cellId, status } = route.value;
      const { Item } = await ddb[cellId].send(
        new GetItemCommand({
          TableName: table(cellId),
          Key: { pk: s('bigco'), sk: s('INV#sku-00042') },
          ConsistentRead: true,
        }),
      );
      if (Item?.quantity?.N === '42') reads.ok += 1;
      else reads.failures.push(`read at ${cellId}: ${JSON.stringify(Item)}`);
      reads.cells.add(cellId);
      reads.statuses.add(status);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();

  const { out, err, io } = capture();
  const phases: Record<string, number> = {};
  const started = Date.now();
  const code = await moveTenantCommand(
    target,
    'bigco',
    'cell-b',
    { afterSave: (p) => void (phases[p.step] ??= Date.now()) },
    io,
  );
  const elapsed = Date.now() - started;
  reading = false;
  await reader;

  expect(err.filter((l) => l.startsWith('bulkhead'))).toEqual([]);
  expect(code).toBe(0);
  expect(err).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^copied 500\/5000 items \([1-9]\d* items\/s, about \d+ s left\)$/),
      expect.stringMatching(/^copied 5000\/5000 items \([1-9]\d* items\/s\)$/),
    ]),
  );
  expect(err.some((l) => l.startsWith('waiting'))).toBe(false);
  expect(out).toEqual([expect.stringMatching(/^moved bigco from cell-a to cell-b: 5000 items in [\d.]+ s/)]);

  // Reads never failed, and were served by the source, then by the target; the tenant was frozen meanwhile.
  expect(reads.failures).toEqual([]);
  expect(reads.ok).toBeGreaterThan(20);
  expect(reads.cells).toEqual(new Set(['cell-a', 'cell-b']));
  expect(reads.statuses).toEqual(new Set(['active', 'frozen']));

  const atTarget = await itemsAt('cell-b', 'bigco');
  expect(atTarget).toHaveLength(5000);
  expect(new Set(atTarget.map((r) => r.sk.S)).size).toBe(5000);
  expect(summary(atTarget)).toBe(summary(rows));
  expect(atTarget.find((r) => r.sk.S === 'INV#sku-00001')?.serial).toEqual({ N: '12345678901234567890.123' });
  expect(atTarget.find((r) => r.sk.S === SETTINGS)).toMatchObject({
    enabled: { BOOL: true },
    lastSuccessAt: n(1_713_600_000_000),
  });
  // The cell's copy of the key moved too, exactly as it was (marked frozen only while moving).
  expect(atTarget.find((r) => r.sk.S === 'TENANT')).toEqual(rows.find((r) => r.sk.S === 'TENANT'));
  // Of the tenant, the source keeps only its key copy, marked moved: it answers "moved" to stale routers.
  expect(await itemsAt('cell-a', 'bigco')).toEqual([
    { ...rows.find((r) => r.sk.S === 'TENANT'), frozen: { BOOL: true }, movedTo: { S: 'cell-b' } },
  ]);
  expect(await itemsAt('cell-a', 'neighbour')).toHaveLength(30);
  expect(await itemsAt('cell-b', 'resident')).toHaveLength(30);

  expect(await routeOf('bigco')).toMatchObject({
    cellId: 'cell-b',
    status: 'active',
    move: { step: 'done', copied: 5000, total: 5000 },
  });
  const enqueued = (await receiveAll(sqs, state.cells['cell-b'].queueUrl)).map(
    (b) => JSON.parse(b) as { tenantId: string; orderId: string },
  );
  expect(new Set(enqueued.map((m) => m.orderId))).toEqual(new Set(pendingOrders));
  expect(enqueued.every((m) => m.tenantId === 'bigco')).toBe(true);

  const copyMs = phases.verify - phases.copy;
  console.log(
    `5,000-item move: copy ${Math.round(5000 / (copyMs / 1000))} items/s (${copyMs} ms); ` +
      `whole move ${Math.round(5000 / (elapsed / 1000))} items/s ` +
      `(${elapsed} ms: freeze, copy, verify both sides, flip, unfreeze, enqueue, delete the source; no waits); ` +
      `${reads.ok} reads meanwhile`,
  );
});

test('a move killed mid-copy and run again completes exactly', async () => {
  const rows = tenantItems('smallco', 1500);
  await placeOn('smallco', 'cell-a', rows);

  let pages = 0;
  const killed = capture();
  const code = await moveTenantCommand(
    target,
    'smallco',
    'cell-b',
    {
      pageSize: 200,
      afterSave: (p) => {
        if (p.step === 'copy' && p.cursor !== undefined && ++pages === 3)
          throw new Error('killed after 3 pages');
      },
    },
    killed.io,
  );
  expect(code).toBe(1);
  expect(killed.err.at(-1)).toBe(
    'bulkhead tenants move: the move stopped at step copy: killed after 3 pages; run the same command again to resume',
  );
  expect(await routeOf('smallco')).toMatchObject({
    cellId: 'cell-a',
    status: 'frozen',
    move: { step: 'copy', copied: 600 },
  });
  expect(await itemsAt('cell-b', 'smallco')).toHaveLength(600);

  const rerun = capture();
  expect(await moveTenantCommand(target, 'smallco', 'cell-b', { pageSize: 200 }, rerun.io)).toBe(0);
  expect(rerun.err[0]).toBe('resuming the move of smallco to cell-b at step copy');
  expect(rerun.err).toContainEqual(expect.stringMatching(/^copied 800\/1500 items \(/));
  expect(rerun.err).not.toContainEqual(expect.stringMatching(/^copied 200\/1500 items/));

  const atTarget = await itemsAt('cell-b', 'smallco');
  expect(atTarget).toHaveLength(1500);
  expect(summary(atTarget)).toBe(summary(rows));
  expect((await itemsAt('cell-a', 'smallco')).map((r) => [r.sk.S, r.movedTo?.S])).toEqual([
    ['TENANT', 'cell-b'],
  ]);
  expect(await routeOf('smallco')).toMatchObject({
    cellId: 'cell-b',
    status: 'active',
    move: { step: 'done' },
  });
});

test('two moves of one tenant at once: one wins, the other stops with a clear message (exit 1), and the target keeps every write', async () => {
  const rows = tenantItems('twinco', 300);
  await placeOn('twinco', 'cell-a', rows);
  const runs = [capture(), capture()];
  const codes = await Promise.all(
    runs.map((run) => moveTenantCommand(target, 'twinco', 'cell-b', { pageSize: 50 }, run.io)),
  );
  expect([...codes].sort()).toEqual([0, 1]);
  const loser = runs[codes.indexOf(1)];
  expect(loser.err.at(-1)).toMatch(
    /^bulkhead tenants move: (the move of twinco is held by another 'tenants move' run|the move stopped.*is another 'tenants move' running\?)/,
  );
  expect(await routeOf('twinco')).toMatchObject({
    cellId: 'cell-b',
    status: 'active',
    move: { step: 'done' },
  });
  const atTarget = await itemsAt('cell-b', 'twinco');
  expect(atTarget).toHaveLength(rows.length);
  expect(summary(atTarget)).toBe(summary(rows));
  // The loser wrote nothing after the winner: running it again now is refused and changes nothing.
  const again = capture();
  expect(await moveTenantCommand(target, 'twinco', 'cell-b', {}, again.io)).toBe(1);
  expect(again.err).toEqual(['bulkhead tenants move: tenant twinco is already on cell cell-b']);
  expect(summary(await itemsAt('cell-b', 'twinco'))).toBe(summary(rows));
});

describe('refusals: one line, non-zero exit, nothing changed', () => {
  beforeAll(async () => {
    await placeOn('stayco', 'cell-a', tenantItems('stayco', 5));
  });

  test.each([
    ['nope', "unknown cell 'nope' (cells: cell-a, cell-b, cell-c, cell-d)"],
    ['cell-c', 'cell cell-c is draining, not active: it takes no tenants'],
    ['cell-d', 'cell cell-d is full (1/1 tenants)'],
    ['cell-a', 'tenant stayco is already on cell cell-a'],
  ])('to %s', async (to, reason) => {
    const { out, err, io } = capture();
    if (to === 'nope') {
      // Bad usage: the CLI prints it and exits 2.
      await expect(moveTenantCommand(target, 'stayco', to, {}, io)).rejects.toThrow(new UsageError(reason));
      expect(err).toEqual([]);
    } else {
      expect(await moveTenantCommand(target, 'stayco', to, {}, io)).toBe(1);
      expect(err).toEqual([`bulkhead tenants move: ${reason}`]);
    }
    expect(out).toEqual([]);
    expect(await routeOf('stayco')).toEqual(expect.not.objectContaining({ move: expect.anything() }));
    expect(await routeOf('stayco')).toMatchObject({ cellId: 'cell-a', status: 'active' });
    expect(await itemsAt('cell-a', 'stayco')).toHaveLength(5);
  });

  test('an unknown tenant', async () => {
    const { err, io } = capture();
    await expect(moveTenantCommand(target, 'ghost', 'cell-b', {}, io)).rejects.toThrow(
      new UsageError("unknown tenant 'ghost'"),
    );
    expect(err).toEqual([]);
  });

  test('a tenant with a compliance integration, to a cell not configured for it', async () => {
    const integration = {
      baseUrl: 'https://metrc.test',
      ratePerSecond: 5,
      burst: 1,
      apiKeySecret: 'k',
      licenseNumber: 'stayco',
      timeZone: 'UTC',
      vendorKeySecret: 'v',
      batchSize: 10,
    };
    const cell = (id: string, tenants: Cell['tenants']): Cell => ({
      id,
      wave: 0,
      maxTenants: 10,
      tenants,
      deployment: { type: 'allAtOnce', percent: 100, intervalMinutes: 0 },
      bakeMinutes: 0,
      account: '111111111111',
      region: 'us-east-1',
    });
    const fleet: Fleet = {
      router: { account: '111111111111', region: 'us-east-1' },
      cells: [cell('cell-a', [{ id: 'stayco', integration }]), cell('cell-b', [])],
    };
    const withFleet = new LocalTenantsTarget(state, { fleet });
    const { err, io } = capture();
    try {
      expect(await moveTenantCommand(withFleet, 'stayco', 'cell-b', {}, io)).toBe(1);
    } finally {
      withFleet.close();
    }
    expect(err).toEqual([
      "bulkhead tenants move: cell cell-b is not configured for stayco's compliance integration: list stayco " +
        '(with its integration) under cell-b in the fleet file and deploy cell-b first',
    ]);
    expect(await routeOf('stayco')).toMatchObject({ cellId: 'cell-a', status: 'active' });
  });
});
