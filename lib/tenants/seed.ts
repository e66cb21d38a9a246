/**
 * Seeding: every tenant of the fleet file the routing store does not know yet is placed on the cell the
 * fleet file declares (route + the cell's copy of its key hash), with a new API key. Tenants already
 * routed are left alone, wherever they are now (moved, say): seeding again changes nothing.
 */
import type { Fleet } from '../config/types';
import { refuseDeclaredCell, refusePlacement } from '../domain/placement';
import type { TenantsTarget } from '../targets/tenants/tenants-target';

import { capacityOf } from './capacity';
import { type Placed, placeInCell, RESERVED_TENANT_IDS } from './place';

export interface SeedRow {
  readonly tenantId: string;
  readonly cellId: string;
}

export interface SeedReport {
  readonly seeded: readonly (SeedRow & { readonly region: string; readonly apiKey: string })[];
  readonly existing: readonly SeedRow[];
  readonly failed: readonly (SeedRow & { readonly reason: string })[];
}

export async function seedFleet(
  target: TenantsTarget,
  fleet: Fleet,
  onProgress: (line: string) => void,
): Promise<SeedReport> {
  const [routes, registry] = await Promise.all([target.listRoutes(), target.listCells()]);
  const routed = new Map(routes.map((r) => [r.tenantId, r]));
  const cells = registry.map(capacityOf);
  const seeded: (SeedRow & { readonly region: string; readonly apiKey: string })[] = [];
  const existing: SeedRow[] = [];
  const failed: (SeedRow & { readonly reason: string })[] = [];
  const fail = (tenantId: string, cellId: string, reason: string) => {
    failed.push({ tenantId, cellId, reason });
    onProgress(`  ${tenantId}: not seeded: ${reason}`);
  };

  const declared = fleet.cells.flatMap((c) => c.tenants.map((t) => ({ tenantId: t.id, cell: c })));
  const toSeed = declared.filter((d) => !routed.has(d.tenantId));
  if (toSeed.length > 0)
    onProgress(`seeding ${toSeed.length} of ${declared.length} tenants on ${target.description}`);
  for (const { tenantId, cell } of declared) {
    const route = routed.get(tenantId);
    if (route) {
      existing.push({ tenantId, cellId: route.cellId });
      continue;
    }
    const refusal =
      refusePlacement(tenantId, undefined, RESERVED_TENANT_IDS) ?? refuseDeclaredCell(cell.id, cells);
    if (refusal) {
      fail(tenantId, cell.id, refusal);
      continue;
    }
    let placed: Placed;
    try {
      placed = await placeInCell(target, tenantId, cell.id);
    } catch (error) {
      fail(tenantId, cell.id, (error as Error).message.split('\n')[0]);
      continue;
    }
    if (!placed.ok) {
      // Placed by someone else meanwhile: it exists now, and is left alone like the others.
      existing.push({ tenantId, cellId: placed.existing?.cellId ?? cell.id });
      continue;
    }
    const i = cells.findIndex((c) => c.id === cell.id);
    cells[i] = { ...cells[i], tenantCount: cells[i].tenantCount + 1 };
    seeded.push({ tenantId, cellId: cell.id, region: cell.region, apiKey: placed.apiKey });
    onProgress(`  ${tenantId}: seeded on ${cell.id} (${seeded.length}/${toSeed.length})`);
  }
  return { seeded, existing, failed };
}
