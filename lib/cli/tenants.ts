/**
 * `bulkhead tenants list|place|seed|move`: the tenant lifecycle, over an AWS or a local target.
 *
 *   bulkhead tenants list [--json]
 *   bulkhead tenants place <tenant> [--region R] [--json]
 *   bulkhead tenants seed [--json]
 *   bulkhead tenants move <tenant> --to <cell> [--settle-seconds N] [--page-size N]
 *
 * Common options: --target aws|local (default: local when a local platform runs, else aws) and
 * --config FILE (the fleet file; default cells.config.ts for aws).
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';

import type { Fleet } from '../config/types';
import { SMOKE_TENANT } from '../contracts/names';
import { generateApiKey, hashApiKey } from '../domain/api-keys';
import {
  isMoving,
  type MoveOptions,
  type MoveProgress,
  type MoveResult,
  moveTenant,
  refuseMove,
} from '../domain/migration';
import { type CellCapacity, chooseCell, refuseDeclaredCell, refusePlacement } from '../domain/placement';
import { readState } from '../local/platform/platform-state';
import { type CellRecord, movePorts, type RouteRecord, type Target } from '../targets/tenants/tenants-target';

const USAGE = `usage: bulkhead tenants <command> [options]

  list [--json]                                 tenant → cell → status
  place <tenant> [--region R] [--json]          put a new tenant on the emptiest active cell; prints its API key once
  seed [--json]                                 place every tenant of the fleet file not yet routed on its declared
                                                cell (run after \`cdk deploy\`); prints each new API key once
  move <tenant> --to <cell> [--settle-seconds N] [--page-size N]
                                                move a tenant and its data to another cell (resumable)

options: --target aws|local   where to act (default: local when a local platform runs, else aws)
         --config FILE        the fleet file (default: cells.config.ts for aws, and for seed)`;

const DEFAULT_FLEET_FILE = 'cells.config.ts';

/** Tenant ids nobody may take: the pre-traffic smoke test writes as this tenant in every cell. */
export const RESERVED_TENANT_IDS: ReadonlySet<string> = new Set([SMOKE_TENANT]);

/** Default wait after freeze and flip: the router's route cache TTL (30 s) plus its forward timeout (10 s), and margin. */
export const DEFAULT_SETTLE_SECONDS = 45;
/** The router's route cache TTL (`ROUTE_CACHE_TTL_SECONDS`, its default). */
const ROUTER_CACHE_TTL_SECONDS = 30;

export interface Io {
  /** Results (tables, JSON, the key). */
  out(line: string): void;
  /** Progress, warnings and errors. */
  err(line: string): void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** A usage error: one line on stderr, exit code 2. */
class UsageError extends Error {}

const capacityOf = (c: CellRecord): CellCapacity => ({
  id: c.cellId,
  region: c.region,
  status: c.status,
  tenantCount: c.tenantCount,
  ...(c.maxTenants !== undefined && { maxTenants: c.maxTenants }),
});

function moveSummary(move: MoveProgress | undefined): string {
  if (!isMoving(move)) return '';
  const copy = move.step === 'copy' ? ` ${move.copied}/${move.total ?? '?'}` : '';
  return `→ ${move.to} (${move.step}${copy})`;
}

export async function listTenants(target: Target, json: boolean, io: Io = consoleIo): Promise<number> {
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
  const rows = [
    ['TENANT', 'CELL', 'STATUS', ...(moving ? ['MOVE'] : [])],
    ...routes.map((r) => [r.tenantId, r.cellId, r.status, ...(moving ? [moveSummary(r.move)] : [])]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows)
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
  if (routes.length === 0) io.err(`no tenants on ${target.description}`);
  return 0;
}

export type Placed =
  | { readonly ok: true; readonly apiKey: string }
  | { readonly ok: false; readonly reason: string; readonly existing?: RouteRecord };

/**
 * Puts a new tenant on `cellId` with a fresh API key: first the cell's copy of the key hash (so no route
 * is ever live without it, and a cell that cannot be written leaves nothing behind), then the route,
 * only if the tenant has none. When another placement of the same tenant won meanwhile, the cell is
 * left as that placement wants it (its copy restored, or ours removed).
 */
export async function placeInCell(target: Target, tenantId: string, cellId: string): Promise<Placed> {
  const apiKey = generateApiKey(tenantId);
  const keyHash = hashApiKey(apiKey);
  const cell = await target.cell(cellId);
  await cell.putTenantKey(tenantId, keyHash);
  const created = await target.createRoute({
    tenantId,
    cellId,
    status: 'active',
    keyHash,
    createdAt: new Date().toISOString(),
  });
  if (created) return { ok: true, apiKey };
  const winner = await target.getRoute(tenantId);
  if (winner?.cellId === cellId) await cell.putTenantKey(tenantId, winner.keyHash);
  else await cell.removeTenantKey(tenantId, keyHash);
  return {
    ok: false,
    reason: `tenant '${tenantId}' already exists (placed meanwhile)`,
    ...(winner && { existing: winner }),
  };
}

const KEY_WARNING =
  'warning: API keys are shown once and are not stored (only their hashes are); keep them safe now';

export interface PlaceOptions {
  readonly region?: string;
  readonly json?: boolean;
}

export async function placeTenant(
  target: Target,
  tenantId: string,
  options: PlaceOptions = {},
  io: Io = consoleIo,
): Promise<number> {
  const fail = (reason: string) => {
    io.err(`bulkhead tenants place: ${reason}`);
    return 1;
  };
  const shapeProblem = refusePlacement(tenantId, undefined, RESERVED_TENANT_IDS);
  if (shapeProblem) return fail(shapeProblem);
  const existing = await target.getRoute(tenantId);
  const refusal = refusePlacement(tenantId, existing?.cellId, RESERVED_TENANT_IDS);
  if (refusal) return fail(refusal);

  const cells = await target.listCells();
  const placement = chooseCell(cells.map(capacityOf), options.region);
  if (!placement.ok) return fail(placement.reason);

  const placed = await placeInCell(target, tenantId, placement.cellId);
  if (!placed.ok) return fail(placed.reason);
  const { apiKey } = placed;

  const cell = cells.find((c) => c.cellId === placement.cellId);
  if (options.json) {
    io.out(JSON.stringify({ tenantId, cellId: placement.cellId, region: cell?.region, apiKey }));
  } else {
    io.out(`placed ${tenantId} on cell ${placement.cellId}${cell?.region ? ` (${cell.region})` : ''}`);
    io.out(`api key: ${apiKey}`);
  }
  io.err('warning: this API key is shown once and is not stored (only its hash is); keep it safe now');
  return 0;
}

export interface SeedOptions {
  readonly json?: boolean;
}

interface SeedRow {
  readonly tenantId: string;
  readonly cellId: string;
}

function printTable(rows: readonly (readonly string[])[], io: Io): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows)
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
}

/**
 * `tenants seed`: every tenant of the fleet file the routing store does not know yet is placed on the
 * cell the fleet file declares (route + the cell's copy of its key hash), with a new API key printed
 * once. Tenants already routed are left alone, wherever they are now (moved, say): running it again
 * changes nothing. Exits 1 if some tenant could not be seeded, with the reason for each.
 */
export async function seedTenants(
  target: Target,
  fleet: Fleet,
  options: SeedOptions = {},
  io: Io = consoleIo,
): Promise<number> {
  const [routes, registry] = await Promise.all([target.listRoutes(), target.listCells()]);
  const routed = new Map(routes.map((r) => [r.tenantId, r]));
  const cells = registry.map(capacityOf);
  const seeded: (SeedRow & { readonly region: string; readonly apiKey: string })[] = [];
  const existing: SeedRow[] = [];
  const failed: (SeedRow & { readonly reason: string })[] = [];

  const declared = fleet.cells.flatMap((c) => c.tenants.map((t) => ({ tenantId: t.id, cell: c })));
  const toSeed = declared.filter((d) => !routed.has(d.tenantId));
  if (toSeed.length > 0)
    io.err(`seeding ${toSeed.length} of ${declared.length} tenants on ${target.description}`);
  for (const { tenantId, cell } of declared) {
    const route = routed.get(tenantId);
    if (route) {
      existing.push({ tenantId, cellId: route.cellId });
      continue;
    }
    const refusal =
      refusePlacement(tenantId, undefined, RESERVED_TENANT_IDS) ?? refuseDeclaredCell(cell.id, cells);
    if (refusal) {
      failed.push({ tenantId, cellId: cell.id, reason: refusal });
      io.err(`  ${tenantId}: not seeded: ${refusal}`);
      continue;
    }
    let placed: Placed;
    try {
      placed = await placeInCell(target, tenantId, cell.id);
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0];
      failed.push({ tenantId, cellId: cell.id, reason });
      io.err(`  ${tenantId}: not seeded: ${reason}`);
      continue;
    }
    if (!placed.ok) {
      // Placed by someone else meanwhile: it exists now, and is left alone like the others.
      existing.push({ tenantId, cellId: placed.existing?.cellId ?? cell.id });
      continue;
    }
    const i = cells.findIndex((c) => c.id === cell.id);
    cells[i] = { ...cells[i], tenantCount: cells[i].tenantCount + 1 };
    seeded.push({ tenantId, cellId: cell.id, region: cell.region, apiKey: placed.apiKey });
    io.err(`  ${tenantId}: seeded on ${cell.id} (${seeded.length}/${toSeed.length})`);
  }

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
  if (seeded.length > 0) io.err(KEY_WARNING);
  return failed.length > 0 ? 1 : 0;
}

export type MoveCommandOptions = Pick<MoveOptions, 'pageSize' | 'settleMs' | 'afterSave'>;

export async function moveTenantCommand(
  target: Target,
  tenantId: string,
  to: string,
  options: MoveCommandOptions = {},
  io: Io = consoleIo,
): Promise<number> {
  const fail = (reason: string) => {
    io.err(`bulkhead tenants move: ${reason}`);
    return 1;
  };
  const route = await target.getRoute(tenantId);
  if (!route) return fail(`unknown tenant '${tenantId}'`);
  const cells = (await target.listCells()).map(capacityOf);
  const refusal = refuseMove(route, to, cells);
  if (refusal) return fail(refusal);

  const from = isMoving(route.move) ? route.move.from : route.cellId;
  const ports = await movePorts(target, from, to);
  if (!isMoving(route.move)) {
    // A cell only syncs the tenants its stack is configured for; any other tenant's pending sales it
    // would mark NOT_REQUIRED, which must never happen to a tenant that reports to a compliance API.
    const [atSource, atTarget] = await Promise.all([
      (await target.cell(from)).integrationConfigured(tenantId),
      (await target.cell(to)).integrationConfigured(tenantId),
    ]);
    if (atSource === true && atTarget === false) {
      return fail(
        `cell ${to} is not configured for ${tenantId}'s compliance integration: list ${tenantId} ` +
          `(with its integration) under ${to} in the fleet file and deploy ${to} first`,
      );
    }
  }

  const started = Date.now();
  let result: MoveResult;
  try {
    result = await moveTenant(route, to, cells, ports, {
      ...options,
      onEvent: (message) => io.err(message),
    });
  } catch (error) {
    const now = await target.getRoute(tenantId).catch(() => undefined);
    const at = isMoving(now?.move) ? ` at step ${now.move.step}` : '';
    return fail(`the move stopped${at}: ${(error as Error).message}; run the same command again to resume`);
  }
  if (!result.ok) return fail(result.reason);
  const seconds = (Date.now() - started) / 1000;
  const items = result.progress.total ?? result.progress.copied;
  io.out(
    `moved ${tenantId} from ${from} to ${to}: ${items} item${items === 1 ? '' : 's'} in ${seconds.toFixed(1)} s` +
      (seconds > 0 ? ` (${Math.round(items / seconds)} items/s overall)` : ''),
  );
  return 0;
}

interface TargetArgs {
  readonly target?: string;
  readonly config?: string;
}

/*
 * Modules are loaded where they are needed, not at the top: each target pulls in only what it needs (the
 * AWS one loads aws-cdk-lib for the alias name), and require() because the CLI's loader (tsx/cjs)
 * compiles required modules only.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- see above */
const loadFleet = (file: string): Fleet =>
  (require('../config/load') as typeof import('../config/load')).loadFleet(file);

/** The fleet file for `seed`: --config, else cells.config.ts, which must exist. */
function seedFleet(args: TargetArgs): Fleet {
  const file = args.config ?? DEFAULT_FLEET_FILE;
  if (!fs.existsSync(file)) throw new UsageError(`no fleet file ${file} here: pass --config FILE`);
  return loadFleet(file);
}

/** The target named by --target, or the running local platform, or AWS. */
function openTarget(args: TargetArgs, fleet?: Fleet): Target {
  if (args.target !== undefined && args.target !== 'aws' && args.target !== 'local') {
    throw new UsageError(`--target must be aws or local, got '${args.target}'`);
  }
  const state = args.target === 'aws' ? undefined : readState();
  if (args.target === 'local' || (args.target === undefined && state)) {
    if (!state)
      throw new UsageError('no local platform is running (start one with `npm start`), or use --target aws');
    const { LocalTarget } =
      require('../targets/tenants/local-tenants-target') as typeof import('../targets/tenants/local-tenants-target');
    const localFleet = fleet ?? (args.config ? loadFleet(args.config) : undefined);
    return new LocalTarget(state, localFleet ? { fleet: localFleet } : {});
  }
  const fleetFile = args.config ?? DEFAULT_FLEET_FILE;
  if (!fleet && args.target === undefined && !fs.existsSync(fleetFile)) {
    throw new UsageError(
      `no local platform is running here, and there is no ${fleetFile} for AWS: start one with \`npm start\`, or pass --config FILE`,
    );
  }
  const { AwsTarget } =
    require('../targets/tenants/aws-tenants-target') as typeof import('../targets/tenants/aws-tenants-target');
  return new AwsTarget(fleet ?? loadFleet(fleetFile));
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * How long a move waits for routers to drop a cached route: at least the routers' cache TTL, or a
 * router could still read the tenant from the old cell after its copy is deleted. A local platform
 * publishes its (time-scaled) TTL; on AWS it is the router stack's default.
 */
function settleSeconds(asked: number | undefined, target: Target): number {
  const ttl = target.routeCacheTtlSeconds ?? ROUTER_CACHE_TTL_SECONDS;
  if (asked === undefined)
    return target.routeCacheTtlSeconds === undefined ? DEFAULT_SETTLE_SECONDS : ttl + 15;
  if (asked < ttl) {
    throw new UsageError(
      `--settle-seconds ${asked} is shorter than the routers' route cache (${ttl} s): a router could still use the old route`,
    );
  }
  return asked;
}

function positiveNumber(name: string, raw: string | undefined, allowZero = false): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    throw new UsageError(`--${name} must be a number ${allowZero ? '≥ 0' : '> 0'}, got '${raw}'`);
  }
  return n;
}

export async function tenantsCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(USAGE);
    return sub ? 0 : 2;
  }
  let target: Target | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
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
    const expect = (count: number, what: string) => {
      if (positionals.length !== count)
        throw new UsageError(`${sub} takes ${what}; run 'bulkhead tenants --help'`);
    };
    switch (sub) {
      case 'list':
        expect(0, 'no arguments');
        target = openTarget(values);
        return await listTenants(target, values.json ?? false);
      case 'place':
        expect(1, 'one tenant id');
        target = openTarget(values);
        return await placeTenant(target, positionals[0], { region: values.region, json: values.json });
      case 'seed': {
        expect(0, 'no arguments');
        const fleet = seedFleet(values);
        target = openTarget(values, fleet);
        return await seedTenants(target, fleet, { json: values.json });
      }
      case 'move': {
        expect(1, 'one tenant id');
        if (!values.to) throw new UsageError('move needs --to <cell>');
        const pageSize = positiveNumber('page-size', values['page-size']);
        target = openTarget(values);
        const settle = settleSeconds(
          positiveNumber('settle-seconds', values['settle-seconds'], true),
          target,
        );
        return await moveTenantCommand(target, positionals[0], values.to, {
          settleMs: settle * 1000,
          ...(pageSize !== undefined && { pageSize: Math.min(Math.floor(pageSize), 1000) }),
        });
      }
      default:
        throw new UsageError(`unknown command '${sub}'; run 'bulkhead tenants --help'`);
    }
  } catch (error) {
    const usage =
      error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    if (!usage) throw error;
    console.error(`bulkhead tenants: ${(error as Error).message}`);
    return 2;
  } finally {
    target?.close();
  }
}
