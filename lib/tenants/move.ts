/**
 * Moving a tenant and its data to another cell, over the tenants port: the refusals first, then the
 * resumable move of `lib/domain/migration.ts`, its progress kept on the tenant's route.
 */
import {
  expectedRoute,
  isMoving,
  type MoveOptions,
  type MovePorts,
  type MoveProgress,
  moveTenant,
  refuseMove,
} from '../domain/migration';
import type { TenantsTarget } from '../targets/tenants/tenants-target';

import { capacityOf } from './capacity';

/** Default wait after freeze and flip: the router's route cache TTL (30 s) plus its forward timeout (10 s), and margin. */
export const DEFAULT_SETTLE_SECONDS = 45;
/** The router's route cache TTL (`ROUTE_CACHE_TTL_SECONDS`, its default). */
const ROUTER_CACHE_TTL_SECONDS = 30;

/**
 * How long a move waits for routers to drop a cached route: at least the routers' cache TTL, or a
 * router could still read the tenant from the old cell after its copy is deleted. A local platform
 * publishes its (time-scaled) TTL; on AWS it is the router stack's default.
 */
export function settleSeconds(
  asked: number | undefined,
  target: Pick<TenantsTarget, 'routeCacheTtlSeconds'>,
): { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly reason: string } {
  const ttl = target.routeCacheTtlSeconds ?? ROUTER_CACHE_TTL_SECONDS;
  if (asked === undefined) {
    return {
      ok: true,
      seconds: target.routeCacheTtlSeconds === undefined ? DEFAULT_SETTLE_SECONDS : ttl + 15,
    };
  }
  if (asked < ttl) {
    return {
      ok: false,
      reason: `--settle-seconds ${asked} is shorter than the routers' route cache (${ttl} s): a router could still use the old route`,
    };
  }
  return { ok: true, seconds: asked };
}

/** The ports a tenant move runs on, over a target: progress on the route, data in the two cells. */
export async function movePorts(target: TenantsTarget, from: string, to: string): Promise<MovePorts> {
  const [source, destination] = await Promise.all([target.cell(from), target.cell(to)]);
  return {
    source,
    target: destination,
    begin: (progress) =>
      target.updateRoute(
        progress.tenantId,
        { status: 'frozen', move: progress },
        { cellId: progress.from, status: 'active', move: 'none' },
      ),
    save: (prev, next, change = {}) =>
      target.updateRoute(
        prev.tenantId,
        { ...change, move: next },
        { ...expectedRoute(prev), move: { step: prev.step, startedAt: prev.startedAt } },
      ),
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}

export type MoveTenantOptions = Pick<MoveOptions, 'pageSize' | 'settleMs' | 'afterSave' | 'onEvent'>;

export type Moved =
  | {
      readonly ok: true;
      readonly from: string;
      readonly progress: MoveProgress;
      /** How long the move itself ran (after the checks). */
      readonly ms: number;
    }
  | { readonly ok: false; readonly reason: string };

/**
 * Moves `tenantId` to cell `to`, or resumes its move there; refuses a move the tenant, the cells or the
 * tenant's compliance integration do not allow.
 */
export async function moveTenantTo(
  target: TenantsTarget,
  tenantId: string,
  to: string,
  options: MoveTenantOptions = {},
): Promise<Moved> {
  const route = await target.getRoute(tenantId);
  if (!route) return { ok: false, reason: `unknown tenant '${tenantId}'` };
  const cells = (await target.listCells()).map(capacityOf);
  const refusal = refuseMove(route, to, cells);
  if (refusal) return { ok: false, reason: refusal };

  const from = isMoving(route.move) ? route.move.from : route.cellId;
  const ports = await movePorts(target, from, to);
  if (!isMoving(route.move)) {
    // A cell only syncs the tenants its stack is configured for; any other tenant's pending sales it
    // would mark NOT_REQUIRED, which must never happen to a tenant that reports to a compliance API.
    const [atSource, atTarget] = await Promise.all([
      (await target.cell(from)).integrationConfigured(tenantId),
      (await target.cell(to)).integrationConfigured(tenantId),
    ]);
    if (atSource === true && atTarget === false) {
      return {
        ok: false,
        reason:
          `cell ${to} is not configured for ${tenantId}'s compliance integration: list ${tenantId} ` +
          `(with its integration) under ${to} in the fleet file and deploy ${to} first`,
      };
    }
  }
  const started = Date.now();
  try {
    const result = await moveTenant(route, to, cells, ports, options);
    return result.ok ? { ok: true, from, progress: result.progress, ms: Date.now() - started } : result;
  } catch (error) {
    const now = await target.getRoute(tenantId).catch(() => undefined);
    const at = isMoving(now?.move) ? ` at step ${now.move.step}` : '';
    return {
      ok: false,
      reason: `the move stopped${at}: ${(error as Error).message}; run the same command again to resume`,
    };
  }
}
