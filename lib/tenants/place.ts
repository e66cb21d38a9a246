/** Placing a new tenant: on the emptiest active cell, with a fresh API key, never over another placement. */
import { DRILL_TENANT, SMOKE_TENANT } from '../contracts/names';
import { generateApiKey, hashApiKey } from '../domain/api-keys';
import { chooseCell, refusePlacement } from '../domain/placement';
import type { RouteRecord, TenantsTarget } from '../targets/tenants/tenants-target';

import { capacityOf } from './capacity';

/** Tenant ids nobody may take: the pre-traffic smoke test writes as this tenant in every cell. */
export const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set([SMOKE_TENANT, DRILL_TENANT]);

export type Placed =
  | { readonly ok: true; readonly apiKey: string }
  | { readonly ok: false; readonly reason: string; readonly existing?: RouteRecord };

/**
 * Puts a new tenant on `cellId` with a fresh API key: first the cell's copy of the key hash (so no route
 * is ever live without it, and a cell that cannot be written leaves nothing behind), then the route,
 * only if the tenant has none. When another placement of the same tenant won meanwhile, the cell is
 * left as that placement wants it (its copy restored, or ours removed).
 */
export async function placeInCell(target: TenantsTarget, tenantId: string, cellId: string): Promise<Placed> {
  const apiKey = generateApiKey(tenantId);
  const keyHash = hashApiKey(apiKey);
  const cell = await target.cell(cellId);
  await cell.putTenantKey(tenantId, keyHash);
  const created = await target.createRoute({
    tenantId,
    cellId,
    status: 'active',
    keyHash,
    createdAt: new Date().toISOString(),
  });
  if (created) return { ok: true, apiKey };
  const winner = await target.getRoute(tenantId);
  if (winner?.cellId === cellId) await cell.putTenantKey(tenantId, winner.keyHash);
  else await cell.removeTenantKey(tenantId, keyHash);
  return {
    ok: false,
    reason: `tenant '${tenantId}' already exists (placed meanwhile)`,
    ...(winner && { existing: winner }),
  };
}

export type NewTenant =
  | {
      readonly ok: true;
      readonly tenantId: string;
      readonly cellId: string;
      readonly region?: string;
      readonly apiKey: string;
    }
  /** `badInput`: the tenant id is not one a tenant may have (the CLI's exit code 2). */
  | { readonly ok: false; readonly reason: string; readonly badInput?: true };

/** A new tenant on the active cell with the most room (in `region`, if given). */
export async function placeNewTenant(
  target: TenantsTarget,
  tenantId: string,
  region?: string,
): Promise<NewTenant> {
  const shapeProblem = refusePlacement(tenantId, undefined, RESERVED_TENANT_IDS);
  if (shapeProblem) return { ok: false, reason: shapeProblem, badInput: true };
  const existing = await target.getRoute(tenantId);
  const refusal = refusePlacement(tenantId, existing?.cellId, RESERVED_TENANT_IDS);
  if (refusal) return { ok: false, reason: refusal };

  const cells = await target.listCells();
  const placement = chooseCell(cells.map(capacityOf), region);
  if (!placement.ok) return placement;

  const placed = await placeInCell(target, tenantId, placement.cellId);
  if (!placed.ok) return { ok: false, reason: placed.reason };
  const cellRegion = cells.find((c) => c.cellId === placement.cellId)?.region;
  return {
    ok: true,
    tenantId,
    cellId: placement.cellId,
    ...(cellRegion !== undefined && { region: cellRegion }),
    apiKey: placed.apiKey,
  };
}
