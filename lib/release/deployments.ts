/** Following one cell's deployment, and what releases and rollbacks write into the release log. */
import type { Cell } from '../config/types';
import type { CellOutcome } from '../domain/release';
import type { DeployEvent, ReleaseTarget, RollbackResult } from '../targets/release/release-target';

import { millis, moves, versions } from './format';

export type Done = Extract<DeployEvent, { type: 'done' }>;

/** Follows a cell's deployment to its end, progress to `progress`; the `done` event. */
export async function followCell(
  target: ReleaseTarget,
  cell: Cell,
  progress: (line: string) => void,
): Promise<Done> {
  for await (const event of target.follow(cell)) {
    if (event.type === 'progress') progress(`[${cell.id}] ${event.message}`);
    else return event;
  }
  throw new Error(`the deployment of cell ${cell.id} ended without an outcome`);
}

export const outcomeOf = (d: Done): CellOutcome => ({
  cellId: d.cellId,
  result: d.result,
  ...(d.reason && { reason: d.reason }),
  ...(d.from && { from: d.from }),
  ...(d.to && { to: d.to }),
  durationMs: d.durationMs,
});

/** A cell's deployment in the release log: released, unchanged, failed, or rolled back by the deployer. */
export function logOutcome(target: ReleaseTarget, release: string, done: Done): void {
  const base = {
    release,
    cell: done.cellId,
    result: done.result,
    from: done.from,
    to: done.to,
    ms: done.durationMs,
  };
  if (done.result === 'rolled-back') {
    target.log.append({
      ...base,
      kind: 'rollback',
      automatic: true,
      who: 'bulkhead (automatic)',
      why: done.reason,
      summary: `${done.cellId}: release ${release} rolled back automatically (${done.reason ?? 'no reason given'})`,
    });
  } else {
    target.log.append({
      ...base,
      kind: 'release',
      ...(done.reason && { detail: done.reason }),
      summary: `${done.cellId}: release ${release} ${done.result}${done.to ? ` (${versions(done.to)})` : ''}${done.reason ? `: ${done.reason}` : ''}`,
    });
  }
}

export function logRollback(
  target: ReleaseTarget,
  r: RollbackResult,
  why: string,
  /** The release rolled back; whether the deployer decided it; the drill it is part of (a rehearsal). */
  context: {
    readonly release?: string;
    readonly automatic?: boolean;
    readonly drill?: 'rollback' | 'bad-release';
  } = {},
): void {
  const { release, automatic = false, drill } = context;
  target.log.append({
    kind: 'rollback',
    cell: r.cellId,
    ...(release && { release }),
    ...(drill && { drill }),
    why,
    from: r.from,
    to: r.to,
    ms: Math.round(r.ms * 100) / 100,
    ...(automatic && { automatic: true, who: 'bulkhead (automatic)' }),
    summary: `${r.cellId}: rolled back (${moves(r.from, r.to)}) in ${millis(r.ms)}: ${why}`,
  });
}
