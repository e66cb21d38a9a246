/**
 * Where a new tenant goes: the active cell with the most free capacity (in a region, if asked).
 * Plain data in, a cell id or a reason out; the command supplies the cells and their tenant counts.
 */

export interface CellCapacity {
  readonly id: string;
  readonly region: string;
  /** Registry status: only `active` cells take tenants. */
  readonly status: string;
  /** Tenants the cell may hold; `undefined` when nothing declares a limit (no limit). */
  readonly maxTenants?: number;
  /** Tenants routed to the cell now, plus those being moved into it. */
  readonly tenantCount: number;
}

export type Placement =
  { readonly ok: true; readonly cellId: string } | { readonly ok: false; readonly reason: string };

export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

const freeSlots = (c: CellCapacity): number =>
  c.maxTenants === undefined ? Number.POSITIVE_INFINITY : c.maxTenants - c.tenantCount;

/** The active cell (in `region`, if given) with the most free slots; ties go to the lowest id. */
export function chooseCell(cells: readonly CellCapacity[], region?: string): Placement {
  const where = region === undefined ? '' : ` in region ${region}`;
  const candidates = cells.filter(
    (c) => c.status === 'active' && (region === undefined || c.region === region),
  );
  if (candidates.length === 0) {
    const elsewhere =
      region === undefined ? [] : cells.filter((c) => c.status === 'active').map((c) => c.region);
    const hint =
      elsewhere.length > 0 ? ` (active cells are in ${[...new Set(elsewhere)].sort().join(', ')})` : '';
    return { ok: false, reason: `no active cell${where}${hint}` };
  }
  const open = candidates.filter((c) => freeSlots(c) > 0);
  if (open.length === 0) {
    const usage = candidates
      .map((c) => `${c.id} ${c.tenantCount}/${c.maxTenants}`)
      .sort()
      .join(', ');
    return { ok: false, reason: `every active cell${where} is full (${usage})` };
  }
  const best = open.reduce((a, b) => {
    const diff = freeSlots(b) - freeSlots(a);
    if (diff !== 0 && !Number.isNaN(diff)) return diff > 0 ? b : a;
    return b.id < a.id ? b : a;
  });
  return { ok: true, cellId: best.id };
}

/** Why `tenantId` cannot be placed at all (bad shape, reserved, already routed), or `undefined`. */
export function refusePlacement(
  tenantId: string,
  existingCell: string | undefined,
  reserved: ReadonlySet<string>,
): string | undefined {
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    return `invalid tenant id '${tenantId}': use 2-63 lower-case letters, digits or '-', starting with a letter or digit`;
  }
  if (reserved.has(tenantId)) return `tenant id '${tenantId}' is reserved`;
  if (existingCell !== undefined) return `tenant '${tenantId}' already exists (on cell ${existingCell})`;
  return undefined;
}

/**
 * Why a tenant cannot go on the cell the fleet file declares for it (`tenants seed`), or `undefined`:
 * the cell must be registered (deployed), active, and have room.
 */
export function refuseDeclaredCell(cellId: string, cells: readonly CellCapacity[]): string | undefined {
  const cell = cells.find((c) => c.id === cellId);
  if (!cell) return `cell ${cellId} is not in the cell registry: deploy Bulkhead-Cell-${cellId} first`;
  if (cell.status !== 'active') return `cell ${cellId} is ${cell.status}, not active: it takes no tenants`;
  if (freeSlots(cell) <= 0) return `cell ${cellId} is full (${cell.tenantCount}/${cell.maxTenants} tenants)`;
  return undefined;
}
