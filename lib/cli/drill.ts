/**
 * `bulkhead drill bad-release` and `bulkhead drill rollback`: the drills of lib/release
 * (bad-release-drill.ts, rollback-drill.ts), timed and recorded in the release log.
 */
import { functionRole } from '../contracts/names';
import { type BadReleaseResult, badReleaseDrill, DEFAULT_FAULT_RATE } from '../release/bad-release-drill';
import { withCellLocks } from '../release/cell-locks';
import type { ReleaseContext } from '../release/context';
import { millis, seconds, stamp } from '../release/format';
import { type RollbackDrill, rollbackDrill } from '../release/rollback-drill';

import { type CommandSpec, numberIn, type OptionSpec } from './command';
import { type Io, refuse, UsageError } from './io';
import {
  cellOf,
  type CommandDeps,
  COMMON_OPTIONS,
  type CommonArgs,
  FORCE_OPTION,
  onReleaseTarget,
  TIME_SCALE_OPTION,
} from './release-commands';

function printBadRelease(r: BadReleaseResult, io: Io): void {
  io.out(
    `bad-release drill on ${r.cell}: ${r.ok ? 'PASSED' : 'FAILED'} (${r.result}${r.reason ? `: ${r.reason}` : ''})`,
  );
  if (r.timeToRollbackMs !== undefined) {
    io.out(
      `  time to rollback: ${seconds(r.timeToRollbackMs)} from the first traffic on the new version to 100% back on the previous one`,
    );
  }
  io.out(
    `  ${r.cell}: ${r.failures} of ${r.requests} requests failed (${(r.failureShare * 100).toFixed(1)}%), ` +
      `${r.failuresOnPrevious} of them on the previous version`,
  );
  io.out(`  other cells: ${r.otherCells.failures} of ${r.otherCells.requests} requests failed`);
  for (const [fn, w] of Object.entries(r.weightsAfter)) {
    io.out(
      `  ${functionRole(fn)}: ${w.map((x) => `v${x.version} ${Math.round(x.weight * 100)}%`).join(', ')}`,
    );
  }
  for (const p of r.problems) io.out(`  problem: ${p}`);
}

function printRollbackDrill(r: Extract<RollbackDrill, { state: 'rehearsed' }>, cellId: string, io: Io): void {
  io.out(
    `rollback drill of ${r.record.release} on ${cellId}: ${r.record.ok ? 'PASSED' : 'FAILED'} in ${seconds(r.totalMs)}`,
  );
  io.out(`  release: ${seconds(r.releaseMs)}`);
  for (const s of r.steps) io.out(`  ${s.step}: ${s.ok ? 'ok' : `FAILED: ${s.detail}`} (${seconds(s.ms)})`);
  if (r.rollbackMs !== undefined) io.out(`  time to rollback: ${millis(r.rollbackMs)}`);
}

interface DrillArgs {
  readonly cell?: string;
  readonly version?: string;
  readonly faultRate?: number;
  readonly json?: boolean;
  readonly force?: string;
}

type Drill = (ctx: ReleaseContext, values: DrillArgs, io: Io) => Promise<number>;

/** A drill holds its cell's release lock from start to end, as a release does. */
function locked(command: string, drill: Drill): Drill {
  return async (ctx, values, io) => {
    const cell = cellOf(ctx.fleet, values.cell);
    const run = await withCellLocks(
      ctx,
      [cell.id],
      { reason: command, ...(values.force !== undefined && { force: values.force }) },
      (held) => drill(held, values, io),
    );
    return run.state === 'locked' ? refuse(command, run.problems, io) : run.value;
  };
}

async function badRelease(ctx: ReleaseContext, values: DrillArgs, io: Io): Promise<number> {
  const cell = cellOf(ctx.fleet, values.cell);
  if (ctx.target.kind === 'aws') {
    throw new UsageError(
      'drill bad-release runs against --target local: on AWS the per-version alarms watch the version ' +
        'CloudFormation deploys, so a fault injected beside the stack would go unwatched',
    );
  }
  const rate = values.faultRate ?? DEFAULT_FAULT_RATE;
  const release = values.version ?? `drill-bad-${stamp(ctx.now())}`;
  const run = await badReleaseDrill(ctx, cell, { faultRate: rate, release });
  if (run.state === 'refused') return refuse('drill bad-release', run.problems, io);
  if (values.json) io.out(JSON.stringify(run.result, null, 2));
  else printBadRelease(run.result, io);
  return run.result.ok ? 0 : 1;
}

async function rollback(ctx: ReleaseContext, values: DrillArgs, io: Io): Promise<number> {
  const cell = cellOf(ctx.fleet, values.cell);
  const release = values.version ?? `drill-rb-${stamp(ctx.now())}`;
  const run = await rollbackDrill(ctx, cell, release);
  switch (run.state) {
    case 'refused':
      return refuse('drill rollback', run.problems, io);
    case 'release-failed': {
      const { done } = run;
      io.out(
        `rollback drill on ${cell.id}: FAILED: the release ${done.result}${done.reason ? ` (${done.reason})` : ''}`,
      );
      return 1;
    }
    case 'rehearsed': {
      const { record, steps, rollbackMs, releaseMs, totalMs } = run;
      if (values.json) io.out(JSON.stringify({ record, steps, rollbackMs, releaseMs, totalMs }, null, 2));
      else printRollbackDrill(run, cell.id, io);
      return run.record.ok ? 0 : 1;
    }
  }
}

const CELL_OPTION: OptionSpec = { flags: '--cell <id>', description: 'the cell to drill on', required: true };
const DRILL_OPTIONS: readonly OptionSpec[] = [TIME_SCALE_OPTION, FORCE_OPTION, ...COMMON_OPTIONS];

/** A drill's command: on the release target, under the cell's lock, after checking the cell is in the fleet. */
const runDrill =
  (name: string, drill: Drill): CommandSpec<CommandDeps>['run'] =>
  ({ opts, io, deps }) =>
    onReleaseTarget(opts as CommonArgs, io, deps, (ctx) => locked(name, drill)(ctx, opts as DrillArgs, io), {
      waits: true,
      check: (fleet) => cellOf(fleet, (opts as DrillArgs).cell),
    });

export const drillRollbackCommand: CommandSpec<CommandDeps> = {
  path: ['drill', 'rollback'],
  summary: 'release to one cell, roll back, check the old version reads what the new one wrote, roll forward',
  options: [
    CELL_OPTION,
    { flags: '--version <label>', description: 'the release label', defaultText: 'drill-rb-<timestamp>' },
    ...DRILL_OPTIONS,
  ],
  examples: ['drill rollback --cell use1-a --time-scale 60'],
  run: runDrill('drill rollback', rollback),
};

export const drillBadReleaseCommand: CommandSpec<CommandDeps> = {
  path: ['drill', 'bad-release'],
  summary:
    'release a version that fails some requests to one cell and check it is rolled back by itself (local)',
  options: [
    CELL_OPTION,
    {
      flags: '--fault-rate <share>',
      description: 'the share of requests the faulty version fails',
      parse: numberIn(0, 1, { minExclusive: true }),
      defaultText: String(DEFAULT_FAULT_RATE),
    },
    { flags: '--version <label>', description: 'the release label', defaultText: 'drill-bad-<timestamp>' },
    ...DRILL_OPTIONS,
  ],
  examples: ['drill bad-release --cell use1-a --time-scale 30'],
  run: runDrill('drill bad-release', badRelease),
};
