/**
 * `bulkhead release [--version LABEL] [--waves 0,1] [--cells a,b] [--time-scale N] [--json]`: a release,
 * wave by wave (lib/release/run.ts).
 *
 * Common options of the release commands (release, rollback, drill, status): --target aws|local (default:
 * local when a local platform runs, else aws), --home DIR (the local platform's home), --config FILE (the
 * fleet file). Progress goes to stderr, results to stdout; bad input is one line on stderr and exit code 2.
 */
import { type ReleaseReport, StopTheLine } from '../domain/release';
import { seconds, stamp, versions } from '../release/format';
import { type FleetRelease, releaseFleet } from '../release/run';

import { consoleIo, type Io, refuse, UsageError } from './io';
import { type CommandDeps, onReleaseTarget, parseCommand } from './release-commands';

export interface ReleaseRun {
  readonly code: number;
  readonly report?: ReleaseReport;
}

const list = (raw: string | undefined): string[] | undefined =>
  raw
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function waves(raw: string | undefined): number[] | undefined {
  return list(raw)?.map((w) => {
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

/** The release command, with its report (tests read it). */
export async function runReleaseCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<ReleaseRun> {
  const values = parseCommand(argv, {
    version: { type: 'string' },
    waves: { type: 'string' },
    cells: { type: 'string' },
  });
  const label = values.version ?? `r-${stamp((deps.now ?? Date.now)())}`;
  return onReleaseTarget(values, io, deps, async (ctx) => {
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
        ...(values.waves !== undefined && { waves: waves(values.waves) }),
        ...(values.cells !== undefined && { cells: list(values.cells) }),
      });
    } finally {
      process.removeListener('SIGINT', interrupt);
    }
    if (run.state === 'bad-plan') throw new UsageError(run.problems.join('; '));
    if (run.state === 'refused') return { code: refuse('release', run.problems, io) };
    if (values.json) io.out(JSON.stringify(run.report, null, 2));
    else printReport(run.report, io);
    return { code: run.report.state === 'succeeded' ? 0 : 1, report: run.report };
  });
}

export async function releaseCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<number> {
  return (await runReleaseCommand(argv, io, deps)).code;
}
