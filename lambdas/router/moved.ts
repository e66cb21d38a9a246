/**
 * A tenant moved between cells, as the router sees it. The router does not wait for its route cache to
 * expire: a cached frozen route is checked with the store before a write is refused, and a cell's
 * "moved" answer (421 + {@link MOVED_TO_HEADER}, `lambdas/api/app.ts`; nothing was applied there) drops
 * the cached route, re-resolves it from the store and sends the request once more, to the new cell.
 */
import { resolveCached, type TenantRoute } from '../../lib/domain/route-cache';
import { MOVED_TO_HEADER } from '../shared/tenant';

import { RETRY_AFTER_SECONDS } from './forward';
import type { RouterDeps } from './router';
import { jsonResponse, type RouterResponse } from './types';

export const isMovedAnswer = (res: RouterResponse): boolean =>
  res.status === 421 && res.headers[MOVED_TO_HEADER] !== undefined;

/** What the client gets when the route could not be followed: retry, as for any move. */
export const movedUnavailable = (): RouterResponse =>
  jsonResponse(503, { error: 'tenant_moved' }, { 'retry-after': String(RETRY_AFTER_SECONDS) });

/** The tenant's route as the store has it now (the cached one dropped); `undefined` when unknown or unreachable. */
export async function freshRoute(
  deps: RouterDeps,
  tenantId: string,
  now: number,
): Promise<TenantRoute | undefined> {
  deps.cache.tenants.delete(tenantId);
  const resolved = await resolveCached(
    deps.cache.tenants,
    deps.cache.counters,
    tenantId,
    now,
    () => deps.store.getTenant(tenantId),
    deps.storeTimeoutMs,
  );
  return resolved.source === 'store' ? resolved.value : undefined;
}

/**
 * `res` unless it is a "moved" answer from `fromCell`; then the request once more where the store now
 * routes the tenant (`serve`), and never a second time: a second "moved" becomes a 503 to retry.
 */
export async function followMove(
  res: RouterResponse,
  fromCell: string,
  tenantId: string,
  deps: RouterDeps,
  now: number,
  serve: (route: TenantRoute) => Promise<RouterResponse>,
): Promise<RouterResponse> {
  if (!isMovedAnswer(res)) return res;
  const route = await freshRoute(deps, tenantId, now);
  if (!route || route.cellId === fromCell) return movedUnavailable();
  const again = await serve(route);
  return isMovedAnswer(again) ? movedUnavailable() : again;
}
