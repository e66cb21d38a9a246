import { DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';

import { type CellServer, startCellServer } from '../../../harness/cell-server';
import { integrationsFile } from '../../../harness/integrations-file';
import {
  CELL_TABLE_PROPS,
  LOCAL_CLIENT_CONFIG,
  type LocalAws,
  startLocalAws,
  SYNC_DLQ_PROPS,
} from '../../../harness/local-aws';
import { platformState, type RoutingStore, startRoutingStore } from '../../../harness/routing-store';
import { createForwarder, type Forwarder } from '../../../lambdas/router/forward';
import { parseCellEndpoints, staticCellLocator } from '../../../lambdas/router/locator';
import { route, type RouterDeps } from '../../../lambdas/router/router';
import { DynamoRoutingStore } from '../../../lambdas/router/store';
import { placeTenant } from '../../../lib/cli/tenants';
import { generateApiKey, hashApiKey } from '../../../lib/domain/api-keys';
import { RouteCache } from '../../../lib/domain/route-cache';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';
import { putTenantKeyItem } from '../../../lib/targets/tenants/dynamo-cell-data';
import { LocalTenantsTarget } from '../../../lib/targets/tenants/local-tenants-target';
import { moveTenantTo } from '../../../lib/tenants/move';

const TTL_MS = 30_000;
const CELLS = ['cell-a', 'cell-b'] as const;
type CellId = (typeof CELLS)[number];

let routing: RoutingStore;
let aws: LocalAws;
const servers: Partial<Record<CellId, CellServer>> = {};
const queues: Partial<Record<CellId, string>> = {};
let forwarder: Forwarder;
let routerClient: DynamoDBClient;
let deps: RouterDeps & { cache: RouteCache };
/** The router's clock: cache entries go stale when a test moves it on, never because the machine is slow. */
let clock = Date.parse('2025-04-20T12:00:00.000Z');

const keys = { alpha: generateApiKey('alpha'), beta: generateApiKey('beta'), gamma: generateApiKey('gamma') };
const table = (cellId: CellId) => `table-${cellId}`;

beforeAll(async () => {
  [routing, aws] = await Promise.all([startRoutingStore(), startLocalAws()]);
  for (const cellId of CELLS) {
    await createTableFromCfn(aws.ddbClient, table(cellId), CELL_TABLE_PROPS);
    queues[cellId] = await createQueueFromCfn(aws.sqsClient, `sync-${cellId}`, SYNC_DLQ_PROPS, () => '');
  }
  const started = await Promise.all(
    CELLS.map((cellId) =>
      startCellServer({
        CELL_ID: cellId,
        RELEASE: 'v-test',
        TABLE_NAME: table(cellId),
        QUEUE_URL: queues[cellId]!,
        INTEGRATIONS_FILE: integrationsFile({}),
        CELL_SECRET: `secret-${cellId}`,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_ENDPOINT_URL_DYNAMODB: aws.dynamo.endpoint,
        AWS_ENDPOINT_URL_SQS: aws.sqs.endpoint,
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
      }),
    ),
  );
  CELLS.forEach((cellId, i) => (servers[cellId] = started[i]));
  for (const cellId of CELLS) {
    await routing.putCell({
      cellId,
      endpoint: servers[cellId]!.url,
      region: 'us-east-1',
      status: 'active',
      maxTenants: 10,
      secret: `secret-${cellId}`,
    });
  }
  const placed = { alpha: 'cell-a', beta: 'cell-b', gamma: 'cell-b' } as const;
  for (const [tenantId, cellId] of Object.entries(placed)) {
    await routing.putRoute({
      tenantId,
      cellId,
      status: 'active',
      keyHash: hashApiKey(keys[tenantId as keyof typeof keys]),
      createdAt: '2025-04-20T00:00:00.000Z',
    });
  }

  routerClient = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: routing.dynamo.endpoint });
  forwarder = createForwarder({ connectTimeoutMs: 500, timeoutMs: 5000 });
  deps = {
    // The router's own store code, on its own client, against the routing store's DynamoDB Local.
    store: new DynamoRoutingStore(
      DynamoDBDocumentClient.from(routerClient),
      routing.routesTable,
      routing.registryTable,
    ),
    forward: forwarder.forward,
    cache: new RouteCache({ ttlMs: TTL_MS }),
    now: () => clock,
    storeTimeoutMs: 300,
  };
}, 90_000);

afterAll(async () => {
  forwarder?.destroy();
  routerClient?.destroy();
  await Promise.all([...Object.values(servers).map((s) => s.stop()), routing?.stop(), aws?.stop()]);
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

/** One request through `via` (the warm router of these tests unless another is given). */
async function call(
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  via: RouterDeps = deps,
): Promise<Answer> {
  const res = await route(
    {
      method,
      path,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body !== undefined && { body: Buffer.from(JSON.stringify(body)) }),
    },
    via,
  );
  const text = res.body.toString('utf8');
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** Every cached route is stale from now on: the next request asks the routing store again. */
const afterTtl = () => (clock += TTL_MS);

const itemAt = async (cellId: CellId, tenantId: string, sk: string) =>
  (
    await aws.ddbClient.send(
      new GetItemCommand({
        TableName: table(cellId),
        Key: { pk: { S: tenantId }, sk: { S: sk } },
        ConsistentRead: true,
      }),
    )
  ).Item;

test('each tenant’s requests reach its own cell, which answers for it alone', async () => {
  const a = await call(keys.alpha, 'PUT', '/inventory/og-kush', { quantity: 5, priceCents: 1500 });
  const b = await call(keys.beta, 'PUT', '/inventory/og-kush', { quantity: 9, priceCents: 1400 });
  expect([a.status, a.headers['x-bulkhead-cell']]).toEqual([200, 'cell-a']);
  expect([b.status, b.headers['x-bulkhead-cell']]).toEqual([200, 'cell-b']);
  expect(a.headers['x-bulkhead-version']).toMatch(/^v-test\//);

  const readA = await call(keys.alpha, 'GET', '/inventory/og-kush');
  const readB = await call(keys.beta, 'GET', '/inventory/og-kush');
  expect([readA.headers['x-bulkhead-cell'], readA.body.quantity]).toEqual(['cell-a', 5]);
  expect([readB.headers['x-bulkhead-cell'], readB.body.quantity]).toEqual(['cell-b', 9]);
  expect(await itemAt('cell-a', 'alpha', 'INV#og-kush')).toBeDefined();
  expect(await itemAt('cell-a', 'beta', 'INV#og-kush')).toBeUndefined();
  expect(await itemAt('cell-b', 'alpha', 'INV#og-kush')).toBeUndefined();
});

test('a wrong key gets 401 and reaches no cell', async () => {
  const forged = `${keys.alpha.slice(0, -4)}AAAA`;
  const res = await call(forged, 'GET', '/inventory/og-kush');
  expect(res.status).toBe(401);
  expect(res.headers['x-bulkhead-cell']).toBeUndefined();
});

test('a spoofed x-bulkhead-tenant header is ignored: the cell sees the authenticated tenant', async () => {
  const res = await call(
    keys.alpha,
    'PUT',
    '/inventory/spoofed',
    { quantity: 1 },
    { 'x-bulkhead-tenant': 'beta', 'x-bulkhead-cell-secret': 'guess', 'x-bulkhead-cell': 'cell-b' },
  );
  expect([res.status, res.headers['x-bulkhead-cell']]).toEqual([200, 'cell-a']);
  expect(await itemAt('cell-a', 'alpha', 'INV#spoofed')).toBeDefined();
  expect(await itemAt('cell-a', 'beta', 'INV#spoofed')).toBeUndefined();
  expect(await itemAt('cell-b', 'beta', 'INV#spoofed')).toBeUndefined();
  expect((await call(keys.beta, 'GET', '/inventory/spoofed')).status).toBe(404);
});

test('a tenant frozen for a move gets 503 + Retry-After on writes, while its reads work', async () => {
  const setStatus = (status: string) =>
    routing.doc.send(
      new UpdateCommand({
        TableName: routing.routesTable,
        Key: { tenantId: 'alpha' },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': status },
      }),
    );
  await setStatus('frozen');
  afterTtl();
  try {
    const order = await call(keys.alpha, 'POST', '/orders', { items: [{ sku: 'og-kush', quantity: 1 }] });
    expect(order.status).toBe(503);
    expect(order.headers['retry-after']).toBe('5');
    expect(order.body).toEqual({ error: 'tenant_frozen' });
    expect((await call(keys.alpha, 'PUT', '/inventory/og-kush', { quantity: 50 })).status).toBe(503);

    const read = await call(keys.alpha, 'GET', '/inventory/og-kush');
    expect([read.status, read.headers['x-bulkhead-cell'], read.body.quantity]).toEqual([200, 'cell-a', 5]);
    // Other tenants are not affected.
    expect((await call(keys.beta, 'PUT', '/inventory/og-kush', { quantity: 8 })).status).toBe(200);
  } finally {
    await setStatus('active');
    afterTtl();
  }
  expect(
    (await call(keys.alpha, 'POST', '/orders', { items: [{ sku: 'og-kush', quantity: 1 }] })).status,
  ).toBe(201);
});

/** The platform state a local target needs to reach both cells' tables. */
const cellsState = () =>
  platformState(
    routing,
    Object.fromEntries(
      CELLS.map((cellId) => [
        cellId,
        {
          dynamodb: aws.dynamo.endpoint,
          tableName: table(cellId),
          sqs: aws.sqs.endpoint,
          queueUrl: queues[cellId]!,
        },
      ]),
    ),
  );

test('a tenant placed with `tenants place` is routed with the key it printed, and its cell holds the key’s hash', async () => {
  const state = cellsState();
  const target = new LocalTenantsTarget(state);
  const out: string[] = [];
  try {
    expect(
      await placeTenant(target, 'delta', { json: true }, { out: (l) => out.push(l), err: () => undefined }),
    ).toBe(0);
  } finally {
    target.close();
  }
  const placed = JSON.parse(out[0]) as { cellId: string; apiKey: string };
  // cell-a holds alpha, cell-b beta and gamma: cell-a has the most room.
  expect(placed.cellId).toBe('cell-a');
  const res = await call(placed.apiKey, 'PUT', '/inventory/first', { quantity: 3 });
  expect([res.status, res.headers['x-bulkhead-cell']]).toEqual([200, 'cell-a']);
  expect(await itemAt('cell-a', 'delta', 'INV#first')).toBeDefined();
  expect(await itemAt('cell-a', 'delta', 'TENANT')).toMatchObject({
    keyHash: { S: hashApiKey(placed.apiKey) },
  });
});

test('a tenant moved under a write loop: writes are refused only while it is frozen, no read fails, and the router follows the move without waiting for its cache', async () => {
  const key = generateApiKey('mover');
  await routing.putRoute({
    tenantId: 'mover',
    cellId: 'cell-a',
    status: 'active',
    keyHash: hashApiKey(key),
    createdAt: '2025-04-20T00:00:00.000Z',
  });
  await putTenantKeyItem(aws.ddbClient, table('cell-a'), 'mover', hashApiKey(key));
  const seeded = Array.from({ length: 200 }, (_, i) => `seed-${String(i).padStart(3, '0')}`);
  for (const sku of seeded) {
    expect((await call(key, 'PUT', `/inventory/${sku}`, { quantity: 7 })).status).toBe(200);
  }
  // The router caches the route at cell-a, and its clock never moves: no cache entry expires in this test.
  expect((await call(key, 'GET', '/inventory/seed-000')).headers['x-bulkhead-cell']).toBe('cell-a');

  // Events are numbered in the order they happen, so the test compares order, never durations.
  let seq = 0;
  let frozenAt = Infinity;
  let activeAgainAt = Infinity;
  let moving = true;
  const refused: { sent: number; answered: number }[] = [];
  const failedReads: string[] = [];
  const otherWrites: string[] = [];
  const acknowledged: string[] = [];
  let writes = 0;
  let reads = 0;
  let afterMove = 0;
  const writer = async (w: number) => {
    for (let n = 0; moving || afterMove < 40; n++) {
      const sku = `w${w}-${n}`;
      const sent = ++seq;
      const res = await call(key, 'PUT', `/inventory/${sku}`, { quantity: n });
      writes += 1;
      if (!moving) afterMove += 1;
      if (res.status === 200) acknowledged.push(sku);
      else if (res.status === 503 && res.body.error === 'tenant_frozen')
        refused.push({ sent, answered: ++seq });
      else otherWrites.push(`${sku}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  };
  const reader = async () => {
    while (moving || afterMove < 40) {
      const res = await call(key, 'GET', '/inventory/seed-042');
      reads += 1;
      if (res.status !== 200 || res.body.quantity !== 7)
        failedReads.push(`${res.status} ${JSON.stringify(res.body)}`);
    }
  };
  const loops = [writer(0), writer(1), reader()];

  const state = cellsState();
  const target = new LocalTenantsTarget(state);
  const started = performance.now();
  let moved;
  try {
    moved = await moveTenantTo(target, 'mover', 'cell-b', {
      pageSize: 50,
      afterSave: (p) => {
        if (p.step === 'freeze') frozenAt = Math.min(frozenAt, ++seq);
        if (p.step === 'cleanup') activeAgainAt = Math.min(activeAgainAt, ++seq);
      },
    });
  } finally {
    target.close();
  }
  const moveMs = performance.now() - started;
  moving = false;
  await Promise.all(loops);

  expect(moved).toMatchObject({ ok: true, progress: { step: 'done' } });
  expect(failedReads).toEqual([]);
  expect(otherWrites).toEqual([]);
  // Every refused write overlapped the freeze (begun before the tenant was active again, answered after it froze).
  expect(refused.filter((r) => r.sent > activeAgainAt || r.answered < frozenAt)).toEqual([]);
  // After the move, with the old route still fresh in the router's cache, writes and reads reach cell-b.
  const last = await call(key, 'PUT', '/inventory/after', { quantity: 1 });
  expect([last.status, last.headers['x-bulkhead-cell']]).toEqual([200, 'cell-b']);
  expect((await call(key, 'GET', '/inventory/seed-000')).headers['x-bulkhead-cell']).toBe('cell-b');
  for (const sku of [...seeded, ...acknowledged]) {
    expect([sku, await itemAt('cell-b', 'mover', `INV#${sku}`)]).toEqual([sku, expect.anything()]);
  }
  expect(await itemAt('cell-a', 'mover', 'INV#seed-000')).toBeUndefined();
  console.log(
    `move of ${moved.ok ? moved.progress.total : '?'} items under a write loop: ${moveMs.toFixed(0)} ms; ` +
      `${refused.length} of ${writes} writes refused (tenant_frozen), ${reads} reads, none failed`,
  );
}, 120_000);

test('with the routing store stopped, tenants already cached are still routed (fail static)', async () => {
  // Warm: alpha and beta have been routed before; gamma never has.
  expect((await call(keys.alpha, 'GET', '/inventory/og-kush')).status).toBe(200);
  expect((await call(keys.beta, 'GET', '/inventory/og-kush')).status).toBe(200);
  const before = { ...deps.cache.counters };

  await routing.dynamo.stop();
  afterTtl();

  const a = await call(keys.alpha, 'GET', '/inventory/og-kush');
  const b = await call(keys.beta, 'PUT', '/inventory/og-kush', { quantity: 11 });
  expect([a.status, a.headers['x-bulkhead-cell'], a.body.quantity]).toEqual([200, 'cell-a', 4]);
  expect([b.status, b.headers['x-bulkhead-cell'], b.body.quantity]).toEqual([200, 'cell-b', 11]);
  expect(deps.cache.counters.failStatic).toBeGreaterThan(before.failStatic);

  // A tenant the router has not seen cannot be authenticated without the store: a fast 503, not a hang.
  const cold = await call(keys.gamma, 'GET', '/inventory/og-kush');
  expect([cold.status, cold.headers['retry-after'], cold.body.error]).toEqual([
    503,
    '5',
    'routing_unavailable',
  ]);
  // Each store call failed and was counted (a hung store is cut at storeTimeoutMs: the router unit tests):
  // alpha's and beta's tenant and cell entries served stale, gamma's tenant lookup unanswered.
  expect(deps.cache.counters).toEqual({
    storeErrors: before.storeErrors + 5,
    failStatic: before.failStatic + 4,
    bakedFallback: before.bakedFallback,
  });
});

test('a COLD router with the routing store stopped routes a baked tenant whose key its cell holds, and refuses a wrong key', async () => {
  // gamma is baked in and its cell holds its key's hash (as `tenants place`/`seed` write it); beta is
  // baked in but its cell holds no copy; nobody is not baked in at all.
  await putTenantKeyItem(aws.ddbClient, table('cell-b'), 'gamma', hashApiKey(keys.gamma));
  if (routing.dynamo.running) await routing.dynamo.stop();
  // What the cells answered the router, per tenant.
  const cellAnswers: [string, number][] = [];
  const cold: RouterDeps = {
    ...deps,
    forward: async (up) => {
      const res = await deps.forward(up);
      cellAnswers.push([up.headers['x-bulkhead-claimed-tenant'] ?? '?', res.status]);
      return res;
    },
    cache: new RouteCache({ ttlMs: TTL_MS }),
    bakedRoutes: {
      tenants: { gamma: { cellId: 'cell-b' }, beta: { cellId: 'cell-b' } },
      cells: Object.fromEntries(CELLS.map((c) => [c, { region: 'us-east-1', account: '111111111111' }])),
    },
    // What the local platform sets in CELL_ENDPOINTS.
    locator: staticCellLocator(
      parseCellEndpoints(
        JSON.stringify(
          Object.fromEntries(CELLS.map((c) => [c, { endpoint: servers[c]!.url, secret: `secret-${c}` }])),
        ),
      ),
    ),
  };
  const coldCall = (key: string, method: string, path: string, body?: unknown) =>
    call(key, method, path, body, {}, cold);

  const write = await coldCall(keys.gamma, 'PUT', '/inventory/cold-start', { quantity: 2 });
  expect([write.status, write.headers['x-bulkhead-cell'], write.body.quantity]).toEqual([200, 'cell-b', 2]);
  const read = await coldCall(keys.gamma, 'GET', '/inventory/cold-start');
  expect([read.status, read.body.quantity]).toEqual([200, 2]);
  expect(await itemAt('cell-b', 'gamma', 'INV#cold-start')).toBeDefined();
  expect(cold.cache.counters.bakedFallback).toBeGreaterThanOrEqual(2);

  // A wrong key for gamma reaches the cell, which refuses it; the client cannot tell it from a tenant
  // that does not exist, or from a baked tenant whose cell holds no key.
  const forged = await coldCall(`${keys.gamma.slice(0, -4)}AAAA`, 'PUT', '/inventory/forged', {
    quantity: 1,
  });
  const unknown = await coldCall(generateApiKey('nobody'), 'PUT', '/inventory/forged', { quantity: 1 });
  const noCopy = await coldCall(keys.beta, 'PUT', '/inventory/forged', { quantity: 1 });
  expect([forged.status, forged.headers['retry-after'], forged.body]).toEqual([
    503,
    '5',
    { error: 'routing_unavailable' },
  ]);
  for (const other of [unknown, noCopy]) {
    expect(other.status).toBe(forged.status);
    expect(other.headers).toEqual(forged.headers);
    expect(other.body).toEqual(forged.body);
  }
  // gamma's cell refused the forged key, beta's had no copy to check it against; nobody reached no cell.
  expect(cellAnswers.slice(-2)).toEqual([
    ['gamma', 401],
    ['beta', 401],
  ]);
  expect(await itemAt('cell-b', 'gamma', 'INV#forged')).toBeUndefined();
  expect(await itemAt('cell-b', 'beta', 'INV#forged')).toBeUndefined();

  // While gamma is being moved away (its copy marked frozen) the cell itself refuses writes; reads go on.
  await aws.ddbClient.send(
    new UpdateItemCommand({
      TableName: table('cell-b'),
      Key: { pk: { S: 'gamma' }, sk: { S: 'TENANT' } },
      UpdateExpression: 'SET frozen = :t',
      ExpressionAttributeValues: { ':t': { BOOL: true } },
    }),
  );
  const frozen = await coldCall(keys.gamma, 'PUT', '/inventory/cold-start', { quantity: 9 });
  expect([frozen.status, frozen.headers['x-bulkhead-cell'], frozen.body.error]).toEqual([
    503,
    'cell-b',
    'tenant_frozen',
  ]);
  expect((await coldCall(keys.gamma, 'GET', '/inventory/cold-start')).body.quantity).toBe(2);
  // Seven requests, each a store call that failed; all but nobody's found their tenant in the baked map.
  expect(cold.cache.counters).toEqual({ storeErrors: 7, failStatic: 0, bakedFallback: 6 });
});
