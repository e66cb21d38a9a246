/**
 * `status`: each cell's wave, live versions, deployment, alarms, who holds its release lock, and its last
 * release and rollback in the log.
 */
import type { Cell } from '../config/types';
import { type CellLock, isLive } from '../domain/release';
import type { ReleaseLogEntry, ReleaseTarget } from '../targets/release/release-target';

import type { ReleaseContext } from './context';

export type CellStatusRow = Awaited<ReturnType<typeof cellRow>>;

/** The cell's lock while its lease lives; an unreadable lock is said so, not taken for none. */
async function lockOf(target: ReleaseTarget, cell: Cell, now: number) {
  let lock: CellLock | undefined;
  try {
    lock = await target.locks.read(cell.id);
  } catch (err) {
    return { unreadable: (err as Error).message };
  }
  if (!isLive(lock, now)) return null;
  return {
    holder: lock.holder,
    since: new Date(lock.since).toISOString(),
    reason: lock.reason,
    expiresAt: new Date(lock.expiresAt).toISOString(),
  };
}

async function cellRow(
  target: ReleaseTarget,
  cell: Cell,
  last: (cellId: string, kind: ReleaseLogEntry['kind']) => ReleaseLogEntry | undefined,
  now: number,
) {
  const [s, alarms, lock] = await Promise.all([
    target.status(cell, { previous: true }),
    target.alarms(cell).catch((err: Error) => [`(alarms unreadable: ${err.message})`]),
    lockOf(target, cell, now),
  ]);
  const lastRelease = last(cell.id, 'release');
  const lastRollback = last(cell.id, 'rollback');
  return {
    cell: cell.id,
    wave: cell.wave,
    ...(s.unavailable && { unavailable: s.unavailable }),
    functions: s.functions.map((f) => ({
      name: f.name,
      weights: f.weights,
      release: f.release ?? null,
      previous: f.previous?.version ?? null,
    })),
    deployment: s.deployment ?? null,
    lastDeployment: s.lastDeployment ?? null,
    alarms,
    lock,
    lastRelease: lastRelease
      ? { at: lastRelease.at, release: lastRelease.release, summary: lastRelease.summary }
      : null,
    lastRollback: lastRollback
      ? { at: lastRollback.at, who: lastRollback.who, why: lastRollback.why, summary: lastRollback.summary }
      : null,
  };
}

export async function fleetStatus(
  ctx: Pick<ReleaseContext, 'target' | 'fleet' | 'now'>,
): Promise<CellStatusRow[]> {
  const log = ctx.target.log.entries();
  const last = (cellId: string, kind: ReleaseLogEntry['kind']) =>
    log.filter((e) => e.cell === cellId && e.kind === kind).at(-1);
  const now = ctx.now();
  return Promise.all(ctx.fleet.cells.map((cell) => cellRow(ctx.target, cell, last, now)));
}
