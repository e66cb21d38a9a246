/**
 * `bulkhead release`: a release, wave by wave (lib/release/run.ts). Progress goes to stderr, the report to
 * stdout; a refused or halted release exits 1.
 */
import { planRelease, type ReleaseReport, StopTheLine } from '../domain/release';
import { seconds, stamp, versions } from '../release/format';
import { type FleetRelease, releaseFleet } from '../release/run';

import { type CommandSpec, list } from './command';
import { type Io, refuse, UsageError } from './io';
import {
  type CommandDeps,
  COMMON_OPTIONS,
  type CommonArgs,
  FORCE_OPTION,
  onReleaseTarget,
  TIME_SCALE_OPTION,
} from './release-commands';

export interface ReleaseArgs extends CommonArgs {
  readonly version?: string;
  readonly waves?: string;
  readonly cells?: string[];
}

export interface ReleaseRun {
  readonly code: number;
  readonly report?: ReleaseReport;
}

function waves(raw: string | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  return list(raw).map((w) => {
    if (!/^\d+$/.test(w)) throw new UsageError(`--waves takes wave numbers like 0,1, got '${raw}'`);
    return Number(w);
  });
}

function printReport(report: ReleaseReport, io: Io): void {
  for (const w of report.waves) {
    const detail = w.outcomes.map((o) => `${o.cellId} ${o.result}${o.to ? ` (${versions(o.to)})` : ''}`);
    io.out(`wave ${w.wave}: ${w.state}${detail.length > 0 ? ` — ${detail.join('; ')}` : ''}`);
  }
  io.out(
    report.state === 'succeeded'
      ? `release ${report.release} reached ${report.reached.length} cell(s) in ${seconds(report.durationMs)}`
      : `release ${report.release} HALTED after ${seconds(report.durationMs)}: ${report.haltReason}`,
  );
}

/** The release, with its report (tests read it). */
export async function runRelease(args: ReleaseArgs, io: Io, deps: CommandDeps = {}): Promise<ReleaseRun> {
  const label = args.version ?? `r-${stamp((deps.now ?? Date.now)())}`;
  const selectedWaves = waves(args.waves);
  return onReleaseTarget(
    args,
    io,
    deps,
    async (ctx) => {
      const line = new StopTheLine();
      const interrupt = () => {
        io.err('interrupted: no further wave will start (Ctrl-C again to quit now)');
        line.trip('interrupted by the operator');
      };
      process.once('SIGINT', interrupt);
      let run: FleetRelease;
      try {
        run = await releaseFleet(ctx, {
          label,
          line,
          ...(selectedWaves !== undefined && { waves: selectedWaves }),
          ...(args.cells !== undefined && { cells: args.cells }),
          ...(args.force !== undefined && { force: args.force }),
        });
      } finally {
        process.removeListener('SIGINT', interrupt);
      }
      if (run.state === 'bad-plan') throw new UsageError(run.problems.join('; '));
      if (run.state === 'refused') return { code: refuse('release', run.problems, io) };
      if (args.json) io.out(JSON.stringify(run.report, null, 2));
      else printReport(run.report, io);
      return { code: run.report.state === 'succeeded' ? 0 : 1, report: run.report };
    },
    {
      waits: true,
      // Bad input is one line, before anything about waiting is said.
      check: (fleet) => {
        const plan = planRelease(fleet.cells, {
          label,
          ...(selectedWaves !== undefined && { waves: selectedWaves }),
          ...(args.cells !== undefined && { cells: args.cells }),
        });
        if (!plan.ok) throw new UsageError(plan.problems.join('; '));
      },
    },
  );
}

export const releaseCommand: CommandSpec<CommandDeps> = {
  path: ['release'],
  summary: 'release the current sources to the fleet, wave by wave, rolling back a cell that alarms',
  options: [
    { flags: '--version <label>', description: 'the release label', defaultText: 'r-<timestamp>' },
    { flags: '--waves <list>', description: 'only these waves, e.g. 0,1' },
    { flags: '--cells <list>', description: 'only these cells, e.g. use1-a,use1-b', parse: list },
    TIME_SCALE_OPTION,
    FORCE_OPTION,
    ...COMMON_OPTIONS,
  ],
  examples: [
    'release --time-scale 60',
    'release --version r7 --waves 0 --json',
    'release --version r8 --force "bob\'s r7 run crashed, his laptop is off"',
  ],
  run: async ({ opts, io, deps }) => (await runRelease(opts as ReleaseArgs, io, deps)).code,
};
