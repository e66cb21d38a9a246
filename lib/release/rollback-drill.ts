/** `drill rollback`: release to one cell, then rehearse its rollback there (timed). */
import type { Cell } from '../config/types';
import { releaseReadiness } from '../domain/release';

import type { ReleaseContext } from './context';
import { type Done, followCell, logOutcome } from './deployments';
import { type Rehearsal, rehearseRollback, type RehearsalOptions } from './rehearse-rollback';

export type RollbackDrill =
  /** The cell is not ready for a release: nothing was done. */
  | { readonly state: 'refused'; readonly problems: readonly string[] }
  /** The release itself did not succeed: nothing to rehearse. */
  | { readonly state: 'release-failed'; readonly release: string; readonly done: Done }
  | (Rehearsal & { readonly state: 'rehearsed'; readonly releaseMs: number; readonly totalMs: number });

export async function rollbackDrill(
  ctx: ReleaseContext,
  cell: Cell,
  release: string,
  options: RehearsalOptions = {},
): Promise<RollbackDrill> {
  const { target } = ctx;
  const problems = releaseReadiness(await target.status(cell));
  if (problems.length > 0) return { state: 'refused', problems };
  const started = ctx.now();
  ctx.progress(`[${cell.id}] drill: releasing ${release}`);
  await target.deploy([cell], { release, timeScale: ctx.timeScale });
  const done = await followCell(target, cell, ctx.progress);
  logOutcome(target, release, done);
  const releaseMs = ctx.now() - started;
  if (done.result !== 'succeeded') {
    target.log.append({
      kind: 'drill',
      drill: 'rollback',
      release,
      cell: cell.id,
      ok: false,
      detail: `release: ${done.result} ${done.reason ?? ''}`.trim(),
      summary: `${cell.id}: rollback drill of ${release} FAILED: the release ${done.result}`,
    });
    return { state: 'release-failed', release, done };
  }
  const rehearsal = await rehearseRollback(ctx, cell, release, options);
  return { ...rehearsal, state: 'rehearsed', releaseMs, totalMs: ctx.now() - started };
}
