/**
 * Moving a tenant and its data to another cell, over the tenants port: the refusals first, then the
 * resumable move of `lib/domain/migration.ts`, its progress kept on the tenant's route.
 */
import { randomUUID } from 'node:crypto';

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
        {
          ...expectedRoute(prev),
          move: { step: prev.step, startedAt: prev.startedAt, owner: prev.owner ?? null },
        },
      ),
    now: () => Date.now(),
  };
}

/** A run that stopped on an error gives its lease up, so that running the command again resumes at once. */
async function releaseLease(target: TenantsTarget, move: MoveProgress): Promise<void> {
  const { step, startedAt, owner } = move;
  await target
    .updateRoute(
      move.tenantId,
      { move: { ...move, leaseUntil: new Date().toISOString() } },
      { move: { step, startedAt, owner: owner ?? null } },
    )
    .catch(() => false);
}

export type MoveTenantOptions = Pick<MoveOptions, 'pageSize' | 'afterSave' | 'onEvent'>;

export type Moved =
  | {
      readonly ok: true;
      readonly from: string;
      readonly progress: MoveProgress;
      /** How long the move itself ran (after the checks). */
      readonly ms: number;
    }
  /** `badInput`: the tenant or the cell named does not exist (the CLI's exit code 2). */
  | { readonly ok: false; readonly reason: string; readonly badInput?: true };

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
  if (!route) return { ok: false, reason: `unknown tenant '${tenantId}'`, badInput: true };
  const cells = (await target.listCells()).map(capacityOf);
  const refusal = refuseMove(route, to, cells);
  if (refusal)
    return { ok: false, reason: refusal, ...(!cells.some((c) => c.id === to) && { badInput: true }) };

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
  const owner = randomUUID();
  try {
    const result = await moveTenant(route, to, cells, ports, { ...options, owner });
    return result.ok ? { ok: true, from, progress: result.progress, ms: Date.now() - started } : result;
  } catch (error) {
    const now = await target.getRoute(tenantId).catch(() => undefined);
    if (isMoving(now?.move) && now.move.owner === owner) await releaseLease(target, now.move);
    const at = isMoving(now?.move) ? ` at step ${now.move.step}` : '';
    return {
      ok: false,
      reason: `the move stopped${at}: ${(error as Error).message}; run the same command again to resume`,
    };
  }
}
