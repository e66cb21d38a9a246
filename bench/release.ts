/**
 * Release: local time-to-rollback, manual and automatic, when the release tooling (issue 6) is part of
 * the CLI; until then one row says it was skipped and why.
 */
import type { RunningPlatform } from '../harness/platform-runner';

import type { BenchResult } from './cell-api';

export const RELEASE_COMMANDS = ['release', 'rollback', 'drill'] as const;

/** The commands `bulkhead --help` lists. */
export async function cliCommands(platform: Pick<RunningPlatform, 'cli'>): Promise<Set<string>> {
  const help = await platform.cli(['--help'], 60_000);
  return new Set(
    help.stdout
      .split('\n')
      .map((line) => /^\s{2}(\S+)/.exec(line)?.[1])
      .filter((c): c is string => c !== undefined),
  );
}

export const skippedRelease = (reason: string): BenchResult[] => [
  { name: 'release.time-to-rollback.automatic', value: null, unit: 's', notes: `skipped: ${reason}` },
  { name: 'release.time-to-rollback.manual', value: null, unit: 'ms', notes: `skipped: ${reason}` },
];

export interface ReleaseBenchOptions {
  readonly progress: (line: string) => void;
}

export async function benchRelease(
  platform: RunningPlatform,
  options: ReleaseBenchOptions,
): Promise<BenchResult[]> {
  const commands = await cliCommands(platform);
  const missing = RELEASE_COMMANDS.filter((c) => !commands.has(c));
  if (missing.length > 0) {
    options.progress(`release: skipped (bulkhead has no ${missing.join(', ')} command)`);
    return skippedRelease('release tooling not built');
  }
  return measureRollbacks(platform, options);
}

/** Minutes of a release's traffic shifting per real minute. */
const TIME_SCALE = 60;
const RUNS = 3;

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Runs a release CLI command with --json and parses its answer; throws with its own words when it fails. */
async function json<T>(platform: RunningPlatform, args: readonly string[]): Promise<T> {
  const result = await platform.cli([...args, '--json', '--home', platform.home], 600_000);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    const why = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-2).join(' ');
    throw new Error(`bulkhead ${args.join(' ')} failed (exit ${result.code}): ${why}`);
  }
}

/**
 * Automatic: `drill bad-release` (a faulty version, caught by the local canary analysis), timed from the
 * first request on the new version to 100% back on the previous one. Manual: a good release, then
 * `bulkhead rollback`, timed until traffic is back (the platform's figure) and as the operator waits for
 * the command. Median of {@link RUNS} each, on the first cell of the bench fleet.
 */
async function measureRollbacks(
  platform: RunningPlatform,
  options: ReleaseBenchOptions,
): Promise<BenchResult[]> {
  const cell = Object.keys(platform.state.cells)[0];
  const automatic: number[] = [];
  const shares: number[] = [];
  const manual: number[] = [];
  const roundTrips: number[] = [];
  const commands: number[] = [];
  for (let run = 1; run <= RUNS; run++) {
    options.progress(`release [${run}/${RUNS}]: drill bad-release --cell ${cell} --time-scale ${TIME_SCALE}`);
    const drill = await json<{
      ok: boolean;
      result: string;
      timeToRollbackMs?: number;
      failureShare: number;
      problems: string[];
    }>(platform, ['drill', 'bad-release', '--cell', cell, '--time-scale', String(TIME_SCALE)]);
    if (drill.timeToRollbackMs === undefined) {
      throw new Error(
        `drill bad-release: ${drill.result}${drill.problems.length ? `: ${drill.problems.join('; ')}` : ''}`,
      );
    }
    automatic.push(drill.timeToRollbackMs);
    shares.push(drill.failureShare);

    options.progress(`release [${run}/${RUNS}]: release --cells ${cell}, then rollback --cell ${cell}`);
    await json(platform, [
      'release',
      '--cells',
      cell,
      '--version',
      `bench-${Date.now()}`,
      '--time-scale',
      String(TIME_SCALE),
    ]);
    const sent = performance.now();
    const rolled = await json<({ ms: number; roundTripMs: number } | { error: string })[]>(platform, [
      'rollback',
      '--cell',
      cell,
      '--reason',
      'bench: time to rollback',
    ]);
    const wall = performance.now() - sent;
    const first = rolled[0];
    if (!first || 'error' in first) throw new Error(`rollback failed: ${first ? first.error : 'no answer'}`);
    manual.push(first.ms);
    roundTrips.push(first.roundTripMs);
    commands.push(wall);
  }
  const range = (values: readonly number[], digits = 0) =>
    `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)} ms`;
  return [
    {
      name: 'release.time-to-rollback.automatic',
      value: Number((median(automatic) / 1000).toFixed(2)),
      unit: 's',
      notes:
        `drill bad-release on ${cell}, --time-scale ${TIME_SCALE}: first request on the faulty version to 100% back; ` +
        `median of ${RUNS} (${range(automatic)}); failure share ${shares.map((x) => `${(x * 100).toFixed(1)}%`).join(', ')}`,
    },
    {
      name: 'release.time-to-rollback.manual',
      value: Number(median(manual).toFixed(3)),
      unit: 'ms',
      notes: `bulkhead rollback --cell ${cell} after a good release: the platform's weight flip until traffic is back; median of ${RUNS} (${range(manual, 3)})`,
    },
    {
      name: 'release.time-to-rollback.manual.round-trip',
      value: Number(median(roundTrips).toFixed(1)),
      unit: 'ms',
      notes: `the rollback request to the platform's control API and its answer, as the CLI timed it; median of ${RUNS} (${range(roundTrips, 1)})`,
    },
    {
      name: 'release.time-to-rollback.manual.command',
      value: Number((median(commands) / 1000).toFixed(2)),
      unit: 's',
      notes: 'the whole `bulkhead rollback` command as the operator waits for it, process start included',
    },
  ];
}
