/**
 * `bulkhead tenants list|place|seed|move`: the tenant lifecycle (lib/tenants), over an AWS or a local target
 * (`--target`, by default the running local platform, else AWS with the fleet file's router account).
 */
import type { Fleet } from '../config/types';
import { isMoving, type MoveProgress } from '../domain/migration';
import type { TenantsTarget } from '../targets/tenants/tenants-target';
import { type MoveTenantOptions, moveTenantTo } from '../tenants/move';
import { placeNewTenant } from '../tenants/place';
import { seedFleet } from '../tenants/seed';

import { type CommandSpec, integerIn, type OptionSpec } from './command';
import { consoleIo, type Io, printTable, UsageError } from './io';
import { openTenantsTarget, seedFleetFile, type TenantsTargetArgs } from './tenants-target';

function moveSummary(move: MoveProgress | undefined): string {
  if (!isMoving(move)) return '';
  const copy = move.step === 'copy' ? ` ${move.copied}/${move.total ?? '?'}` : '';
  return `→ ${move.to} (${move.step}${copy})`;
}

export async function listTenants(target: TenantsTarget, json: boolean, io: Io = consoleIo): Promise<number> {
  const routes = await target.listRoutes();
  if (json) {
    const rows = routes.map((r) => ({
      tenantId: r.tenantId,
      cellId: r.cellId,
      status: r.status,
      ...(isMoving(r.move) && {
        move: { to: r.move.to, step: r.move.step, copied: r.move.copied, total: r.move.total },
      }),
    }));
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  // The MOVE column only while some tenant is being moved.
  const moving = routes.some((r) => isMoving(r.move));
  printTable(
    [
      ['TENANT', 'CELL', 'STATUS', ...(moving ? ['MOVE'] : [])],
      ...routes.map((r) => [r.tenantId, r.cellId, r.status, ...(moving ? [moveSummary(r.move)] : [])]),
    ],
    io,
  );
  if (routes.length === 0) io.err(`no tenants on ${target.description}`);
  return 0;
}

export interface PlaceOptions {
  readonly region?: string;
  readonly json?: boolean;
}

export async function placeTenant(
  target: TenantsTarget,
  tenantId: string,
  options: PlaceOptions = {},
  io: Io = consoleIo,
): Promise<number> {
  const placed = await placeNewTenant(target, tenantId, options.region);
  if (!placed.ok) {
    if (placed.badInput) throw new UsageError(placed.reason);
    io.err(`bulkhead tenants place: ${placed.reason}`);
    return 1;
  }
  const { cellId, region, apiKey } = placed;
  if (options.json) {
    io.out(JSON.stringify({ tenantId, cellId, region, apiKey }));
  } else {
    io.out(`placed ${tenantId} on cell ${cellId}${region ? ` (${region})` : ''}`);
    io.out(`api key: ${apiKey}`);
  }
  io.err('warning: this API key is shown once and is not stored (only its hash is); keep it safe now');
  return 0;
}

export interface SeedOptions {
  readonly json?: boolean;
}

/** `tenants seed` (lib/tenants/seed.ts); exits 1 if some tenant could not be seeded, with the reason for each. */
export async function seedTenants(
  target: TenantsTarget,
  fleet: Fleet,
  options: SeedOptions = {},
  io: Io = consoleIo,
): Promise<number> {
  const { seeded, existing, failed } = await seedFleet(target, fleet, (line) => io.err(line));
  if (options.json) {
    io.out(JSON.stringify({ seeded, existing, failed }, null, 2));
  } else if (seeded.length > 0) {
    printTable([['TENANT', 'CELL', 'API KEY'], ...seeded.map((r) => [r.tenantId, r.cellId, r.apiKey])], io);
  }
  io.err(
    `seeded ${seeded.length} tenant${seeded.length === 1 ? '' : 's'}; ` +
      `${existing.length} already in the routing store, left alone` +
      (failed.length > 0 ? `; ${failed.length} not seeded` : ''),
  );
  if (seeded.length > 0)
    io.err('warning: API keys are shown once and are not stored (only their hashes are); keep them safe now');
  return failed.length > 0 ? 1 : 0;
}

export async function moveTenantCommand(
  target: TenantsTarget,
  tenantId: string,
  to: string,
  options: Omit<MoveTenantOptions, 'onEvent'> = {},
  io: Io = consoleIo,
): Promise<number> {
  const moved = await moveTenantTo(target, tenantId, to, {
    ...options,
    onEvent: (message) => io.err(message),
  });
  if (!moved.ok) {
    if (moved.badInput) throw new UsageError(moved.reason);
    io.err(`bulkhead tenants move: ${moved.reason}`);
    return 1;
  }
  const seconds = moved.ms / 1000;
  const items = moved.progress.total ?? moved.progress.copied;
  io.out(
    `moved ${tenantId} from ${moved.from} to ${to}: ${items} item${items === 1 ? '' : 's'} in ${seconds.toFixed(1)} s` +
      (seconds > 0 ? ` (${Math.round(items / seconds)} items/s overall)` : ''),
  );
  return 0;
}

const TARGET_OPTIONS: readonly OptionSpec[] = [
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
    defaultText: 'cells.config.ts for aws, and for seed',
  },
];
const JSON_OPTION: OptionSpec = { flags: '--json', description: 'print the result as JSON' };

interface TenantsArgs extends TenantsTargetArgs {
  readonly json?: boolean;
  readonly region?: string;
  readonly to?: string;
  readonly pageSize?: number;
}

/** Runs `run` on the tenants target the options name (or the deps give), and closes it. */
async function onTenantsTarget(
  args: TenantsArgs,
  deps: TenantsDeps,
  run: (target: TenantsTarget) => Promise<number>,
  fleet?: Fleet,
): Promise<number> {
  const target = (deps.openTenants ?? openTenantsTarget)(args, fleet);
  try {
    return await run(target);
  } finally {
    target.close();
  }
}

export interface TenantsDeps {
  readonly openTenants?: (args: TenantsTargetArgs, fleet?: Fleet) => TenantsTarget;
}

export const tenantsListCommand: CommandSpec<TenantsDeps> = {
  path: ['tenants', 'list'],
  summary: 'every tenant with its cell and status (and its move, while one runs)',
  options: [JSON_OPTION, ...TARGET_OPTIONS],
  examples: ['tenants list', 'tenants list --target aws --json'],
  run: ({ opts, io, deps }) =>
    onTenantsTarget(opts, deps, (target) => listTenants(target, (opts as TenantsArgs).json ?? false, io)),
};

export const tenantsPlaceCommand: CommandSpec<TenantsDeps> = {
  path: ['tenants', 'place'],
  summary: 'put a new tenant on the active cell with the most room; prints its API key once',
  args: [{ name: '<tenant>', description: 'the new tenant id (2-63 of a-z, 0-9, -)' }],
  options: [
    { flags: '--region <region>', description: 'only cells in this region' },
    JSON_OPTION,
    ...TARGET_OPTIONS,
  ],
  examples: ['tenants place sunset-dispensary --region us-west-2'],
  run: ({ args, opts, io, deps }) => {
    const { region, json } = opts as TenantsArgs;
    return onTenantsTarget(opts, deps, (target) => placeTenant(target, args[0], { region, json }, io));
  },
};

export const tenantsSeedCommand: CommandSpec<TenantsDeps> = {
  path: ['tenants', 'seed'],
  summary:
    "route the fleet file's tenants not yet routed, on their declared cells (after `cdk deploy`); prints each new key once",
  options: [JSON_OPTION, ...TARGET_OPTIONS],
  examples: ['tenants seed --target aws'],
  run: ({ opts, io, deps }) => {
    const fleet = seedFleetFile(opts);
    return onTenantsTarget(
      opts,
      deps,
      (target) => seedTenants(target, fleet, { json: (opts as TenantsArgs).json }, io),
      fleet,
    );
  },
};

export const tenantsMoveCommand: CommandSpec<TenantsDeps> = {
  path: ['tenants', 'move'],
  summary: 'move a tenant and its data to another cell: freeze, copy, verify, flip, unfreeze (resumable)',
  args: [{ name: '<tenant>', description: 'the tenant to move' }],
  options: [
    { flags: '--to <cell>', description: 'the cell to move it to', required: true },
    {
      flags: '--page-size <n>',
      description: 'items copied per page',
      parse: integerIn(1, 1000),
      defaultText: '500',
    },
    ...TARGET_OPTIONS,
  ],
  examples: ['tenants move greenleaf --to use1-b'],
  run: ({ args, opts, io, deps }) => {
    const { to, pageSize } = opts as TenantsArgs;
    return onTenantsTarget(opts, deps, (target) =>
      moveTenantCommand(target, args[0], to!, pageSize !== undefined ? { pageSize } : {}, io),
    );
  },
};
