/**
 * The router's request pipeline, free of Lambda and AWS SDK types: authenticate the tenant's API key,
 * find its cell (cache → store → fail static → baked map), apply tenant/cell status, forward.
 *
 * It keeps no per-request state beyond the cache in `deps`.
 */
import { parseApiKey, verifyApiKey } from '../../lib/domain/api-keys';
import {
  type BakedRoutes,
  type CellRoute,
  resolveCached,
  resolveTenant,
  type RouteCache,
  type TenantRoute,
} from '../../lib/domain/route-cache';

import { RETRY_AFTER_SECONDS } from './forward';
import { upstreamRequestHeaders } from './headers';
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
  /** Tenant → cell from the fleet file (see `bakedRoutesFromBundle`). @default {} */
  readonly bakedRoutes?: BakedRoutes;
  /** Request bodies larger than this get 413 before anything is forwarded. @default 65536 */
  readonly maxBodyBytes?: number;
  /** Pepper mixed into API key hashes, if the keys were hashed with one. */
  readonly pepper?: string;
  /** A routing-store call slower than this counts as a store error. @default 500 */
  readonly storeTimeoutMs?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

const retryAfter = { 'retry-after': String(RETRY_AFTER_SECONDS) };

/** The one answer for a missing, malformed, unknown or wrong key — it says nothing about the tenant. */
export const unauthenticated = (): RouterResponse =>
  jsonResponse(401, { error: 'unauthenticated' }, { 'www-authenticate': 'Bearer' });
const unavailable = (error: string): RouterResponse => jsonResponse(503, { error }, retryAfter);

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
    deps.bakedRoutes ?? {},
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
    // The baked map knows the tenant's cell but holds no key hash, so the key cannot be checked and
    // the request must not be forwarded. Same answer as for a tenant that is not baked: which tenants
    // are baked must not leak either.
    // falls through
    case 'unavailable':
      verifyApiKey(key, undefined, deps.pepper);
      return unavailable('routing_unavailable');
  }

  // 2. Only authenticated tenants learn about limits and states.
  if (bodyTooLarge(req, deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)) {
    return jsonResponse(413, { error: 'payload_too_large' });
  }
  if (tenantRoute.status === 'frozen') {
    // Being moved between cells: reads keep working, writes wait for the flip.
    if (!READS.has(method)) return unavailable('tenant_frozen');
  } else if (tenantRoute.status !== 'active') {
    return unavailable('tenant_unavailable');
  }

  // 3. The cell.
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

  // 4. Forward.
  const path = req.path.startsWith('/') ? req.path : `/${req.path}`;
  const url = `${cell.value.endpoint.replace(/\/+$/, '')}${path}${req.query ? `?${req.query}` : ''}`;
  return deps.forward({
    cellId: tenantRoute.cellId,
    url,
    method,
    headers: upstreamRequestHeaders(req.headers, {
      tenantId: claimed.tenantId,
      cellSecret: cell.value.secret,
    }),
    body: method === 'GET' || method === 'HEAD' ? undefined : req.body,
  });
}
