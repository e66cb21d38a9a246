import * as fs from 'node:fs';
import * as path from 'node:path';

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';

import type { Fleet } from '../../config/types';
import { CELL_SECRET_HEADER, TENANT_HEADER } from '../../contracts/api-event';

import type { StackRuntime } from './cell-runtime';
import type { LocalPlatform } from './platform';
import type { LocalCellState } from './platform-state';

export interface TenantStatus {
  readonly id: string;
  readonly status: string;
  /** green / orange / red, or `n/a` for a tenant without an integration, `unknown` when the cell did not answer. */
  readonly integration: string;
  readonly pending: number | null;
}

export interface CellStatus {
  readonly id: string;
  readonly wave: number;
  readonly region: string;
  readonly processes: 'up' | 'down';
  readonly health: 'healthy' | 'unhealthy' | 'down';
  readonly release: string | null;
  readonly versions: readonly { readonly version: string; readonly weight: number }[];
  readonly queueDepth: number | null;
  readonly dlqDepth: number | null;
  readonly tenants: readonly TenantStatus[];
}

export interface ReleaseEvent {
  readonly at: string;
  readonly kind: string;
  readonly summary: string;
}

export interface PlatformStatus {
  readonly generatedAt: string;
  readonly router: string;
  readonly routingStore: 'up' | 'down';
  readonly compliance: string;
  readonly cells: readonly CellStatus[];
  readonly events: readonly ReleaseEvent[];
}

const PROBE_TIMEOUT_MS = 1500;

function withTimeout<T>(promise: Promise<T>, fallback: T): Promise<T> {
  return Promise.race([
    promise.catch(() => fallback),
    new Promise<T>((resolve) => setTimeout(() => resolve(fallback), PROBE_TIMEOUT_MS).unref()),
  ]);
}

async function cellGet(
  endpoint: string,
  secret: string,
  pathname: string,
  tenant?: string,
): Promise<unknown> {
  const res = await fetch(`${endpoint}${pathname}`, {
    headers: { [CELL_SECRET_HEADER]: secret, ...(tenant && { [TENANT_HEADER]: tenant }) },
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`${res.status}`);
  return res.json();
}

/** The release log's newest entries (written by the release tooling), newest first. */
export function readEvents(dataDir: string, limit = 15): ReleaseEvent[] {
  try {
    return fs
      .readFileSync(path.join(dataDir, 'releases.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ReleaseEvent)
      .reverse()
      .slice(0, limit);
  } catch {
    return [];
  }
}

type Route = { tenantId: string; cellId: string; status: string };
let lastRoutes: Route[] = [];

/** Messages in a queue, visible or in flight; null when the cell's queue cannot say. */
async function queueDepth(runtime: StackRuntime, queueUrl: string): Promise<number | null> {
  if (!runtime.healthy || !queueUrl) return null;
  const out = await withTimeout(
    runtime.clients().sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    ),
    undefined,
  );
  if (!out?.Attributes) return null;
  return (
    Number(out.Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/** Each routed tenant's integration status, as its cell reports it. */
function tenantStatuses(
  local: LocalCellState,
  up: boolean,
  routes: readonly Route[],
): Promise<TenantStatus[]> {
  return Promise.all(
    routes.map(async (r): Promise<TenantStatus> => {
      const s = up
        ? ((await withTimeout(
            cellGet(local.endpoint, local.secret, '/integration/status', r.tenantId),
            undefined,
          )) as { status: string; pending: number; configured: boolean } | undefined)
        : undefined;
      return {
        id: r.tenantId,
        status: r.status,
        integration: s ? (s.configured ? s.status : 'n/a') : 'unknown',
        pending: s ? s.pending : null,
      };
    }),
  );
}

async function cellStatus(platform: LocalPlatform, cell: Fleet['cells'][number]): Promise<CellStatus> {
  const runtime = platform.cells.get(cell.id)!;
  const local = platform.current.cells[cell.id];
  const up = runtime.healthy;
  const health = up
    ? ((await withTimeout(cellGet(local.endpoint, local.secret, '/health'), undefined)) as
        { release?: string } | undefined)
    : undefined;
  const routes = lastRoutes
    .filter((r) => r.cellId === cell.id)
    .sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  const tenants = await tenantStatuses(local, up, routes);
  const alias = runtime.aliases.get(runtime.stack.urls[0]?.target.functionLogicalId ?? '');
  return {
    id: cell.id,
    wave: cell.wave,
    region: cell.region,
    processes: up ? 'up' : 'down',
    health: !up ? 'down' : health ? 'healthy' : 'unhealthy',
    release: health?.release ?? null,
    versions: alias?.weights() ?? [],
    queueDepth: await queueDepth(runtime, local.queueUrl),
    dlqDepth: await queueDepth(runtime, local.dlqUrl),
    tenants,
  };
}

/** Everything the status page shows, each probe bounded in time so one dead piece never stalls it. */
export async function collectStatus(platform: LocalPlatform): Promise<PlatformStatus> {
  const state = platform.current;
  const storeUp = platform.router?.dynamo.running ?? false;
  // With the routing store down the page keeps the last tenants it saw, like the router does.
  if (storeUp) lastRoutes = await withTimeout(platform.routes(), lastRoutes);
  const cells = await Promise.all(platform.fleet.cells.map((cell) => cellStatus(platform, cell)));
  return {
    generatedAt: new Date().toISOString(),
    router: state.router,
    routingStore: storeUp ? 'up' : 'down',
    compliance: platform.simulator.currentFault,
    cells,
    events: readEvents(platform.dataDir),
  };
}

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const COLOURS: Record<string, string> = {
  green: '#1a7f37',
  orange: '#d97706',
  red: '#cf222e',
  healthy: '#1a7f37',
  unhealthy: '#d97706',
  down: '#cf222e',
};

/** The status page: one card per cell, readable at a glance, refreshing itself every two seconds. */
export function renderStatusPage(s: PlatformStatus): string {
  const dot = (colour: string) =>
    `<span class="dot" style="background:${COLOURS[colour] ?? '#8c959f'}" title="${esc(colour)}"></span>`;
  const cells = s.cells
    .map(
      (c) => `
    <section class="cell ${c.health}" data-cell="${esc(c.id)}" data-health="${esc(c.health)}">
      <h2>${dot(c.health)} ${esc(c.id)} <small>wave ${c.wave} · ${esc(c.region)}</small></h2>
      <p class="health">${esc(c.health)}${c.release ? ` · release ${esc(c.release)}` : ''}</p>
      <p>versions: ${c.versions.map((v) => `v${esc(v.version)} ${Math.round(v.weight * 100)}%`).join(', ') || '—'}</p>
      <p>queue ${c.queueDepth ?? '—'} · DLQ <b class="${(c.dlqDepth ?? 0) > 0 ? 'bad' : ''}">${c.dlqDepth ?? '—'}</b></p>
      <table><tr><th>tenant</th><th>route</th><th>integration</th><th>pending</th></tr>
      ${c.tenants
        .map(
          (t) =>
            `<tr data-tenant="${esc(t.id)}"><td>${esc(t.id)}</td><td>${esc(t.status)}</td><td>${dot(t.integration)} ${esc(t.integration)}</td><td>${t.pending ?? '—'}</td></tr>`,
        )
        .join('')}
      </table>
    </section>`,
    )
    .join('');
  const events =
    s.events.length === 0
      ? '<li>no releases or rollbacks yet</li>'
      : s.events
          .map((e) => `<li><time>${esc(e.at)}</time> <b>${esc(e.kind)}</b> ${esc(e.summary)}</li>`)
          .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>Bulkhead — local fleet</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1f2328;background:#f6f8fa}
header{display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
.cells{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px;margin-top:16px}
.cell{background:#fff;border:2px solid #1a7f37;border-radius:8px;padding:12px 16px}
.cell.unhealthy{border-color:#d97706}.cell.down{border-color:#cf222e;background:#fff5f5}
h2{margin:0 0 4px;font-size:18px}small{color:#59636e;font-weight:normal}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px}
table{width:100%;border-collapse:collapse;margin-top:8px}td,th{text-align:left;padding:2px 4px;border-bottom:1px solid #eee}
.bad{color:#cf222e}
</style></head>
<body>
<header><h1>Bulkhead — local fleet</h1>
<span>router <code>${esc(s.router)}</code></span>
<span>routing store: <b class="${s.routingStore === 'down' ? 'bad' : ''}">${esc(s.routingStore)}</b></span>
<span>compliance API: <b class="${s.compliance === 'none' ? '' : 'bad'}">${s.compliance === 'none' ? 'up' : esc(s.compliance)}</b></span>
<span>updated ${esc(s.generatedAt)}</span></header>
<div class="cells">${cells}</div>
<h2 style="margin-top:24px">Releases and rollbacks</h2><ul class="events">${events}</ul>
</body></html>`;
}
