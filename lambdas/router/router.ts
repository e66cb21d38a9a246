/**
 * The router's request pipeline, free of Lambda and AWS SDK types: authenticate the tenant's API key,
 * find its cell (cache → store → fail static → baked map), apply tenant/cell status, forward.
 *
 * It keeps no per-request state beyond the caches in `deps`.
 */
import { hashApiKey, parseApiKey, verifyApiKey } from '../../lib/domain/api-keys';
import {
  type BakedCell,
  type BakedRouting,
  type CellRoute,
  EMPTY_BAKED_ROUTING,
  resolveCached,
  resolveTenant,
  type RouteCache,
  type TenantRoute,
} from '../../lib/domain/route-cache';

import { RETRY_AFTER_SECONDS } from './forward';
import { CELL_HEADER, upstreamRequestHeaders } from './headers';
import type { TenantLimiter } from './limiter';
import type { CellLocator } from './locator';
import { followMove, freshRoute, isMovedAnswer } from './moved';
import { type Forward, jsonResponse, type RouterRequest, type RouterResponse } from './types';

export interface RoutingStore {
  getTenant(tenantId: string): Promise<TenantRoute | undefined>;
  getCell(cellId: string): Promise<CellRoute | undefined>;
}

export interface RouterDeps {
  readonly store: RoutingStore;
  readonly forward: Forward;
  readonly cache: RouteCache;
  /** @default Date.now */
  readonly now?: () => number;
  /** Tenant → cell and cell → account/region from the fleet file (see `bakedRoutingFromBundle`). @default none */
  readonly bakedRoutes?: BakedRouting;
  /** Finds a cell's endpoint without the store, for baked tenants. @default none: baked tenants get 503 */
  readonly locator?: CellLocator;
  /** Request bodies larger than this get 413 before anything is forwarded. @default 65536 */
  readonly maxBodyBytes?: number;
  /** Pepper mixed into API key hashes, if the keys were hashed with one. */
  readonly pepper?: string;
  /** A routing-store call slower than this counts as a store error. @default 500 */
  readonly storeTimeoutMs?: number;
  /**
   * Why a cell's endpoint must not get requests (not a function URL of the fleet), or `undefined`.
   * @default every endpoint is used
   */
  readonly endpointProblem?: (cellId: string, endpoint: string) => string | undefined;
  /** Told when an endpoint was refused, with why. */
  readonly onRefusedEndpoint?: (cellId: string, endpoint: string, problem: string) => void;
  /** Each authenticated tenant's requests per second and in flight. @default no limits */
  readonly limiter?: TenantLimiter;
  /** Told of each request a tenant's limit refused. */
  readonly onLimited?: (tenantId: string, limit: 'rate' | 'concurrency') => void;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

const retryAfter = { 'retry-after': String(RETRY_AFTER_SECONDS) };

/** The one answer for a missing, malformed, unknown or wrong key — it says nothing about the tenant. */
export const unauthenticated = (): RouterResponse =>
  jsonResponse(401, { error: 'unauthenticated' }, { 'www-authenticate': 'Bearer' });
const unavailable = (error: string): RouterResponse => jsonResponse(503, { error }, retryAfter);
/** The one answer while a tenant cannot be authenticated for want of the routing store. */
export const routingUnavailable = (): RouterResponse => unavailable('routing_unavailable');

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

function bearerToken(headers: RouterRequest['headers']): string | undefined {
  const value = headers['authorization'];
  const match = value ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value) : null;
  return match?.[1];
}

function bodyTooLarge(req: RouterRequest, max: number): boolean {
  if ((req.body?.length ?? 0) > max) return true;
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > max;
}

export async function route(req: RouterRequest, deps: RouterDeps): Promise<RouterResponse> {
  const now = (deps.now ?? Date.now)();
  const method = req.method.toUpperCase();

  // 1. Authenticate. Every failure path does exactly one hash + constant-time compare and gives one answer.
  const key = bearerToken(req.headers);
  const claimed = key ? parseApiKey(key) : undefined;
  if (!key || !claimed) {
    verifyApiKey(key ?? '', undefined, deps.pepper);
    return unauthenticated();
  }
  const tenant = await resolveTenant(
    deps.cache,
    claimed.tenantId,
    now,
    (id) => deps.store.getTenant(id),
    deps.bakedRoutes ?? EMPTY_BAKED_ROUTING,
    deps.storeTimeoutMs,
  );
  let tenantRoute: TenantRoute;
  switch (tenant.source) {
    case 'cache':
    case 'store':
    case 'stale':
      if (!verifyApiKey(key, tenant.value.keyHash, deps.pepper)) return unauthenticated();
      tenantRoute = tenant.value;
      break;
    case 'absent':
      verifyApiKey(key, undefined, deps.pepper);
      return unauthenticated();
    case 'baked':
      return routeBaked(req, deps, now, method, claimed.tenantId, key, tenant.cellId, tenant.cell);
    case 'unavailable':
      verifyApiKey(key, undefined, deps.pepper);
      return routingUnavailable();
  }

  // 2. Only authenticated tenants learn about limits and states.
  if (bodyTooLarge(req, deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)) {
    return jsonResponse(413, { error: 'payload_too_large' });
  }
  // A move may have ended since the route was cached: the store decides before a write is refused.
  if (tenant.source === 'cache' && tenantRoute.status === 'frozen' && !READS.has(method)) {
    tenantRoute = (await freshRoute(deps, claimed.tenantId, now)) ?? tenantRoute;
    if (!verifyApiKey(key, tenantRoute.keyHash, deps.pepper)) return unauthenticated();
  }
  // 3. The tenant's own limits, so that its flood is its own: after the key, so nobody can spend another
  // tenant's limit by naming it.
  const admission = deps.limiter ? await deps.limiter.admit(claimed.tenantId, now) : undefined;
  if (admission && !admission.allowed) {
    deps.onLimited?.(claimed.tenantId, admission.refusal.limit);
    return jsonResponse(
      429,
      { error: admission.refusal.limit === 'rate' ? 'tenant_rate_limited' : 'tenant_concurrency_limited' },
      { 'retry-after': String(admission.refusal.retryAfterSeconds) },
    );
  }
  try {
    const serve = (to: TenantRoute) => serveAt(to, req, deps, now, method, claimed.tenantId);
    const res = await serve(tenantRoute);
    return await followMove(res, tenantRoute.cellId, claimed.tenantId, deps, now, async (moved) =>
      verifyApiKey(key, moved.keyHash, deps.pepper) ? serve(moved) : unauthenticated(),
    );
  } finally {
    await admission?.release();
  }
}

/** Tenant status, then the tenant's cell, then the forward. */
async function serveAt(
  tenantRoute: TenantRoute,
  req: RouterRequest,
  deps: RouterDeps,
  now: number,
  method: string,
  tenantId: string,
): Promise<RouterResponse> {
  if (tenantRoute.status === 'frozen') {
    // Being moved between cells: reads keep working, writes wait for the flip.
    if (!READS.has(method)) return unavailable('tenant_frozen');
  } else if (tenantRoute.status !== 'active') {
    return unavailable('tenant_unavailable');
  }

  const cell = await resolveCached(
    deps.cache.cells,
    deps.cache.counters,
    tenantRoute.cellId,
    now,
    () => deps.store.getCell(tenantRoute.cellId),
    deps.storeTimeoutMs,
  );
  if (cell.source === 'absent' || cell.source === 'unavailable') return unavailable('cell_unavailable');
  if (cell.value.status !== 'active') return unavailable('cell_unavailable');
  if (refused(deps, tenantRoute.cellId, cell.value.endpoint)) return unavailable('cell_unavailable');

  return deps.forward({
    cellId: tenantRoute.cellId,
    url: upstreamUrl(cell.value.endpoint, req),
    method,
    headers: upstreamRequestHeaders(req.headers, { tenantId, cellSecret: cell.value.secret }),
    body: method === 'GET' || method === 'HEAD' ? undefined : req.body,
  });
}

/** Whether the endpoint is not one to send a tenant's request (and key) to; says why to `onRefusedEndpoint`. */
function refused(deps: RouterDeps, cellId: string, endpoint: string): boolean {
  const problem = deps.endpointProblem?.(cellId, endpoint);
  if (problem !== undefined) deps.onRefusedEndpoint?.(cellId, endpoint, problem);
  return problem !== undefined;
}

function upstreamUrl(endpoint: string, req: RouterRequest): string {
  const path = req.path.startsWith('/') ? req.path : `/${req.path}`;
  return `${endpoint.replace(/\/+$/, '')}${path}${req.query ? `?${req.query}` : ''}`;
}

/**
 * Cold, store down, tenant baked in from the fleet file: the router cannot check the key, so it forwards
 * the key's hash and lets the cell check it against its own copy (`lambdas/api/app.ts`).
 *
 * Which tenants are baked must not leak: until the cell has verified the key, every refusal on this path
 * is the very answer an unknown tenant gets ({@link routingUnavailable}) — no cell endpoint, a cell that
 * is not active or cannot be reached, a body over the limit, and the cell's 401 for a wrong key. Only a
 * verified request gets the cell's own answer (including its 503 for a tenant being moved). The tenant's
 * own status is unknown here; the cell enforces the freeze of a move from its copy. No tenant limit is
 * applied either: the key is not verified yet (anyone could spend a tenant's limit by naming it), and the
 * counters are in the same region's DynamoDB as the store that is down.
 */
async function routeBaked(
  req: RouterRequest,
  deps: RouterDeps,
  now: number,
  method: string,
  tenantId: string,
  key: string,
  cellId: string,
  bakedCell: BakedCell,
): Promise<RouterResponse> {
  const keyHash = hashApiKey(key, deps.pepper);
  if (bodyTooLarge(req, deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)) return routingUnavailable();

  // A cell this instance has seen (fresh or stale) is used as known, without asking the store again: it
  // is down, and asking would only add its timeout. Otherwise the locator.
  const cached = deps.cache.cells.get(cellId, now);
  let endpoint: { readonly endpoint: string; readonly secret?: string } | undefined;
  if (cached.kind !== 'miss') {
    if (cached.value.status !== 'active') return routingUnavailable();
    endpoint = cached.value;
  } else {
    endpoint = await deps.locator?.locate(cellId, bakedCell).catch(() => undefined);
  }
  if (!endpoint || refused(deps, cellId, endpoint.endpoint)) return routingUnavailable();

  const res = await deps.forward({
    cellId,
    url: upstreamUrl(endpoint.endpoint, req),
    method,
    headers: upstreamRequestHeaders(req.headers, {
      claim: { tenantId, keyHash },
      cellSecret: endpoint.secret,
    }),
    body: method === 'GET' || method === 'HEAD' ? undefined : req.body,
  });
  // The cell refused the key (or has no copy of it, or predates key checks and saw no tenant); or the
  // forwarder could not reach the cell (its answers carry no cell header).
  // A tenant that has left the cell: without the store the router cannot learn where it went.
  if (
    res.status === 401 ||
    (res.status === 503 && res.headers[CELL_HEADER] === undefined) ||
    isMovedAnswer(res)
  ) {
    return routingUnavailable();
  }
  return res;
}
