/**
 * Long outage: the compliance API is down for a simulated 17 days. Orders older than SQS's 14-day
 * retention cannot be on any queue any more; they live only in the cell table, PENDING. They are
 * written there directly (createdAt/pendingSince 17 to 30 days back, no message), next to fresh orders
 * taken through the API while the integration is down. After `integration-up`, every one of them must
 * reach the compliance API exactly once (the simulator's own record), and the drain must keep to the
 * integration's rate limit.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { send, sleep } from '../../harness/http-client';
import { newOrderId } from '../../lambdas/api/store';
import { K, keys, SCHEMA_VERSION } from '../../lib/contracts/cell-items';
import type {
  CallRecord,
  SimulatorCounters,
  StoredReceipt,
} from '../../lib/local/compliance/compliance-simulator';

import { call, CELL_OF, figure, INTEGRATION, listOrders, platform, until } from './support';

const TENANT = 'outage-co';
const SKU = 'outage-sku';
const FRESH = 40;
const BACKDATED = 160;
const DAY_MS = 24 * 3600 * 1000;
const SQS_RETENTION_DAYS = 14;
const DRAIN_TIMEOUT_MS = 240_000;

async function simulator<T>(pathname: string): Promise<T> {
  const res = await send(platform().state.compliance.url, { path: `/_control/${pathname}` });
  if (res.status !== 200) throw new Error(`simulator ${pathname}: ${res.status} ${res.text}`);
  return res.json as T;
}

/** A PENDING order exactly as the API writes it, `ageMs` old, with no message on any queue. */
function backdatedOrder(ageMs: number, n: number) {
  const at = Date.now() - ageMs;
  const id = newOrderId(at);
  const createdAt = new Date(at).toISOString();
  const items = [{ sku: SKU, quantity: 1 + (n % 3), unitPriceCents: 1500 }];
  return {
    ...keys.order(TENANT, id),
    type: 'order',
    schemaVersion: SCHEMA_VERSION,
    id,
    items,
    totalCents: items[0].quantity * items[0].unitPriceCents,
    customerId: `backdated-${n}`,
    syncStatus: 'PENDING',
    createdAt,
    [K.byStatusPartitionKey]: keys.statusPk(TENANT, 'PENDING'),
    [K.pendingPartitionKey]: TENANT,
    [K.pendingSortKey]: createdAt,
  };
}

test('integration down for a simulated 17 days: 0 orders lost, 0 duplicates, drained within the rate limit', async () => {
  const p = platform();
  const cell = p.state.cells[CELL_OF[TENANT]];
  expect(
    (await call(TENANT, 'PUT', `/inventory/${SKU}`, { quantity: 1_000_000, priceCents: 1500 })).status,
  ).toBe(200);
  const before = await simulator<SimulatorCounters>('counters');
  const license = platform().state.compliance.licenseNumbers[TENANT];
  const receiptsBefore = (await simulator<StoredReceipt[]>(`receipts?licenseNumber=${license}`)).length;

  await p.fault('integration-down');
  const downAt = Date.now();
  const expected = new Set<string>();
  let statusDuringOutage: { status?: string } = {};
  try {
    for (let i = 0; i < FRESH; i++) {
      const res = await call(TENANT, 'POST', '/orders', { items: [{ sku: SKU, quantity: 1 }] });
      expect(res.status).toBe(201);
      expected.add((res.json as { id: string }).id);
    }
    // 17 to 30 days old: past SQS's retention, so only the table knows them.
    const ddb = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: cell.dynamodb,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const doc = DynamoDBDocumentClient.from(ddb);
    const orders = Array.from({ length: BACKDATED }, (_, n) =>
      backdatedOrder(17 * DAY_MS + Math.floor((n * 13 * DAY_MS) / BACKDATED), n),
    );
    for (let i = 0; i < orders.length; i += 25) {
      const batch = orders.slice(i, i + 25);
      const out = await doc.send(
        new BatchWriteCommand({
          RequestItems: { [cell.tableName]: batch.map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
      expect(out.UnprocessedItems?.[cell.tableName] ?? []).toEqual([]);
    }
    ddb.destroy();
    for (const o of orders) expected.add(o.id);
    expect(Math.min(...orders.map((o) => (Date.now() - Date.parse(o.createdAt)) / DAY_MS))).toBeGreaterThan(
      SQS_RETENTION_DAYS,
    );
    // Let the outage be felt: failed deliveries, an open breaker, reconciler runs that skip the tenant.
    await sleep(8000);
    statusDuringOutage = ((await call(TENANT, 'GET', '/integration/status')).json ?? {}) as {
      status?: string;
    };
  } finally {
    await p.fault('integration-up');
  }
  const upAt = Date.now();

  const pending = await until(
    'every order synced',
    DRAIN_TIMEOUT_MS,
    async () => {
      const left = await listOrders(TENANT, 'PENDING');
      return left.length === 0 ? left : undefined;
    },
    1000,
  );
  expect(pending).toEqual([]);
  const drainedAt = Date.now();
  // Whatever is still in flight settles before the simulator's record is read.
  await sleep(3000);

  const after = await simulator<SimulatorCounters>('counters');
  const receipts = (await simulator<StoredReceipt[]>(`receipts?licenseNumber=${license}`))
    .slice(receiptsBefore)
    .filter((r) => !r.ArchivedDate);
  const seen = new Map<string, number>();
  for (const r of receipts) {
    const external = String(r.ExternalReceiptNumber);
    seen.set(external, (seen.get(external) ?? 0) + 1);
  }
  const lost = [...expected].filter((id) => !seen.has(id));
  const duplicated = [...seen.values()].filter((n) => n > 1).length;
  const synced = (await listOrders(TENANT, 'SYNCED')).filter((o) => expected.has(String(o.id))).length;

  // The drain's pace, as the compliance API saw it. Metrc limits calls, not receipts (one POST carries
  // several), so the pace is that of the accepted POSTs for this licence after the recovery.
  const posts = (await simulator<CallRecord[]>(`calls?since=${upAt}`))
    .filter((c) => c.method === 'POST' && c.licenseNumber === license && c.status === 200)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  const span = posts.length > 1 ? (posts[posts.length - 1] - posts[0]) / 1000 : 0;
  const rate = span > 0 ? (posts.length - INTEGRATION.burst) / span : 0;
  let busiestSecond = 0;
  for (let i = 0, j = 0; i < posts.length; i++) {
    while (posts[i] - posts[j] >= 1000) j++;
    busiestSecond = Math.max(busiestSecond, i - j + 1);
  }
  const rateLimited = after.rateLimited.writes - before.rateLimited.writes;

  figure('long outage', {
    orders: expected.size,
    [`older than SQS retention (${SQS_RETENTION_DAYS} d)`]: BACKDATED,
    'taken during the outage': FRESH,
    'real outage s': Number(((upAt - downAt) / 1000).toFixed(0)),
    'status during outage': statusDuringOutage.status ?? '?',
    lost: lost.length,
    duplicates: duplicated,
    'synced in table': `${synced}/${expected.size}`,
    'drain s': Number(((drainedAt - upAt) / 1000).toFixed(1)),
    'POSTs accepted': posts.length,
    'receipts per POST': Number((receipts.length / Math.max(1, posts.length)).toFixed(1)),
    'POST rate /s': Number(rate.toFixed(2)),
    'limit /s': `${INTEGRATION.ratePerSecond} (burst ${INTEGRATION.burst})`,
    'busiest second (POSTs)': busiestSecond,
    '429s': rateLimited,
  });
  expect(lost).toEqual([]);
  expect(duplicated).toBe(0);
  expect(synced).toBe(expected.size);
  // The simulator refuses any call over its limit with a 429, so accepted POSTs cannot exceed it.
  expect(busiestSecond).toBeLessThanOrEqual(INTEGRATION.ratePerSecond + INTEGRATION.burst);
  expect(rate).toBeLessThanOrEqual(INTEGRATION.ratePerSecond * 1.05);
});
