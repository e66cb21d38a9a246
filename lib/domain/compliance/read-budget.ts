/**
 * The GET budget. Metrc limits GETs per facility and per integrator (vendor key), with concurrency caps
 * (50/s and 150/s, 10 and 30 at once since 2021, per Metrc's rate-limiting PDF as quoted by cannlytics; the
 * same for every integrator in a state). Lookups and reconciliations are GETs, so each facility gets a
 * share it can spend without coordinating with other cells: its own limit, or its part of the
 * integrator's, whichever is smaller, with headroom for network jitter.
 */

export interface ReadLimits {
  readonly perFacilityPerSecond: number;
  readonly perIntegratorPerSecond: number;
  readonly concurrentPerFacility: number;
  readonly concurrentPerIntegrator: number;
}

export const METRC_READ_LIMITS: ReadLimits = {
  perFacilityPerSecond: 50,
  perIntegratorPerSecond: 150,
  concurrentPerFacility: 10,
  concurrentPerIntegrator: 30,
};

export interface ReadBudget {
  readonly ratePerSecond: number;
  /** GETs that may go out back to back: never more than may run at once. */
  readonly burst: number;
  readonly concurrency: number;
}

/** One facility's share when `facilities` facilities use the same vendor key on the same state API. */
export function readBudget(limits: ReadLimits, facilities: number, headroom = 0.9): ReadBudget {
  if (!(headroom > 0 && headroom <= 1)) throw new RangeError(`headroom must be in (0, 1], got ${headroom}`);
  const n = Math.max(1, Math.floor(facilities));
  const ratePerSecond = Math.min(limits.perFacilityPerSecond, limits.perIntegratorPerSecond / n) * headroom;
  const concurrency = Math.max(
    1,
    Math.min(limits.concurrentPerFacility, Math.floor(limits.concurrentPerIntegrator / n)),
  );
  return { ratePerSecond, burst: Math.max(1, Math.min(concurrency, Math.floor(ratePerSecond))), concurrency };
}

/** The key an integrator's limit is counted under: one state API, one vendor key. */
export const integratorOf = (i: { readonly baseUrl: string; readonly vendorKeySecret: string }): string =>
  `${new URL(i.baseUrl).origin} ${i.vendorKeySecret}`;

/** How many facilities share each integrator's limit. */
export function facilitiesPerIntegrator(
  integrations: readonly { readonly baseUrl: string; readonly vendorKeySecret: string }[],
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of integrations) counts.set(integratorOf(i), (counts.get(integratorOf(i)) ?? 0) + 1);
  return counts;
}
