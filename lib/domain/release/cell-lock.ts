/**
 * The release lock of a cell: a lease held by one run of `release`, `rollback` or a drill. The decisions
 * (take, refuse, steal, renew, give back) are made here over the stored record and a clock; the store at the
 * edge only writes what a decision says, on the condition it names, so two runs deciding at once cannot
 * both win: the loser's conditional write fails and it decides again on what is stored then.
 */

/** The stored lock of one cell. */
export interface CellLock {
  readonly cellId: string;
  /** Who holds it, as people read it (`alice@laptop`). */
  readonly holder: string;
  /** The run holding it: a renewal or release by another run of the same person does not count. */
  readonly token: string;
  /** What the holder is doing (`release r7`, `rollback: orders slow`). */
  readonly reason: string;
  /** Epoch ms the holder took it. */
  readonly since: number;
  /** Epoch ms the lease ends unless renewed: a crashed run's lock frees itself then. */
  readonly expiresAt: number;
}

/** What a run asks for. */
export interface LockRequest {
  readonly cellId: string;
  readonly holder: string;
  readonly token: string;
  readonly reason: string;
  readonly leaseMs: number;
  /** `--force <reason>`: take the lock even from a live holder. */
  readonly force?: string;
}

/** The condition a write is made on: no live lock, or the very lock that was read (by its token). */
export type LockExpectation =
  { readonly kind: 'free'; readonly now: number } | { readonly kind: 'held-by'; readonly token: string };

export type AcquireDecision =
  | {
      readonly action: 'write';
      readonly lock: CellLock;
      readonly expect: LockExpectation;
      readonly stolen?: CellLock;
    }
  | { readonly action: 'refuse'; readonly held: CellLock };

/** How long a lease lasts from its last renewal; the heartbeat renews it three times as often. */
export const RELEASE_LEASE_MS = 5 * 60_000;

export const isLive = (lock: CellLock | undefined, now: number): lock is CellLock =>
  lock !== undefined && lock.expiresAt >= now;

/**
 * Whether to take the cell's lock: free or expired, it is taken; held by this run, it is renewed; held by
 * someone else, it is refused unless forced, and then stolen from exactly that holder.
 */
export function decideAcquire(
  current: CellLock | undefined,
  request: LockRequest,
  now: number,
): AcquireDecision {
  const lock: CellLock = {
    cellId: request.cellId,
    holder: request.holder,
    token: request.token,
    reason: request.reason,
    since: now,
    expiresAt: now + request.leaseMs,
  };
  if (!isLive(current, now)) return { action: 'write', lock, expect: { kind: 'free', now } };
  if (current.token === request.token)
    return {
      action: 'write',
      lock: { ...current, expiresAt: lock.expiresAt },
      expect: { kind: 'held-by', token: current.token },
    };
  if (request.force === undefined) return { action: 'refuse', held: current };
  return { action: 'write', lock, expect: { kind: 'held-by', token: current.token }, stolen: current };
}

export type RenewDecision =
  | { readonly action: 'write'; readonly lock: CellLock; readonly expect: LockExpectation }
  /** Someone else holds it now, or nobody does: this run stops before its next step. */
  | { readonly action: 'lost'; readonly held?: CellLock };

/** A heartbeat: the lease extended while this run still holds it, else lost (to whom, if anyone). */
export function decideRenew(
  current: CellLock | undefined,
  token: string,
  leaseMs: number,
  now: number,
): RenewDecision {
  if (current?.token !== token) return { action: 'lost', ...(isLive(current, now) && { held: current }) };
  return {
    action: 'write',
    lock: { ...current, expiresAt: now + leaseMs },
    expect: { kind: 'held-by', token },
  };
}

/** Giving the lock back: only the holding run's own lock is deleted. */
export const decideRelease = (current: CellLock | undefined, token: string): 'delete' | 'not-held' =>
  current?.token === token ? 'delete' : 'not-held';

/** Whether a stored lock meets the condition a write was made on (what the store checks atomically). */
export function meetsExpectation(current: CellLock | undefined, expect: LockExpectation): boolean {
  return expect.kind === 'free' ? !isLive(current, expect.now) : current?.token === expect.token;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The one line a refused run prints. */
export const lockRefusal = (held: CellLock): string =>
  `cell ${held.cellId} is locked by ${held.holder} since ${iso(held.since)} (${held.reason}); --force to take it`;

/** Why a run stops: its lease is gone. */
export const lockLost = (cellId: string, held: CellLock | undefined): string =>
  held
    ? `lost the lock of cell ${cellId} to ${held.holder} (${held.reason}) at ${iso(held.since)}: stopped before the next step`
    : `lost the lock of cell ${cellId} (its lease expired): stopped before the next step`;
