/**
 * `bulkhead drill bad-release --cell ID [--fault-rate R] [--time-scale N] [--json]` and
 * `bulkhead drill rollback --cell ID [--version LABEL] [--tenant ID] [--time-scale N] [--json]`: the
 * drills of lib/release (bad-release-drill.ts, rollback-drill.ts), timed and recorded in the release log.
 */
import { type BadReleaseResult, badReleaseDrill, DEFAULT_FAULT_RATE } from '../release/bad-release-drill';
import type { ReleaseContext } from '../release/context';
import { millis, seconds, stamp } from '../release/format';
import { type RollbackDrill, rollbackDrill } from '../release/rollback-drill';

import { consoleIo, type Io, refuse, UsageError } from './io';
import { cellOf, type CommandDeps, onReleaseTarget, parseCommand } from './release-commands';

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
    io.out(`  ${fn}: ${w.map((x) => `v${x.version} ${Math.round(x.weight * 100)}%`).join(', ')}`);
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
  readonly tenant?: string;
  readonly 'fault-rate'?: string;
  readonly json?: boolean;
}

async function badRelease(ctx: ReleaseContext, values: DrillArgs, io: Io): Promise<number> {
  const cell = cellOf(ctx.fleet, values.cell);
  if (ctx.target.kind === 'aws') {
    throw new UsageError(
      'drill bad-release runs against --target local: on AWS the per-version alarms watch the version ' +
        'CloudFormation deploys, so a fault injected beside the stack would go unwatched',
    );
  }
  const rate = Number(values['fault-rate'] ?? DEFAULT_FAULT_RATE);
  if (!(rate > 0 && rate <= 1))
    throw new UsageError(`--fault-rate must be within (0, 1], got '${values['fault-rate']}'`);
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
  const run = await rollbackDrill(ctx, cell, release, { ...(values.tenant && { tenant: values.tenant }) });
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

export async function drillCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind !== 'bad-release' && kind !== 'rollback') {
    throw new UsageError(`drill takes bad-release or rollback, got '${kind ?? ''}'`);
  }
  const values = parseCommand(rest, {
    cell: { type: 'string' },
    version: { type: 'string' },
    tenant: { type: 'string' },
    'fault-rate': { type: 'string' },
  });
  return onReleaseTarget(values, io, deps, (ctx) =>
    kind === 'bad-release' ? badRelease(ctx, values, io) : rollback(ctx, values, io),
  );
}
