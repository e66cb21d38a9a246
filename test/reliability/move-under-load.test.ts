/**
 * Move under load: a tenant is moved to another cell (`bulkhead tenants move`) while
 * it keeps writing orders through the router. The client retries a refused write (503 while frozen, or
 * no answer) with the same Idempotency-Key, as a real client does. Every write it was told succeeded
 * must be at the target exactly once, and nothing of the tenant may be left at the source.
 */
import { type HttpReply, sleep } from '../../harness/http-client';
import type { ApiResponse } from '../../lib/contracts/api-event';
import { controlCall } from '../../lib/local/platform/control-client';

import { call, CELL_OF, figure, listOrders, platform, until } from './support';

const TENANT = 'mover';
const TARGET_CELL = 'rel-a';
const SKU = 'move-sku';
const WRITERS = 4;
const RETRY_CAP_MS = 500;

/** The tenant's orders as a cell holds them, asked directly (a direct invoke of its API, as operators' tools do), page by page. */
async function ordersAt(cellId: string): Promise<Record<string, unknown>[]> {
  const orders: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '100', ...(cursor && { cursor }) });
    const res = await controlCall<ApiResponse>(platform().state, 'release-invoke', {
      cell: cellId,
      qualifier: 'live',
      request: { method: 'GET', path: `/orders?${query.toString()}`, tenant: TENANT },
    });
    // A cell the tenant has left answers "moved" (its items there are gone but for the mark that says so).
    if (res.statusCode === 421 && (res.body as { error?: string }).error === 'tenant_moved') return orders;
    if (res.statusCode !== 200)
      throw new Error(`GET /orders at ${cellId} answered ${res.statusCode}: ${JSON.stringify(res.body)}`);
    const page = res.body as { items: Record<string, unknown>[]; nextCursor?: string };
    orders.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return orders;
}

test('a tenant moved while it writes: every acknowledged write at the target exactly once', async () => {
  const p = platform();
  const source = CELL_OF[TENANT];
  expect((await call(TENANT, 'PUT', `/inventory/${SKU}`, { quantity: 1_000_000 })).status).toBe(200);

  const acknowledged = new Map<string, string>();
  const statuses = new Map<number, number>();
  let attempts = 0;
  let retried = 0;
  const refused: string[] = [];
  let writing = true;
  let sequence = 0;
  const writer = async (w: number) => {
    while (writing) {
      const key = `move-${w}-${sequence++}`;
      // One logical write: retried with the same key until it is acknowledged (or the test ends).
      for (;;) {
        attempts++;
        const res: HttpReply = await call(
          TENANT,
          'POST',
          '/orders',
          { items: [{ sku: SKU, quantity: 1 }], customerId: key },
          { 'idempotency-key': key },
        );
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 201) {
          acknowledged.set(key, (res.json as { id: string }).id);
          break;
        }
        // Refused for good (a 4xx other than the freeze's 503): a bug to report, not to retry.
        if (![0, 502, 503, 504].includes(res.status)) {
          refused.push(`${key}: ${res.status} ${res.text.slice(0, 120)}`);
          break;
        }
        // The test is over: this write stays unacknowledged (it may exist at most once).
        if (!writing) break;
        retried++;
        const asked = Number(res.headers['retry-after'] ?? '0') * 1000;
        await sleep(Math.min(RETRY_CAP_MS, asked || 100));
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

  await sleep(2000);
  const started = Date.now();
  const moved = await p.cli(['tenants', 'move', TENANT, '--to', TARGET_CELL]);
  const moveSeconds = (Date.now() - started) / 1000;
  await sleep(3000);
  writing = false;
  await Promise.all(writers);
  // The move's own account of itself (freeze, copy, verify, restarts, flip, cleanup), for the record.
  process.stderr.write(
    `tenants move (${moveSeconds.toFixed(1)} s, exit ${moved.code}):\n${moved.stderr}${moved.stdout}\n`,
  );
  expect(moved.code).toBe(0);

  // At the target cell itself: each acknowledged write once, with the id it was acknowledged with.
  const orders = await ordersAt(TARGET_CELL);
  const byKey = new Map<string, string[]>();
  for (const o of orders) {
    // Only this test's writes (earlier tests ordered as this tenant too, without a customer id).
    const key = String(o.customerId);
    if (!key.startsWith('move-')) continue;
    const ids = byKey.get(key) ?? [];
    if (!ids.includes(String(o.id))) ids.push(String(o.id));
    byKey.set(key, ids);
  }
  const lost = [...acknowledged].filter(([key, id]) => !(byKey.get(key) ?? []).includes(id));
  const duplicated = [...byKey].filter(([, ids]) => ids.length > 1);
  const duplicates = duplicated.length;
  if (duplicates > 0) process.stderr.write(`duplicated writes: ${JSON.stringify(duplicated.slice(0, 10))}\n`);
  // At the source: nothing of the tenant is left (a late write there would be an orphan).
  const orphans = (await ordersAt(source)).length;

  // Through the router: how long until its reads come from the target (its route cache must catch up).
  const movedAt = started + moveSeconds * 1000;
  const servedBy = await until('the router reads the tenant from the target cell', 45_000, async () => {
    const res = await call(TENANT, 'GET', '/orders?limit=1');
    return res.headers['x-bulkhead-cell'] === TARGET_CELL ? TARGET_CELL : undefined;
  });
  const readsCaughtUpS = Math.max(0, (Date.now() - movedAt) / 1000);
  // And until every router instance takes writes again: each caches routes on its own, and one that still
  // holds the freeze answers 503. Three rounds in a row of parallel writes (enough to reach every instance).
  let probes = 0;
  let clean = 0;
  await until("every router instance takes the tenant's writes again", 60_000, async () => {
    const round = await Promise.all(
      Array.from({ length: 8 }, () =>
        call(TENANT, 'POST', '/orders', {
          items: [{ sku: SKU, quantity: 1 }],
          customerId: `probe-${probes++}`,
        }),
      ),
    );
    clean = round.every((r) => r.status === 201) ? clean + 1 : 0;
    return clean >= 3 ? true : undefined;
  });
  const writesCaughtUpS = Math.max(0, (Date.now() - movedAt) / 1000);
  const viaRouter = (await listOrders(TENANT)).filter((o) => String(o.customerId).startsWith('move-')).length;

  figure('move under load', {
    'writes tried': attempts,
    acknowledged: acknowledged.size,
    'retried (503/no answer)': retried,
    statuses: [...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}:${n}`)
      .join(' '),
    refused: refused.length,
    lost: lost.length,
    duplicates,
    [`orphans at ${source}`]: orphans,
    'move s': Number(moveSeconds.toFixed(1)),
    'copy restarts (writes reached the source after the freeze)': (
      moved.stderr.match(/verification found a difference/g) ?? []
    ).length,
    'router reads from target after s': Number(readsCaughtUpS.toFixed(1)),
    'all router instances take writes again after s': Number(writesCaughtUpS.toFixed(1)),
    'orders via router': viaRouter,
  });
  if (lost.length > 0)
    process.stderr.write(
      `lost writes: ${lost
        .slice(0, 10)
        .map(([k, id]) => `${k}=${id}`)
        .join(', ')}\n`,
    );
  expect(servedBy).toBe(TARGET_CELL);
  expect(viaRouter).toBe(orders.filter((o) => String(o.customerId).startsWith('move-')).length);
  expect(lost).toEqual([]);
  expect(duplicates).toBe(0);
  expect(orphans).toBe(0);
  expect(refused).toEqual([]);
});
