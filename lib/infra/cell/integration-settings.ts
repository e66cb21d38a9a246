/**
 * What each cell bundles as its integrations file: every integrated tenant's settings with its share of
 * the state API's GET limits, which every facility on the same API and vendor key shares, fleet-wide.
 */
import { integratedTenants } from '../../config/integrations';
import type { Cell, Fleet } from '../../config/types';
import {
  facilitiesPerIntegrator,
  integratorOf,
  METRC_READ_LIMITS,
  readBudget,
} from '../../domain/compliance/read-budget';

/** Facilities of the whole fleet per integrator (`integratorOf` → count). */
export function fleetIntegratorFacilities(fleet: Fleet): Record<string, number> {
  return Object.fromEntries(
    facilitiesPerIntegrator(fleet.cells.flatMap((c) => integratedTenants(c).map(([, i]) => i))),
  );
}

/** Each tenant's integration as its functions read it; without the fleet's shares, the cell's own. */
export function cellIntegrationSettings(cell: Cell, fleetShares?: Readonly<Record<string, number>>) {
  const configured = integratedTenants(cell).map(([id, i]) => ({ id, ...i }));
  const cellShares = facilitiesPerIntegrator(configured);
  return Object.fromEntries(
    configured.map(({ id, ...i }) => {
      const facilities = fleetShares?.[integratorOf(i)] ?? cellShares.get(integratorOf(i)) ?? 1;
      const budget = readBudget(METRC_READ_LIMITS, facilities);
      return [id, { ...i, readRatePerSecond: budget.ratePerSecond, readBurst: budget.burst }];
    }),
  );
}
