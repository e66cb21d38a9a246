import * as fs from 'node:fs';
import * as path from 'node:path';

import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';

import type { Fleet } from '../../config/types';
import { CELL_SECRET_HEADER, functionUrlEvent, toApiResponse } from '../../contracts/api-event';
import type { SessionCredentials } from '../iam/sessions';
import { signRequest } from '../iam/sign-request';
import type { RuntimeAlias } from '../lambda/runtime-alias';

import type { StackRuntime } from './cell-runtime';
import type { LocalPlatform } from './platform';
import type { StatusHistoryView } from './status-history';

export interface TenantStatus {
  readonly id: string;
  readonly status: string;
  /**
   * green / orange / red, or `n/a` for a tenant without an integration; when the cell does not answer, the
   * last colour it gave (or `loading` before its first answer), and `cell down` while its cell is down.
   */
  readonly integration: string;
  readonly pending: number | null;
  /** The last complete reconciliation against the state system, and its counts per kind. */
  readonly lastReconciledAt: string | null;
  readonly reconciliation: ReconciliationCounts | null;
  readonly discrepancies: number | null;
}

export interface ReconciliationCounts {
  readonly matched: number;
  readonly missing: number;
  readonly duplicates: number;
  readonly mismatched: number;
  readonly unknown: number;
  readonly repaired: number;
}

/** What the status page reads of `GET /integration/status`. */
interface CellIntegrationStatus {
  readonly status: string;
  readonly pending: number;
  readonly configured: boolean;
  readonly lastReconciledAt?: string | null;
  readonly reconciliation?: { readonly counts: ReconciliationCounts } | null;
  readonly discrepancies?: number;
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
  /** Whether every local AWS call is authorized against the fleet's IAM policies. */
  readonly iamEnforced: boolean;
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

/** How the page reaches a cell's API: its URL, and the secret or the operator's credentials it needs. */
interface CellProbe {
  readonly endpoint: string;
  readonly secret: string;
  readonly region: string;
  /** With IAM enforced, the URL wants SigV4: the page signs as the local operator. */
  readonly credentials?: SessionCredentials;
}

async function cellGet(probe: CellProbe, pathname: string): Promise<unknown> {
  const url = `${probe.endpoint}${pathname}`;
  const headers = { ...(probe.secret && { [CELL_SECRET_HEADER]: probe.secret }) };
  const signed = probe.credentials
    ? await signRequest({ method: 'GET', url, headers }, probe.credentials, probe.region)
    : headers;
  const res = await fetch(url, { headers: signed, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
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
/** Each tenant's last integration answer: a slow probe shows it, not a wrong "unknown". */
const lastIntegration = new Map<string, { integration: string; pending: number | null }>();

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

/**
 * A tenant's view of its cell, read as operators' tools read it: a direct invoke of the API's `live`
 * alias (on AWS `lambda:InvokeFunction`), not its URL, whose tenant header the cell takes only from the
 * router.
 */
async function tenantGet(
  api: RuntimeAlias | undefined,
  secret: string,
  pathname: string,
  tenant: string,
): Promise<unknown> {
  if (!api) throw new Error('the cell has no API alias');
  const out = await api.invoke(functionUrlEvent({ method: 'GET', path: pathname, tenant }, secret));
  const res = toApiResponse(out.result, out.executedVersion);
  if (res.statusCode !== 200) throw new Error(`${res.statusCode}`);
  return res.body;
}

/** Each routed tenant's integration status, as its cell reports it. */
function tenantStatuses(
  api: RuntimeAlias | undefined,
  secret: string,
  up: boolean,
  routes: readonly Route[],
): Promise<TenantStatus[]> {
  return Promise.all(
    routes.map(async (r): Promise<TenantStatus> => {
      const s = up
        ? ((await withTimeout(tenantGet(api, secret, '/integration/status', r.tenantId), undefined)) as
            CellIntegrationStatus | undefined)
        : undefined;
      if (s) {
        const known = { integration: s.configured ? s.status : 'n/a', pending: s.pending };
        lastIntegration.set(r.tenantId, known);
        return {
          id: r.tenantId,
          status: r.status,
          ...known,
          lastReconciledAt: s.lastReconciledAt ?? null,
          reconciliation: s.reconciliation?.counts ?? null,
          discrepancies: s.discrepancies ?? null,
        };
      }
      const known = !up
        ? { integration: 'cell down', pending: null }
        : (lastIntegration.get(r.tenantId) ?? { integration: 'loading', pending: null });
      return {
        id: r.tenantId,
        status: r.status,
        ...known,
        lastReconciledAt: null,
        reconciliation: null,
        discrepancies: null,
      };
    }),
  );
}

async function cellStatus(platform: LocalPlatform, cell: Fleet['cells'][number]): Promise<CellStatus> {
  const runtime = platform.cells.get(cell.id)!;
  const local = platform.current.cells[cell.id];
  const up = runtime.healthy;
  const probe: CellProbe = {
    endpoint: local.endpoint,
    secret: local.secret,
    region: cell.region,
    ...(platform.iam && { credentials: platform.iam.operator(runtime.stack.iam.account) }),
  };
  const health = up
    ? ((await withTimeout(cellGet(probe, '/health'), undefined)) as { release?: string } | undefined)
    : undefined;
  const routes = lastRoutes
    .filter((r) => r.cellId === cell.id)
    .sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  const alias = runtime.aliases.get(runtime.stack.urls[0]?.target.functionLogicalId ?? '');
  const tenants = await tenantStatuses(alias, local.secret, up, routes);
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
    iamEnforced: platform.iam !== undefined,
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

const dot = (colour: string) =>
  `<span class="dot" style="background:${COLOURS[colour] ?? '#8c959f'}" title="${esc(colour)}"></span>`;

/** A tenant's row: its integration's colour, its backlog, and the last reconciliation with the state system. */
function tenantRow(t: TenantStatus): string {
  const r = t.reconciliation;
  const counts = r
    ? `missing ${r.missing} · duplicates ${r.duplicates} · mismatched ${r.mismatched} · unknown ${r.unknown}` +
      (t.discrepancies ? ` · <b class="bad">${t.discrepancies} discrepancies</b>` : '')
    : '';
  const reconciled = ['n/a', 'loading', 'cell down'].includes(t.integration)
    ? '—'
    : `${t.lastReconciledAt ? `<time>${esc(t.lastReconciledAt)}</time>` : 'not yet'}<br><small>${counts}</small>`;
  return (
    `<tr data-tenant="${esc(t.id)}" data-integration="${esc(t.integration)}"><td>${esc(t.id)}</td>` +
    `<td>${esc(t.status)}</td><td>${dot(t.integration)} ${esc(t.integration)}</td>` +
    `<td>${t.pending ?? '—'}</td><td class="reconciled">${reconciled}</td></tr>`
  );
}

/** uPlot (MIT, ~50 KB) and the page's script, inlined: the page is one request plus its data. */
const ASSETS = (() => {
  let loaded: { js: string; css: string } | undefined;
  return () =>
    (loaded ??= {
      js: [
        fs.readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
        fs.readFileSync(path.join(__dirname, 'status-page.browser.js'), 'utf8'),
      ].join('\n'),
      css: fs.readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    });
})();

const time = (ms: number) => new Date(ms).toISOString().slice(11, 19);

function renderIncidents(history: StatusHistoryView | undefined): string {
  if (!history) return '<li>loading</li>';
  if (history.incidents.length === 0) return '<li>no incidents</li>';
  return history.incidents
    .map(
      (i) =>
        `<li data-incident="${esc(i.kind)}" class="${i.endedAt === undefined ? 'bad' : ''}"><b>${esc(i.kind)}</b> ${esc(i.subject)} · ${time(i.startedAt)}–${i.endedAt === undefined ? 'now' : time(i.endedAt)}${i.detail ? ` · ${esc(i.detail)}` : ''}</li>`,
    )
    .join('');
}

/**
 * The status page: one card per cell, readable at a glance, with live charts per cell and the incident
 * list; its script refreshes cards, incidents and charts every two seconds (status-page.browser.js).
 */
export function renderStatusPage(s: PlatformStatus, history?: StatusHistoryView): string {
  const cells = s.cells
    .map(
      (c) => `
    <section class="cell ${c.health}" data-cell="${esc(c.id)}" data-health="${esc(c.health)}">
      <h2>${dot(c.health)} ${esc(c.id)} <small>wave ${c.wave} · ${esc(c.region)}</small></h2>
      <p class="health">${esc(c.health)}${c.release ? ` · release ${esc(c.release)}` : ''}</p>
      <p>versions: ${c.versions.map((v) => `v${esc(v.version)} ${Math.round(v.weight * 100)}%`).join(', ') || '—'}</p>
      <p>queue ${c.queueDepth ?? '—'} · DLQ <b class="${(c.dlqDepth ?? 0) > 0 ? 'bad' : ''}">${c.dlqDepth ?? '—'}</b></p>
      <table><tr><th>tenant</th><th>route</th><th>integration</th><th>pending</th><th>reconciled</th></tr>
      ${c.tenants.map(tenantRow).join('')}
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
<html lang="en"><head><meta charset="utf-8">
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
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:16px;margin-top:16px}
.cell-charts{background:#fff;border-radius:8px;padding:8px 12px;display:flex;flex-wrap:wrap;gap:8px}
.cell-charts h3{width:100%;margin:0;font-size:15px}
${ASSETS().css}
</style></head>
<body>
<header id="summary"><h1>Bulkhead — local fleet</h1>
<span>router <code>${esc(s.router)}</code></span>
<span>routing store: <b class="${s.routingStore === 'down' ? 'bad' : ''}">${esc(s.routingStore)}</b></span>
<span>compliance API: <b class="${s.compliance === 'none' ? '' : 'bad'}">${s.compliance === 'none' ? 'up' : esc(s.compliance)}</b></span>
<span>IAM: <b class="${s.iamEnforced ? '' : 'bad'}">${s.iamEnforced ? 'enforced' : 'NOT ENFORCED (--no-enforce-iam): every call is allowed'}</b></span>
<span id="updated">updated ${esc(s.generatedAt)}</span></header>
<div class="cells" id="cards">${cells}</div>
<h2 style="margin-top:24px">Live, per cell <small>requests/s, errors %, p99 and alias weight per version; dashed: release (blue), rollback (red), end (grey)</small></h2>
<div class="charts">${s.cells.map((c) => `<div class="cell-charts" data-charts="${esc(c.id)}"><h3>${esc(c.id)}</h3></div>`).join('')}</div>
<h2 style="margin-top:24px">Incidents</h2><ul id="incidents">${renderIncidents(history)}</ul>
<h2 style="margin-top:24px">Releases and rollbacks</h2><ul class="events" id="events">${events}</ul>
<script>${ASSETS().js.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>`;
}
