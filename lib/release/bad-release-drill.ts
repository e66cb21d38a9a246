/**
 * `drill bad-release`: ships a version that fails a share of its requests to one cell while synthetic
 * traffic reads every cell, and checks (lib/domain `judgeBadRelease`) that the deployer rolled it back by
 * itself, that traffic is back on the previous version, and that no other cell saw a failure.
 */
import type { Cell } from '../config/types';
import { cellApiFunctionName } from '../contracts/names';
import {
  type BadReleaseVerdict,
  judgeBadRelease,
  releaseReadiness,
  type VersionWeight,
} from '../domain/release';

import type { ReleaseContext } from './context';
import { type Done, followCell, logOutcome, logRollback } from './deployments';
import { drillTraffic } from './drill-traffic';
import { seconds } from './format';

export const DEFAULT_FAULT_RATE = 0.5;

/** Requests the drilled cell answers after its deployment ended: all must come from the previous version. */
const REQUESTS_AFTER_THE_END = 20;

export interface BadReleaseResult extends BadReleaseVerdict {
  readonly release: string;
  readonly cell: string;
  readonly result: string;
  readonly reason?: string;
  /** From the first request on the new version to all traffic back on the previous one. */
  readonly timeToRollbackMs?: number;
  readonly weightsAfter: Readonly<Record<string, readonly VersionWeight[]>>;
}

export type BadReleaseDrill =
  /** The cell is not ready for a release: nothing was done. */
  | { readonly state: 'refused'; readonly problems: readonly string[] }
  | { readonly state: 'judged'; readonly result: BadReleaseResult };

export async function badReleaseDrill(
  ctx: ReleaseContext,
  cell: Cell,
  options: { readonly faultRate: number; readonly release: string },
): Promise<BadReleaseDrill> {
  const { target } = ctx;
  const { release } = options;
  const before = await target.status(cell);
  const problems = releaseReadiness(before);
  if (problems.length > 0) return { state: 'refused', problems };
  const previous = Object.fromEntries(before.functions.map((f) => [f.name, f.weights[0].version]));
  const others = ctx.fleet.cells.filter((c) => c.id !== cell.id);
  const load = drillTraffic(
    target,
    [{ cell, concurrency: 4 }, ...others.map((c) => ({ cell: c, concurrency: 1 }))],
    ctx.now,
  );
  let done: Done;
  try {
    // Traffic on every cell before the faulty version exists, so the comparison has a before.
    await Promise.all([cell, ...others].map((c) => load.answered(c.id, 1)));
    ctx.progress(
      `[${cell.id}] drill: releasing ${release}, a version that fails ${Math.round(options.faultRate * 100)}% of requests`,
    );
    await target.deploy([cell], {
      release,
      timeScale: ctx.timeScale,
      extraEnv: { BULKHEAD_FAULT_RATE: String(options.faultRate) },
    });
    done = await followCell(target, cell, ctx.progress);
    await load.answered(cell.id, REQUESTS_AFTER_THE_END);
  } finally {
    await load.stop();
  }
  logOutcome(target, release, done);
  if (done.result === 'succeeded') {
    // The faulty version was not caught: it must not stay live.
    const why = 'bad-release drill: the faulty version was not rolled back automatically';
    logRollback(target, await target.rollback(cell, why), why, { release, drill: 'bad-release' });
    ctx.progress(`[${cell.id}] drill: the faulty version went live; rolled back by the drill`);
  }
  const after = await target.status(cell);
  const verdict = judgeBadRelease({
    cellId: cell.id,
    result: done.result,
    previous,
    apiFunction: cellApiFunctionName(cell.id),
    after: after.functions,
    samples: load.samples,
  });
  const result: BadReleaseResult = {
    ok: verdict.ok,
    release,
    cell: cell.id,
    result: done.result,
    ...(done.reason && { reason: done.reason }),
    ...(done.shiftStartedAt !== undefined &&
      done.rolledBackAt !== undefined && { timeToRollbackMs: done.rolledBackAt - done.shiftStartedAt }),
    requests: verdict.requests,
    failures: verdict.failures,
    failureShare: verdict.failureShare,
    failuresOnPrevious: verdict.failuresOnPrevious,
    otherCells: verdict.otherCells,
    weightsAfter: Object.fromEntries(after.functions.map((f) => [f.name, f.weights])),
    problems: verdict.problems,
  };
  target.log.append({
    kind: 'drill',
    drill: 'bad-release',
    release,
    cell: cell.id,
    ok: result.ok,
    ...(result.timeToRollbackMs !== undefined && { ms: result.timeToRollbackMs }),
    ...(!result.ok && { detail: result.problems.join('; ') }),
    summary:
      `${cell.id}: bad-release drill ${result.ok ? 'passed' : 'FAILED'}: ${done.result}` +
      (result.timeToRollbackMs !== undefined ? ` in ${seconds(result.timeToRollbackMs)}` : '') +
      `, ${result.failures}/${result.requests} requests failed`,
  });
  return { state: 'judged', result };
}
