/** Opening the tenants target a `tenants` command names: --target, or the running local platform, or AWS. */
import * as fs from 'node:fs';

import type { Fleet } from '../config/types';
import { platformHome } from '../local/platform/platform-state';
import type { TenantsTarget } from '../targets/tenants/tenants-target';

import { UsageError } from './io';
import { chooseTarget, DEFAULT_FLEET_FILE, loadFleet } from './targets';

export interface TenantsTargetArgs {
  readonly target?: string;
  readonly home?: string;
  readonly config?: string;
}

/** The fleet file for `seed`: --config, else cells.config.ts, which must exist. */
export function seedFleetFile(args: TenantsTargetArgs): Fleet {
  const file = args.config ?? DEFAULT_FLEET_FILE;
  if (!fs.existsSync(file)) throw new UsageError(`no fleet file ${file} here: pass --config FILE`);
  return loadFleet(file);
}

export function openTenantsTarget(args: TenantsTargetArgs, fleet?: Fleet): TenantsTarget {
  const home = platformHome(args.home);
  const choice = chooseTarget(args.target, home);
  /* eslint-disable @typescript-eslint/no-require-imports -- only the target used is loaded (lib/cli/targets.ts) */
  if (choice.kind === 'local') {
    // The target cannot be reached: a failure (exit 1), not bad usage.
    if (!choice.state)
      throw new Error(
        `no local platform is running in ${home} (start one with \`npm start\`), or use --target aws`,
      );
    const { LocalTenantsTarget } =
      require('../targets/tenants/local-tenants-target') as typeof import('../targets/tenants/local-tenants-target');
    const localFleet = fleet ?? (args.config ? loadFleet(args.config) : undefined);
    return new LocalTenantsTarget(choice.state, localFleet ? { fleet: localFleet } : {});
  }
  const fleetFile = args.config ?? DEFAULT_FLEET_FILE;
  if (!fleet && args.target === undefined && !fs.existsSync(fleetFile)) {
    throw new UsageError(
      `no local platform is running here, and there is no ${fleetFile} for AWS: start one with \`npm start\`, or pass --config FILE`,
    );
  }
  const { AwsTenantsTarget } =
    require('../targets/tenants/aws-tenants-target') as typeof import('../targets/tenants/aws-tenants-target');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return new AwsTenantsTarget(fleet ?? loadFleet(fleetFile));
}
