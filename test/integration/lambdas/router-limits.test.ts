/**
 * The router's per-tenant limits against DynamoDB Local: the router's own pipeline (`route`) and its
 * counters (`DynamoTenantLimiter`), with the cells stood in for by a forward that answers when told to,
 * so that requests are held in flight exactly as long as a test says.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

import { LOCAL_CLIENT_CONFIG } from '../../../harness/local-aws';
import { type RoutingStore, startRoutingStore } from '../../../harness/routing-store';
import { DynamoTenantLimiter } from '../../../lambdas/router/limiter';
import { route, type RouterDeps } from '../../../lambdas/router/router';
import { DynamoRoutingStore } from '../../../lambdas/router/store';
import type { RouterResponse, UpstreamRequest } from '../../../lambdas/router/types';
import { generateApiKey, hashApiKey } from '../../../lib/domain/api-keys';
import { RouteCache } from '../../../lib/domain/route-cache';
import type { FleetLimits } from '../../../lib/domain/tenant-limits';

const TENANTS = ['flood', 'calm-1', 'calm-2', 'held'] as const;
type TenantId = (typeof TENANTS)[number];
const keys = Object.fromEntries(TENANTS.map((t) => [t, generateApiKey(t)])) as Record<TenantId, string>;
const LIMITS: FleetLimits = {
  default: { requestsPerSecond: 10, concurrentRequests: 5 },
  tenants: { held: { requestsPerSecond: 100, concurrentRequests: 3 } },
};

let routing: RoutingStore;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
/** The router's clock, moved by the tests: a window ends when a test says, never because the machine is slow. */
let clock = Date.parse('2026-12-02T12:00:00.000Z');
/** Counter writes and reads sent, by tenant. */
let counterCalls: Map<string, number>;
/** Requests the forward is holding: each answers when its `answer` is called. */
let held: { up: UpstreamRequest; answer: () => void }[];
let holdRequests = false;

const ok = (up: UpstreamRequest): RouterResponse => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ tenant: up.headers['x-bulkhead-tenant'] })),
});

function routerWith(limiter: DynamoTenantLimiter): RouterDeps {
  return {
    store: new DynamoRoutingStore(doc, routing.routesTable, routing.registryTable),
    cache: new RouteCache({ ttlMs: 60_000 }),
    now: () => clock,
    limiter,
    forward: (up) =>
      holdRequests
        ? new Promise((resolve) => held.push({ up, answer: () => resolve(ok(up)) }))
        : Promise.resolve(ok(up)),
  };
}

/** The counters' client, counting each call by the tenant its key names. */
function countingDoc(): DynamoDBDocumentClient {
  const counted = DynamoDBDocumentClient.from(client);
  const send = counted.send.bind(counted) as (...args: unknown[]) => Promise<unknown>;
  (counted as unknown as { send: typeof send }).send = (command, ...rest) => {
    const key = String((command as { input: { Key?: { counter?: string } } }).input.Key?.counter ?? '');
    const tenant = key.split('#')[1];
    if (tenant) counterCalls.set(tenant, (counterCalls.get(tenant) ?? 0) + 1);
    return send(command, ...rest);
  };
  return counted;
}

const limiter = (options: { tableName?: string; onStoreError?: (e: Error) => void } = {}) =>
  new DynamoTenantLimiter(countingDoc(), {
    tableName: options.tableName ?? routing.limitsTable,
    limits: LIMITS,
    now: () => clock,
    // DynamoDB Local answers its first calls in far more than the 200 ms the router allows on AWS.
    timeoutMs: 10_000,
    onStoreError: options.onStoreError,
  });

async function get(tenant: TenantId, deps: RouterDeps): Promise<RouterResponse> {
  return route(
    { method: 'GET', path: '/inventory/sku-1', headers: { authorization: `Bearer ${keys[tenant]}` } },
    deps,
  );
}

const inFlight = async (tenant: TenantId) =>
  (
    await doc.send(
      new GetCommand({
        TableName: routing.limitsTable,
        Key: { counter: `limit#${tenant}` },
        ConsistentRead: true,
      }),
    )
  ).Item?.c;

/** Waits (on the forward's own signal, not on time) until `count` requests are held. */
async function heldCount(count: number): Promise<void> {
  while (held.length < count) await new Promise((r) => setImmediate(r));
}

beforeAll(async () => {
  routing = await startRoutingStore();
  client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: routing.dynamo.endpoint });
  doc = DynamoDBDocumentClient.from(client);
  await routing.putCell({
    cellId: 'cell-a',
    endpoint: 'https://cell-a.example.com',
    region: 'us-east-1',
    status: 'active',
    maxTenants: 10,
  });
  for (const tenantId of TENANTS) {
    await routing.putRoute({
      tenantId,
      cellId: 'cell-a',
      status: 'active',
      keyHash: hashApiKey(keys[tenantId]),
      createdAt: '2026-12-01T00:00:00.000Z',
    });
  }
}, 90_000);

afterAll(async () => {
  client?.destroy();
  await routing?.stop();
});

beforeEach(() => {
  clock += 60_000;
  counterCalls = new Map();
  held = [];
  holdRequests = false;
});

test('a tenant at 20 x its rate gets 429s with Retry-After; the other tenants are all served', async () => {
  const deps = routerWith(limiter());
  clock = Math.floor(clock / 1000) * 1000 + 250;
  const flood: RouterResponse[] = [];
  const calm: RouterResponse[] = [];
  // Within one second: 200 of the flooding tenant's requests, four at a time, beside 8 of each other tenant's.
  for (let i = 0; i < 50; i++) {
    flood.push(...(await Promise.all([1, 2, 3, 4].map(() => get('flood', deps)))));
    if (i % 6 === 0) calm.push(...(await Promise.all([get('calm-1', deps), get('calm-2', deps)])));
  }
  const statuses = flood.map((r) => r.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(10);
  expect(statuses.filter((s) => s === 429)).toHaveLength(190);
  const refused = flood.find((r) => r.status === 429)!;
  expect(JSON.parse(refused.body.toString())).toEqual({ error: 'tenant_rate_limited' });
  // The next window starts 750 ms from now: come back in a second.
  expect(refused.headers['retry-after']).toBe('1');
  expect(calm.map((r) => r.status)).toEqual(calm.map(() => 200));
  expect(calm).toHaveLength(18);
  // A refusal is remembered for the rest of the window: of the 190 refused only those sent beside the
  // first refusal reach the counters, the rest cost nothing. An admitted request costs two writes (its
  // counts, its place given back); four sent together may race, each then taking at most two attempts of
  // a write, a read and a write.
  expect(counterCalls.get('flood')).toBeLessThanOrEqual(2 * 10 + 6 * 4);

  // The next second the tenant is served again.
  clock += 1000;
  expect((await get('flood', deps)).status).toBe(200);
});

test('a tenant holding its concurrent requests gets 429 until one is answered; the count ends at 0', async () => {
  const deps = routerWith(limiter());
  holdRequests = true;
  const first = [1, 2, 3].map(() => get('held', deps));
  await heldCount(3);
  const refused = await get('held', deps);
  expect(refused.status).toBe(429);
  expect(JSON.parse(refused.body.toString())).toEqual({ error: 'tenant_concurrency_limited' });
  expect(refused.headers['retry-after']).toBe('1');
  // Another tenant is not held back by it.
  holdRequests = false;
  expect((await get('calm-1', deps)).status).toBe(200);
  holdRequests = true;

  // Whichever of the three the forward answers first.
  held[0].answer();
  await Promise.race(first);
  clock += 200; // past what this router instance remembers of the refusal
  const next = get('held', deps);
  await heldCount(4);
  for (const h of held.slice(1)) h.answer();
  await expect(Promise.all([...first, next])).resolves.toHaveLength(4);
  expect(await inFlight('held')).toBe(0);
});

test('a count full of places nobody gave back for a minute starts again', async () => {
  const deps = routerWith(limiter());
  await doc.send(
    new PutCommand({
      TableName: routing.limitsTable,
      Item: { counter: 'limit#calm-2', win: 0, n: 0, c: 5, movedAt: clock - 61_000 },
    }),
  );
  expect((await get('calm-2', deps)).status).toBe(200);
  expect(await inFlight('calm-2')).toBe(0);
});

test('counters that cannot be reached let requests through and say so', async () => {
  const errors: Error[] = [];
  const deps = routerWith(limiter({ tableName: 'no-such-table', onStoreError: (e) => errors.push(e) }));
  expect((await get('calm-1', deps)).status).toBe(200);
  expect(errors.length).toBeGreaterThan(0);
  expect(errors[0].name).toBe('ResourceNotFoundException');
});
