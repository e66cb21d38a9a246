/**
 * What the release commands (`release`, `rollback`, `drill`, `status`) share: their common options, opening
 * the release target they name, and running one command on it (parse → open → run → close).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import type { Fleet } from '../config/types';
import { realClock } from '../domain/clock';
import { platformHome } from '../local/platform/platform-state';
import type { ReleaseContext } from '../release/context';
import type { ReleaseTarget } from '../targets/release/release-target';

import { type Io, UsageError } from './io';
import { chooseTarget, DEFAULT_FLEET_FILE, loadFleet } from './targets';

const ROOT = path.join(__dirname, '..', '..');

export const COMMON_OPTIONS = {
  target: { type: 'string' },
  home: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  'time-scale': { type: 'string' },
} as const;

export interface CommonArgs {
  readonly target?: string;
  readonly home?: string;
  readonly config?: string;
  readonly 'time-scale'?: string;
}

export interface Opened {
  readonly target: ReleaseTarget;
  readonly fleet: Fleet;
  /** Deployment minutes per real minute (local: the flag, else the platform's own). */
  readonly timeScale: number;
}

/** What the commands run on; tests replace the target and the clock. */
export interface CommandDeps {
  readonly open?: (args: CommonArgs) => Opened;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

function timeScaleOf(raw: string | undefined): number | undefined {
  const timeScale = raw === undefined ? undefined : Number(raw);
  if (timeScale !== undefined && !(Number.isFinite(timeScale) && timeScale >= 1 && timeScale <= 100_000)) {
    throw new UsageError(`--time-scale must be a number from 1 to 100000, got '${raw}'`);
  }
  return timeScale;
}

/** Opens the target named by --target, or the running local platform, or AWS. */
export function openReleaseTarget(args: CommonArgs): Opened {
  const home = platformHome(args.home);
  const choice = chooseTarget(args.target, home);
  const timeScale = timeScaleOf(args['time-scale']);
  /* eslint-disable @typescript-eslint/no-require-imports -- only the target used is loaded (lib/cli/targets.ts) */
  if (choice.kind === 'local') {
    const { state } = choice;
    if (!state) {
      throw new UsageError(
        `no local platform is running in ${home} (start one with \`npm start\`), or use --target aws`,
      );
    }
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

/** The command's options and the common ones, parsed (bad options are usage errors). */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: O,
) {
  return parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, ...options } }).values;
}

/** Opens the target, runs `run` on it with a release context (progress on stderr), and closes it. */
export async function onReleaseTarget<R>(
  args: CommonArgs,
  io: Io,
  deps: CommandDeps,
  run: (ctx: ReleaseContext) => Promise<R>,
): Promise<R> {
  const opened = (deps.open ?? openReleaseTarget)(args);
  try {
    return await run({
      ...opened,
      sleep: deps.sleep ?? realClock.sleep,
      now: deps.now ?? Date.now,
      progress: (line) => io.err(line),
    });
  } finally {
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
