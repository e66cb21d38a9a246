/**
 * What the release commands (`release`, `rollback`, `drill`, `status`) share: their common options, opening
 * the release target they name, and running one command on it (parse → open → run → close).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Fleet } from '../config/types';
import { realClock } from '../domain/clock';
import { platformHome } from '../local/platform/platform-state';
import type { LockSettings } from '../release/cell-locks';
import type { ReleaseContext } from '../release/context';
import { describeTimeScale } from '../release/format';
import type { ReleaseTarget } from '../targets/release/release-target';

import { nonEmptyText, numberIn, type OptionSpec } from './command';
import { type Io, UsageError } from './io';
import { chooseTarget, DEFAULT_FLEET_FILE, loadFleet } from './targets';

const ROOT = path.join(__dirname, '..', '..');

/** The options every release command takes (release, rollback, drill, status). */
export const COMMON_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--target <kind>',
    description: 'where to act',
    choices: ['aws', 'local'],
    defaultText: 'local when a local platform runs, else aws',
  },
  {
    flags: '--home <dir>',
    description: "the local platform's home",
    defaultText: 'BULKHEAD_HOME or .bulkhead/local',
  },
  {
    flags: '--config <file>',
    description: 'the fleet file',
    defaultText: "the local platform's, else cells.config.ts",
  },
  { flags: '--json', description: 'print the result as JSON' },
];

/** `--time-scale`, for the commands that wait on deployments (release, drill). */
export const TIME_SCALE_OPTION: OptionSpec = {
  flags: '--time-scale <n>',
  description: 'deployment minutes per real minute (local only; 60: a 10-minute canary takes 10 s)',
  parse: numberIn(1, 100_000),
  defaultText: "the local platform's --time-scale",
};

/** `--force`, for the commands that take the cells' release locks (release, rollback, drills). */
export const FORCE_OPTION: OptionSpec = {
  flags: '--force <reason>',
  description:
    "take the cells' release locks even from another operator's live run (the reason goes into the release log)",
  parse: nonEmptyText,
};

export interface CommonArgs {
  readonly target?: 'aws' | 'local';
  readonly home?: string;
  readonly config?: string;
  readonly timeScale?: number;
  readonly json?: boolean;
  readonly force?: string;
}

export interface Opened {
  readonly target: ReleaseTarget;
  readonly fleet: Fleet;
  /** Deployment minutes per real minute (local: the flag, else the platform's own). */
  readonly timeScale: number;
}

/** What the commands run on; tests replace the target, the clock and how release locks are held. */
export interface CommandDeps {
  readonly open?: (args: CommonArgs) => Opened;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  readonly locking?: LockSettings;
}

/** Opens the target named by --target, or the running local platform, or AWS. */
export function openReleaseTarget(args: CommonArgs): Opened {
  const home = platformHome(args.home);
  const choice = chooseTarget(args.target, home);
  const { timeScale } = args;
  /* eslint-disable @typescript-eslint/no-require-imports -- only the target used is loaded (lib/cli/targets.ts) */
  if (choice.kind === 'local') {
    const { state } = choice;
    // The target cannot be reached: a failure (exit 1), not bad usage.
    if (!state)
      throw new Error(
        `no local platform is running in ${home} (start one with \`npm start\`), or use --target aws`,
      );
    const { LocalReleaseTarget } =
      require('../targets/release/local-release-target') as typeof import('../targets/release/local-release-target');
    return {
      target: new LocalReleaseTarget(state, home),
      fleet: loadFleet(args.config ?? state.configFile ?? path.join(ROOT, DEFAULT_FLEET_FILE)),
      timeScale: timeScale ?? state.timeScale ?? 1,
    };
  }
  if (timeScale !== undefined) throw new UsageError('--time-scale applies to --target local only');
  const fleetFile = args.config ?? DEFAULT_FLEET_FILE;
  if (!fs.existsSync(fleetFile)) {
    throw new UsageError(
      `no local platform is running, and there is no ${fleetFile} for AWS: start one with \`npm start\`, or pass --config FILE`,
    );
  }
  const { AwsReleaseTarget } =
    require('../targets/release/aws-release-target') as typeof import('../targets/release/aws-release-target');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const fleet = loadFleet(fleetFile);
  return {
    target: new AwsReleaseTarget({
      fleet,
      root: ROOT,
      ...(args.config && { configFile: path.resolve(args.config) }),
    }),
    fleet,
    timeScale: 1,
  };
}

/**
 * Opens the target, reads the shared release log into its cache, runs `run` on it with a release context
 * (progress on stderr), waits for the log entries it wrote to reach the shared log, and closes it. A command
 * that waits on deployments says first which time scale is in effect (`waits`), once its input is checked
 * against the fleet (`check`, which throws a usage error).
 */
export async function onReleaseTarget<R>(
  args: CommonArgs,
  io: Io,
  deps: CommandDeps,
  run: (ctx: ReleaseContext) => Promise<R>,
  options: { readonly waits?: boolean; readonly check?: (fleet: Fleet) => void } = {},
): Promise<R> {
  const opened = (deps.open ?? openReleaseTarget)(args);
  const { log } = opened.target;
  try {
    options.check?.(opened.fleet);
    // The shared release log first: what other operators did is what this command decides on.
    await log
      .sync()
      .catch((error: Error) =>
        io.err(
          `release log: the shared log could not be read (${error.message}); using the local cache ${log.file}`,
        ),
      );
    if (options.waits)
      io.err(`${opened.target.description}: ${describeTimeScale(opened.target.kind, opened.timeScale)}`);
    return await run({
      ...opened,
      sleep: deps.sleep ?? realClock.sleep,
      now: deps.now ?? Date.now,
      progress: (line) => io.err(line),
      ...(deps.locking && { locking: deps.locking }),
    });
  } finally {
    for (const reason of await log.flush())
      io.err(
        `release log: an entry is only in the local cache ${log.file} (${reason}); the next command sends it`,
      );
    opened.target.close();
  }
}

/** A cell of the fleet named by a flag; unknown or missing is bad input. */
export function cellOf(fleet: Fleet, id: string | undefined, flag = '--cell'): Fleet['cells'][number] {
  if (!id) throw new UsageError(`${flag} ID is required`);
  const cell = fleet.cells.find((c) => c.id === id);
  if (!cell) throw new UsageError(`unknown cell '${id}'; cells: ${fleet.cells.map((c) => c.id).join(', ')}`);
  return cell;
}
