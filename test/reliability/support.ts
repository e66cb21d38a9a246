/**
 * What the reliability tests share: the fleet the global setup starts, a handle on that platform, calls
 * through the router as a tenant, and the figure line each test prints.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { send, type HttpReply } from '../../harness/http-client';
import { attachPlatform, type PlatformHandle, type RunningPlatform } from '../../harness/platform-runner';
import type { FleetConfig } from '../../lib/config/types';

export { until } from '../../harness/wait';

/** Where the global setup leaves the platform's handle for the test files. */
export const HANDLE_ENV = 'BULKHEAD_RELIABILITY_HANDLE';

/** Minutes of schedules per real minute: the reconciler every 5 s, its grace 5 s, red after 20 s. */
export const TIME_SCALE = 60;

/** The integrated tenant's compliance API limit (the simulator enforces the fleet's fastest). */
export const INTEGRATION = { baseUrl: 'https://compliance.example.com', ratePerSecond: 10, burst: 2 };

/** The canary cell (wave 0) and the share of traffic its first step gives a new version. */
export const CANARY_CELL = 'rel-a';
export const CANARY_PERCENT = 10;

/** Three cells; one integrated tenant (for the long outage), one tenant to move, the rest plain. */
export const FLEET: FleetConfig = {
  defaults: { account: '111111111111', region: 'us-east-1' },
  cells: [
    {
      id: CANARY_CELL,
      wave: 0,
      maxTenants: 10,
      deployment: { type: 'canary', percent: CANARY_PERCENT, intervalMinutes: 5 },
      tenants: ['alpha-1', 'alpha-2', { id: 'outage-co', integration: INTEGRATION }],
    },
    { id: 'rel-b', wave: 1, maxTenants: 10, tenants: ['bravo-1', 'bravo-2'] },
    { id: 'rel-c', wave: 2, maxTenants: 10, tenants: ['charlie-1', 'mover'] },
  ],
};

export const CELL_OF: Readonly<Record<string, string>> = Object.fromEntries(
  FLEET.cells.flatMap((c) => (c.tenants ?? []).map((t) => [typeof t === 'string' ? t : t.id, c.id])),
);
export const TENANTS: readonly string[] = Object.keys(CELL_OF);
export const tenantsOf = (cell: string): string[] => TENANTS.filter((t) => CELL_OF[t] === cell);
/** Tenants that report to the compliance API: kept out of bulk load, so the outage test owns its queue. */
export const INTEGRATED: readonly string[] = FLEET.cells.flatMap((c) =>
  (c.tenants ?? []).flatMap((t) => (typeof t !== 'string' && t.integration ? [t.id] : [])),
);

let attached: Omit<RunningPlatform, 'stop'> | undefined;

/** The platform the global setup started. */
export function platform(): Omit<RunningPlatform, 'stop'> {
  if (attached) return attached;
  const file = process.env[HANDLE_ENV];
  if (!file || !fs.existsSync(file)) {
    throw new Error(`no platform handle (${HANDLE_ENV}): run these tests with \`npm run test:reliability\``);
  }
  attached = attachPlatform(JSON.parse(fs.readFileSync(file, 'utf8')) as PlatformHandle);
  return attached;
}

export const figuresFile = (home: string): string => path.join(home, 'figures.txt');

/** Prints a test's figure line now and keeps it for the summary the global teardown prints. */
export function figure(name: string, fields: Readonly<Record<string, number | string>>): string {
  const line = `${name}: ${Object.entries(fields)
    .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`)
    .join(', ')}`;
  process.stderr.write(`\n  FIGURE ${line}\n`);
  fs.appendFileSync(figuresFile(platform().home), `${line}\n`);
  return line;
}

/** One request through the router as `tenant` (its API key as the bearer token). */
export function call(
  tenant: string,
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpReply> {
  const { state } = platform();
  return send(state.router, {
    method,
    path: pathname,
    headers: {
      authorization: `Bearer ${state.tenants[tenant].apiKey}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

/** Every order of `tenant`, through the router, page by page. */
export async function listOrders(tenant: string, status?: string): Promise<Record<string, unknown>[]> {
  const orders: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '100', ...(status && { status }), ...(cursor && { cursor }) });
    const res = await call(tenant, 'GET', `/orders?${query.toString()}`);
    if (res.status !== 200) throw new Error(`GET /orders as ${tenant} answered ${res.status}: ${res.text}`);
    const page = res.json as { items: Record<string, unknown>[]; nextCursor?: string };
    orders.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return orders;
}

/** The secret part of an API key (`bk_<tenant>_<secret>`; tenant ids hold no `_`, secrets may). */
export const secretOf = (apiKey: string): string => apiKey.slice(apiKey.indexOf('_', 3) + 1);

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same seed, the same run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
