import type { CellCapacity } from '../domain/placement';
import type { CellRecord } from '../targets/tenants/tenants-target';

/** A registered cell as placement and moves weigh it. */
export const capacityOf = (c: CellRecord): CellCapacity => ({
  id: c.cellId,
  region: c.region,
  status: c.status,
  tenantCount: c.tenantCount,
  ...(c.maxTenants !== undefined && { maxTenants: c.maxTenants }),
});
