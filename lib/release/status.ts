/** `status`: each cell's wave, live versions, deployment, alarms, and its last release and rollback in the log. */
import type { Cell } from '../config/types';
import type { ReleaseLogEntry, ReleaseTarget } from '../targets/release/release-target';

import type { ReleaseContext } from './context';

export type CellStatusRow = Awaited<ReturnType<typeof cellRow>>;

async function cellRow(
  target: ReleaseTarget,
  cell: Cell,
  last: (cellId: string, kind: ReleaseLogEntry['kind']) => ReleaseLogEntry | undefined,
) {
  const [s, alarms] = await Promise.all([
    target.status(cell, { previous: true }),
    target.alarms(cell).catch((err: Error) => [`(alarms unreadable: ${err.message})`]),
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
    lastRelease: lastRelease
      ? { at: lastRelease.at, release: lastRelease.release, summary: lastRelease.summary }
      : null,
    lastRollback: lastRollback
      ? { at: lastRollback.at, who: lastRollback.who, why: lastRollback.why, summary: lastRollback.summary }
      : null,
  };
}

export async function fleetStatus(ctx: Pick<ReleaseContext, 'target' | 'fleet'>): Promise<CellStatusRow[]> {
  const log = ctx.target.log.entries();
  const last = (cellId: string, kind: ReleaseLogEntry['kind']) =>
    log.filter((e) => e.cell === cellId && e.kind === kind).at(-1);
  return Promise.all(ctx.fleet.cells.map((cell) => cellRow(ctx.target, cell, last)));
}
