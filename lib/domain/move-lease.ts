/**
 * The lease a running move holds on the tenant's move record: the run's owner id and an expiry, renewed
 * with every conditional write of the record. Another run may take the move over only once the lease has
 * expired, and a run renews (or learns it lost the lease, and stops) before every write to the tenant's
 * data: two runs never write the same tenant's data at once.
 */
export interface MoveLease {
  /** The run holding the move. */
  readonly owner?: string;
  /** ISO time the lease ends unless renewed. */
  readonly leaseUntil?: string;
}

/** How long a lease lasts from its last renewal. */
export const DEFAULT_LEASE_MS = 60_000;

/** Why `owner` may not take the move over now, or `undefined`. */
export function leaseRefusal(
  tenantId: string,
  held: MoveLease,
  owner: string,
  now: number,
): string | undefined {
  if (held.owner === undefined || held.owner === owner || held.leaseUntil === undefined) return undefined;
  if (Date.parse(held.leaseUntil) <= now) return undefined;
  return (
    `the move of ${tenantId} is held by another 'tenants move' run (${held.owner}) until ${held.leaseUntil}; ` +
    'if that run was stopped, run the same command again after that time'
  );
}

/** Whether the lease must be renewed before a write: less than half of it is left. */
export const leaseNeedsRenewal = (held: MoveLease, leaseMs: number, now: number): boolean =>
  held.leaseUntil === undefined || Date.parse(held.leaseUntil) - now < leaseMs / 2;

export const leaseFor = (owner: string, leaseMs: number, now: number): Required<MoveLease> => ({
  owner,
  leaseUntil: new Date(now + leaseMs).toISOString(),
});
