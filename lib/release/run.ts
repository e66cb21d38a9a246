/**
 * `release`: a release over the fleet, wave by wave, on a `ReleaseTarget`: the plan, the release lock and
 * readiness of every cell first, then `runRelease` (lib/domain) with the target as its ports, wave 0 drilling its rollback,
 * and every outcome in the release log.
 */
import type { Cell } from '../config/types';
import {
  planRelease,
  releaseReadiness,
  type ReleasePlan,
  type ReleaseReport,
  runRelease,
  type StopTheLine,
} from '../domain/release';

import { withCellLocks } from './cell-locks';
import type { ReleaseContext } from './context';
import { followCell, logOutcome, logRollback, outcomeOf } from './deployments';
import { describeProgress } from './format';
import { rehearseRollback } from './rehearse-rollback';

export interface ReleaseRequest {
  readonly label: string;
  /** Only these waves. @default every wave */
  readonly waves?: readonly number[];
  /** Only these cells. @default every cell of the selected waves */
  readonly cells?: readonly string[];
  /** Tripped from outside (the operator's Ctrl-C, a lost lock): no further wave starts. */
  readonly line: StopTheLine;
  /** `--force <reason>`: take the cells' release locks even from a live holder. */
  readonly force?: string;
}

export type FleetRelease =
  /** The selection is not a plan (bad label, unknown waves or cells): bad input. */
  | { readonly state: 'bad-plan'; readonly problems: readonly string[] }
  /** Some cell is not ready, or locked by someone else: nothing was deployed. */
  | { readonly state: 'refused'; readonly problems: readonly string[] }
  | { readonly state: 'ran'; readonly report: ReleaseReport };

export async function releaseFleet(ctx: ReleaseContext, request: ReleaseRequest): Promise<FleetRelease> {
  const { label, line } = request;
  const planned = planRelease(ctx.fleet.cells, {
    label,
    ...(request.waves !== undefined && { waves: request.waves }),
    ...(request.cells !== undefined && { cells: request.cells }),
  });
  if (!planned.ok) return { state: 'bad-plan', problems: planned.problems };
  const plan = planned.plan;
  const locked = await withCellLocks(
    ctx,
    plan.waves.flatMap((w) => w.cells.map((c) => c.id)),
    {
      reason: `release ${label}`,
      ...(request.force !== undefined && { force: request.force }),
      onLost: (message) => line.trip(message),
    },
    (held) => releasePlan(held, plan, request),
  );
  return locked.state === 'locked' ? { state: 'refused', problems: locked.problems } : locked.value;
}

/** The plan, on cells whose locks this run holds: readiness first, then the waves. */
async function releasePlan(
  ctx: ReleaseContext,
  plan: ReleasePlan<Cell>,
  request: ReleaseRequest,
): Promise<FleetRelease> {
  const { target, timeScale } = ctx;
  const { label } = request;
  const states = await Promise.all(plan.waves.flatMap((w) => w.cells).map((c) => target.status(c)));
  const problems = states.flatMap(releaseReadiness);
  if (problems.length > 0) return { state: 'refused', problems };

  ctx.progress(
    `release ${label} on ${target.description}: ${plan.waves.map((w) => `wave ${w.wave} (${w.cells.map((c) => c.id).join(', ')})`).join(' → ')}` +
      (target.kind === 'local' ? `, time scale ${timeScale}` : ''),
  );
  const report = await runRelease(
    plan,
    {
      deployWave: async (wave) => {
        await target.deploy(wave.cells, { release: label, timeScale });
        const done = await Promise.all(wave.cells.map((c) => followCell(target, c, ctx.progress)));
        for (const d of done) logOutcome(target, label, d);
        return done.map(outcomeOf);
      },
      alarms: (wave) =>
        Promise.all(wave.map(async (c) => ({ cellId: c.id, alarms: await target.alarms(c) }))),
      rollback: async (cell, reason) => {
        logRollback(target, await target.rollback(cell, reason), reason, {
          release: label,
          automatic: true,
        });
      },
      drills: async () => target.log.drills(),
      drill: async (cell) => (await rehearseRollback(ctx, cell, label)).record,
      sleep: ctx.sleep,
      now: ctx.now,
      onProgress: (e) => ctx.progress(describeProgress(e)),
    },
    { timeScale, alarmPollMs: target.kind === 'local' ? 200 : 30_000, line: request.line },
  );
  if (report.state === 'halted') {
    target.log.append({
      kind: 'halt',
      release: label,
      detail: report.haltReason,
      summary: `release ${label} halted: ${report.haltReason}`,
    });
  }
  return { state: 'ran', report };
}
