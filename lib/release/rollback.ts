/**
 * `rollback`: one cell, or every cell a release reached (latest wave first, a wave's cells together),
 * back on their previous versions under their release locks, each with the operator's reason in the
 * release log.
 */
import type { Cell } from '../config/types';
import { releasesOn, rollbackOrder, rollbackReadiness } from '../domain/release';
import type { RollbackResult } from '../targets/release/release-target';

import { withCellLocks } from './cell-locks';
import type { ReleaseContext } from './context';
import { logRollback } from './deployments';

export type RollbackSelection =
  | { readonly cell: Cell }
  /** Every cell on the release, by default the last one in the log. */
  | { readonly release?: string };

export type CellRollback =
  (RollbackResult & { readonly roundTripMs: number }) | { readonly cellId: string; readonly error: string };

export type RollbackRun =
  /** `--all` without a release, and none in the log. */
  | { readonly state: 'no-release' }
  | { readonly state: 'nothing'; readonly release: string }
  /** Some cell is not ready, or locked by someone else: nothing was rolled back. */
  | { readonly state: 'refused'; readonly problems: readonly string[] }
  | { readonly state: 'done'; readonly results: readonly CellRollback[] };

/** The cells to roll back, and the release they are rolled back from (when known). */
async function selected(
  ctx: ReleaseContext,
  selection: RollbackSelection,
): Promise<{ cells: Cell[]; release?: string } | undefined> {
  if ('cell' in selection) return { cells: [selection.cell] };
  const release =
    selection.release ??
    ctx.target.log
      .entries()
      .filter((e) => e.kind === 'release' && e.release)
      .at(-1)?.release;
  if (!release) return undefined;
  const all = await Promise.all(ctx.fleet.cells.map(async (c) => ({ c, s: await ctx.target.status(c) })));
  return { cells: all.filter(({ s }) => releasesOn(s).has(release)).map(({ c }) => c), release };
}

export async function rollbackCells(
  ctx: ReleaseContext,
  selection: RollbackSelection,
  reason: string,
  /** `--force <reason>`: take the cells' release locks even from a live holder. */
  force?: string,
): Promise<RollbackRun> {
  const picked = await selected(ctx, selection);
  if (!picked) return { state: 'no-release' };
  const { cells, release } = picked;
  if (cells.length === 0) return { state: 'nothing', release: release! };
  const locked = await withCellLocks(
    ctx,
    cells.map((c) => c.id),
    { reason: `rollback: ${reason}`, ...(force !== undefined && { force }) },
    (held) => rollbackLocked(held, cells, reason, release),
  );
  return locked.state === 'locked' ? { state: 'refused', problems: locked.problems } : locked.value;
}

async function rollbackLocked(
  ctx: ReleaseContext,
  cells: readonly Cell[],
  reason: string,
  release: string | undefined,
): Promise<RollbackRun> {
  const { target } = ctx;
  const states = await Promise.all(cells.map((c) => target.status(c, { previous: true })));
  const problems = states.flatMap(rollbackReadiness);
  if (problems.length > 0) return { state: 'refused', problems };

  const results: CellRollback[] = [];
  for (const group of rollbackOrder(cells)) {
    ctx.progress(`rolling back ${group.map((c) => c.id).join(', ')} (wave ${group[0].wave})`);
    const settled = await Promise.allSettled(
      group.map(async (c) => {
        const sent = performance.now();
        const r = await target.rollback(c, reason);
        return { ...r, roundTripMs: performance.now() - sent };
      }),
    );
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') {
        logRollback(target, s.value, reason, { release });
        for (const note of s.value.notes ?? []) ctx.progress(`[${s.value.cellId}] ${note}`);
        results.push(s.value);
      } else {
        results.push({ cellId: group[i].id, error: (s.reason as Error).message });
      }
    });
  }
  return { state: 'done', results };
}
