/**
 * `bulkhead tenants list|place|seed|move`: the tenant lifecycle (lib/tenants), over an AWS or a local target.
 *
 *   bulkhead tenants list [--json]
 *   bulkhead tenants place <tenant> [--region R] [--json]
 *   bulkhead tenants seed [--json]
 *   bulkhead tenants move <tenant> --to <cell> [--settle-seconds N] [--page-size N]
 *
 * Common options: --target aws|local (default: local when a local platform runs, else aws) and
 * --config FILE (the fleet file; default cells.config.ts for aws).
 */
import { parseArgs } from 'node:util';

import type { Fleet } from '../config/types';
import { isMoving, type MoveProgress } from '../domain/migration';
import type { TenantsTarget } from '../targets/tenants/tenants-target';
import { type MoveTenantOptions, moveTenantTo, settleSeconds } from '../tenants/move';
import { placeNewTenant } from '../tenants/place';
import { seedFleet } from '../tenants/seed';

import { consoleIo, type Io, printTable, UsageError, withUsage } from './io';
import { openTenantsTarget, seedFleetFile } from './tenants-target';

const USAGE = `usage: bulkhead tenants <command> [options]

  list [--json]                                 tenant → cell → status
  place <tenant> [--region R] [--json]          put a new tenant on the emptiest active cell; prints its API key once
  seed [--json]                                 place every tenant of the fleet file not yet routed on its declared
                                                cell (run after \`cdk deploy\`); prints each new API key once
  move <tenant> --to <cell> [--settle-seconds N] [--page-size N]
                                                move a tenant and its data to another cell (resumable)

options: --target aws|local   where to act (default: local when a local platform runs, else aws)
         --config FILE        the fleet file (default: cells.config.ts for aws, and for seed)`;

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

function positiveNumber(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`--${name} must be a number ${allowZero ? '≥ 0' : '> 0'}, got '${raw}'`);
  }
  return n;
}

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      region: { type: 'string' },
      to: { type: 'string' },
      'settle-seconds': { type: 'string' },
      'page-size': { type: 'string' },
    },
  });

/** One subcommand on the target it opens; the target is closed after. */
async function runSubcommand(sub: string, argv: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv);
  const expect = (count: number, what: string) => {
    if (positionals.length !== count)
      throw new UsageError(`${sub} takes ${what}; run 'bulkhead tenants --help'`);
  };
  let target: TenantsTarget | undefined;
  try {
    switch (sub) {
      case 'list':
        expect(0, 'no arguments');
        target = openTenantsTarget(values);
        return await listTenants(target, values.json ?? false, io);
      case 'place':
        expect(1, 'one tenant id');
        target = openTenantsTarget(values);
        return await placeTenant(target, positionals[0], { region: values.region, json: values.json }, io);
      case 'seed': {
        expect(0, 'no arguments');
        const fleet = seedFleetFile(values);
        target = openTenantsTarget(values, fleet);
        return await seedTenants(target, fleet, { json: values.json }, io);
      }
      case 'move': {
        expect(1, 'one tenant id');
        if (!values.to) throw new UsageError('move needs --to <cell>');
        const pageSize = positiveNumber('page-size', values['page-size']);
        target = openTenantsTarget(values);
        const settle = settleSeconds(
          positiveNumber('settle-seconds', values['settle-seconds'], true),
          target,
        );
        if (!settle.ok) throw new UsageError(settle.reason);
        return await moveTenantCommand(
          target,
          positionals[0],
          values.to,
          {
            settleMs: settle.seconds * 1000,
            ...(pageSize !== undefined && { pageSize: Math.min(Math.floor(pageSize), 1000) }),
          },
          io,
        );
      }
      default:
        throw new UsageError(`unknown command '${sub}'; run 'bulkhead tenants --help'`);
    }
  } finally {
    target?.close();
  }
}

const subcommand = withUsage('tenants', (argv: readonly string[], io: Io) =>
  runSubcommand(argv[0], argv.slice(1), io),
);

export async function tenantsCommand(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  const [sub] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    io.out(USAGE);
    return sub ? 0 : 2;
  }
  return subcommand(argv, io);
}
