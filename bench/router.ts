/**
 * Router overhead: the same read (`GET /inventory/{sku}`, one GetItem in the cell) sent through the
 * router and straight to the tenant's cell (its endpoint, with the tenant header and the authentication
 * the router would send: SigV4 with IAM enforced, else the cell secret), at a fixed rate and at saturation, with autocannon, one after the other in one run.
 */
import autocannon from 'autocannon';

import { cellAuthHeaders } from '../harness/cell-auth';
import { send } from '../harness/http-client';
import type { PlatformState } from '../lib/local/platform/platform-state';

import type { BenchResult } from './cell-api';

export interface RouterBenchOptions {
  /** Measured seconds per run. @default 10 */
  readonly seconds?: number;
  /** Requests per second of the fixed-rate runs (below either side's saturation). @default 100 */
  readonly rate?: number;
  /** Connections of the saturation runs. @default 32 */
  readonly connections?: number;
  readonly progress: (line: string) => void;
}

const SKU = 'bench-router-sku';
const FIXED_CONNECTIONS = 8;
const WARMUP_SECONDS = 2;

interface Side {
  readonly label: 'via-router' | 'direct';
  readonly url: string;
  readonly headers: Record<string, string>;
}

interface Run {
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  readonly ok: number;
  readonly failed: number;
  readonly statuses: string;
}

async function load(side: Side, seconds: number, connections: number, rate?: number): Promise<Run> {
  const result = await autocannon({
    url: side.url,
    headers: side.headers,
    connections,
    duration: seconds,
    timeout: 10,
    ...(rate !== undefined && { overallRate: rate }),
  });
  const ok = result['2xx'];
  const failed = result.non2xx + result.errors;
  const statuses = Object.entries(result.statusCodeStats ?? {})
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, { count }]) => `${count} x ${code}`)
    .concat(result.errors > 0 ? [`${result.errors} connection errors/timeouts`] : [])
    .join(', ');
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    perSecond: ok / result.duration,
    ok,
    failed,
    statuses,
  };
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

/** Against a running platform: its first tenant, its cell, a stocked SKU. */
export async function benchRouter(state: PlatformState, options: RouterBenchOptions): Promise<BenchResult[]> {
  const seconds = options.seconds ?? 10;
  const rate = options.rate ?? 100;
  const connections = options.connections ?? 32;
  const [tenantId, tenant] = Object.entries(state.tenants)[0];
  const cell = state.cells[tenant.cell];
  const path = `/inventory/${SKU}`;
  const routed: Side = {
    label: 'via-router',
    url: `${state.router}${path}`,
    headers: { authorization: `Bearer ${tenant.apiKey}` },
  };
  const directUrl = `${cell.endpoint}${path}`;
  const direct: Side = {
    label: 'direct',
    url: directUrl,
    headers: await cellAuthHeaders(state, tenant.cell, {
      method: 'GET',
      url: directUrl,
      headers: { 'x-bulkhead-tenant': tenantId },
    }),
  };
  const stocked = await send(state.router, {
    method: 'PUT',
    path,
    headers: { ...routed.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ quantity: 1000, priceCents: 1200, name: 'Bench item' }),
  });
  if (stocked.status !== 200) throw new Error(`stocking ${SKU} answered ${stocked.status}: ${stocked.text}`);
  for (const side of [routed, direct]) {
    const probe = await send(side.url, { path, headers: side.headers });
    if (probe.status !== 200) throw new Error(`GET ${side.url} answered ${probe.status}: ${probe.text}`);
  }

  // Every execution environment of the router and of the cell's API started before anything counts: a
  // fixed-rate run is too gentle to start them all, and would pay their cold starts in its p99.
  options.progress(
    `router: warming up both sides with ${connections} connections for ${WARMUP_SECONDS * 2} s each`,
  );
  for (const side of [routed, direct]) await load(side, WARMUP_SECONDS * 2, connections);

  const results: BenchResult[] = [];
  const measure = async (mode: 'fixed' | 'saturation') => {
    const runs = new Map<Side['label'], Run>();
    const conns = mode === 'fixed' ? FIXED_CONNECTIONS : connections;
    const r = mode === 'fixed' ? rate : undefined;
    for (const side of [routed, direct]) {
      const what = mode === 'fixed' ? `${rate} req/s` : `${conns} connections, as fast as it answers`;
      options.progress(
        `router [${mode}] ${side.label}: GET ${path}, ${what}, ${seconds} s (+${WARMUP_SECONDS} s warm-up)`,
      );
      await load(side, WARMUP_SECONDS, conns, r);
      runs.set(side.label, await load(side, seconds, conns, r));
    }
    const via = runs.get('via-router')!;
    const straight = runs.get('direct')!;
    const setting = mode === 'fixed' ? `${rate} req/s offered, ${conns} connections` : `${conns} connections`;
    for (const [label, run] of runs) {
      const errors = run.failed === 0 ? '' : `; ${run.failed} failed (${run.statuses})`;
      results.push(
        {
          name: `router.${mode}.${label}.p50`,
          value: round(run.p50),
          unit: 'ms',
          notes: `${setting}${errors}`,
        },
        { name: `router.${mode}.${label}.p99`, value: round(run.p99), unit: 'ms', notes: setting },
        {
          name: `router.${mode}.${label}.req-s`,
          value: round(run.perSecond),
          unit: 'req/s',
          notes: `${run.ok} answered 200 in ${seconds} s`,
        },
      );
    }
    results.push(
      {
        name: `router.${mode}.overhead.p50`,
        value: round(via.p50 - straight.p50),
        unit: 'ms',
        notes: 'via-router p50 minus direct p50: the router hop (auth, route cache, forward)',
      },
      {
        name: `router.${mode}.overhead.p99`,
        value: round(via.p99 - straight.p99),
        unit: 'ms',
        notes: 'via-router p99 minus direct p99',
      },
    );
    if (mode === 'saturation') {
      results.push({
        name: 'router.saturation.via-router.vs-direct',
        value: straight.perSecond > 0 ? round(via.perSecond / straight.perSecond, 3) : null,
        unit: 'x',
        notes: 'req/s through the router over req/s straight to the cell (same machine serves both)',
      });
    }
  };
  await measure('fixed');
  await measure('saturation');
  return results;
}

/** The flooding tenant of the bench fleet, and its limit there. */
const FLOOD_TENANT = 'bench-flood';
const FLOOD_LIMIT_PER_SECOND = 20;
/** The calm tenant's steady load. */
const CALM_RATE = 50;

/**
 * One tenant at 20 x its rate limit beside a calm tenant at a steady 50 req/s: the calm tenant's p99 and
 * errors with the flood and without it, side by side in one run, and what the flooding tenant was answered.
 */
export async function benchTenantFlood(
  state: PlatformState,
  options: Pick<RouterBenchOptions, 'seconds' | 'progress'>,
): Promise<BenchResult[]> {
  const seconds = options.seconds ?? 10;
  const [calmId, calmTenant] = Object.entries(state.tenants)[0];
  const flood = state.tenants[FLOOD_TENANT];
  if (!flood) throw new Error(`the bench fleet has no tenant ${FLOOD_TENANT}`);
  const side = (apiKey: string, label: Side['label']): Side => ({
    label,
    url: `${state.router}/inventory/${SKU}`,
    headers: { authorization: `Bearer ${apiKey}` },
  });
  const calm = side(calmTenant.apiKey, 'via-router');
  const flooding = side(flood.apiKey, 'via-router');
  const floodRate = FLOOD_LIMIT_PER_SECOND * 20;
  const stocked = await send(state.router, {
    method: 'PUT',
    path: `/inventory/${SKU}`,
    headers: { ...flooding.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ quantity: 1000, priceCents: 1200, name: 'Bench item' }),
  });
  if (stocked.status !== 200)
    throw new Error(`stocking ${SKU} for ${FLOOD_TENANT} answered ${stocked.status}`);
  options.progress(`router flood: ${calmId} alone at ${CALM_RATE} req/s, ${seconds} s`);
  const alone = await load(calm, seconds, FIXED_CONNECTIONS, CALM_RATE);
  options.progress(
    `router flood: ${calmId} at ${CALM_RATE} req/s beside ${FLOOD_TENANT} at ${floodRate} req/s (20 x its limit), ${seconds} s`,
  );
  const [beside, flooded] = await Promise.all([
    load(calm, seconds, FIXED_CONNECTIONS, CALM_RATE),
    load(flooding, seconds, FIXED_CONNECTIONS * 2, floodRate),
  ]);
  const setting = `${calmId} at ${CALM_RATE} req/s, ${FIXED_CONNECTIONS} connections`;
  return [
    {
      name: 'router.flood.calm.alone.p99',
      value: round(alone.p99),
      unit: 'ms',
      notes: `${setting}; ${alone.failed} failed`,
    },
    {
      name: 'router.flood.calm.beside-flood.p99',
      value: round(beside.p99),
      unit: 'ms',
      notes: `${setting}, beside ${FLOOD_TENANT} at ${floodRate} req/s; ${beside.failed} failed${beside.statuses ? ` (${beside.statuses})` : ''}`,
    },
    {
      name: 'router.flood.calm.p99-ratio',
      value: alone.p99 > 0 ? round(beside.p99 / alone.p99, 2) : null,
      unit: 'x',
      notes: 'the calm tenant’s p99 beside the flood over its p99 alone (goal: at most 2 x, and 0 failed)',
    },
    {
      name: 'router.flood.flooding.served',
      value: round(flooded.perSecond),
      unit: 'req/s',
      notes: `${FLOOD_TENANT}, limit ${FLOOD_LIMIT_PER_SECOND} req/s, offered ${floodRate} req/s: ${flooded.ok} answered 200, ${flooded.statuses || 'nothing else'}`,
    },
  ];
}
