/**
 * Tenant move: a tenant placed with `bulkhead tenants place`, a few thousand items written straight to
 * its cell, then `bulkhead tenants move` to another cell, timed end to end as an operator runs it.
 */
import { cellAuthHeaders } from '../harness/cell-auth';
import { inParallel, send } from '../harness/http-client';
import type { RunningPlatform } from '../harness/platform-runner';

import type { BenchResult } from './cell-api';

export interface MoveBenchOptions {
  /** @default 3000 */
  readonly items?: number;
  readonly progress: (line: string) => void;
}

const TENANT = 'bench-mover';
const WRITE_CONCURRENCY = 16;

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

export async function benchTenantMove(
  platform: RunningPlatform,
  options: MoveBenchOptions,
): Promise<BenchResult[]> {
  const count = options.items ?? 3000;
  const placed = await platform.cli(['tenants', 'place', TENANT, '--json']);
  if (placed.code !== 0) throw new Error(`tenants place failed: ${placed.stderr.trim()}`);
  const { cellId: from } = JSON.parse(placed.stdout) as { cellId: string };
  const to = Object.keys(platform.state.cells).find((c) => c !== from);
  if (!to) throw new Error('the move benchmark needs a fleet of two cells or more');
  const source = platform.state.cells[from];
  const headers = { 'x-bulkhead-tenant': TENANT, 'content-type': 'application/json' };

  options.progress(`move: writing ${count} inventory items of ${TENANT} straight to cell ${from}`);
  const skus = Array.from({ length: count }, (_, i) => `item-${String(i).padStart(5, '0')}`);
  const writeStart = performance.now();
  let failed = 0;
  await inParallel(skus, WRITE_CONCURRENCY, async (sku, i) => {
    const body = JSON.stringify({ quantity: 1 + (i % 50), priceCents: 100 + i, name: `Item ${i}` });
    const path = `/inventory/${sku}`;
    const request = { method: 'PUT', url: `${source.endpoint}${path}`, headers, body };
    const authed = await cellAuthHeaders(platform.state, from, request);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const res = await send(source.endpoint, { method: 'PUT', path, headers: authed, body });
      if (res.status === 200) return;
    }
    failed++;
  });
  const writeSeconds = (performance.now() - writeStart) / 1000;
  if (failed > 0) throw new Error(`${failed} of ${count} items could not be written to ${from}`);

  options.progress(`move: bulkhead tenants move ${TENANT} --to ${to}`);
  const moveStart = performance.now();
  const moved = await platform.cli(['tenants', 'move', TENANT, '--to', to]);
  const moveSeconds = (performance.now() - moveStart) / 1000;
  if (moved.code !== 0) throw new Error(`tenants move failed: ${moved.stderr.trim() || moved.stdout.trim()}`);
  // "moved T from A to B: N items in S s (R items/s overall)"
  const reported = /: (\d+) items? in ([\d.]+) s/.exec(moved.stdout);
  const movedItems = reported ? Number(reported[1]) : count;
  const cliSeconds = reported ? Number(reported[2]) : moveSeconds;

  // Count what the target serves for the tenant, page by page.
  const target = platform.state.cells[to];
  let atTarget = 0;
  let cursor: string | undefined;
  do {
    const path = `/inventory?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await send(target.endpoint, {
      path,
      headers: await cellAuthHeaders(platform.state, to, {
        method: 'GET',
        url: `${target.endpoint}${path}`,
        headers: { 'x-bulkhead-tenant': TENANT },
      }),
    });
    if (res.status !== 200) throw new Error(`listing ${TENANT} at ${to} answered ${res.status}: ${res.text}`);
    const page = res.json as { items: unknown[]; nextCursor?: string };
    atTarget += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);

  return [
    {
      name: 'tenant-move.items-per-s',
      value: round(movedItems / cliSeconds),
      unit: 'items/s',
      notes:
        `${movedItems} items (${count} inventory + the tenant's own) ${from} -> ${to} in ${cliSeconds.toFixed(1)} s ` +
        `as the CLI timed it (no waits: freeze, copy, verify, flip, cleanup); ${atTarget}/${count} inventory items served by ${to} after`,
    },
    {
      name: 'tenant-move.wall',
      value: round(moveSeconds),
      unit: 's',
      notes: 'the whole `bulkhead tenants move` command, process start included',
    },
    {
      name: 'tenant-move.write-rate',
      value: round(count / writeSeconds),
      unit: 'items/s',
      notes: `PUT /inventory straight to the cell, ${WRITE_CONCURRENCY} in flight (the data set up for the move)`,
    },
  ];
}
