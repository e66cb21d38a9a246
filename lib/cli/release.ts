/**
 * Release management, written once over a `ReleaseTarget` (AWS or the local platform):
 *
 *   bulkhead release [--version LABEL] [--waves 0,1] [--cells a,b] [--time-scale N] [--json]
 *   bulkhead rollback --cell ID | --all [--release LABEL] --reason TEXT [--json]
 *   bulkhead drill bad-release --cell ID [--fault-rate R] [--time-scale N] [--json]
 *   bulkhead drill rollback --cell ID [--version LABEL] [--tenant ID] [--time-scale N] [--json]
 *   bulkhead status [--json]
 *
 * Common options: --target aws|local (default: local when a local platform runs, else aws), --home DIR
 * (the local platform's home), --config FILE (the fleet file). Progress goes to stderr, results to
 * stdout; bad input is one line on stderr and exit code 2.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import type { Cell, Fleet } from '../config/types';
import type { ApiResponse } from '../contracts/api-event';
import { SMOKE_TENANT } from '../contracts/names';
import { cellApiFunctionName } from '../contracts/names';
import {
  type CellOutcome,
  type DrillRecord,
  planRelease,
  releaseReadiness,
  type ReleaseProgress,
  type ReleaseReport,
  rollbackOrder,
  rollbackReadiness,
  runRelease,
  StopTheLine,
} from '../domain/release';
import { platformHome, readState, stateFile } from '../local/platform/platform-state';
import type {
  CellStatus,
  DeployEvent,
  ReleaseLogEntry,
  ReleaseTarget,
  RollbackResult,
} from '../targets/release/release-target';

const ROOT = path.join(__dirname, '..', '..');
const DEFAULT_FLEET_FILE = 'cells.config.ts';
/** The bad-release drill's synthetic traffic reads as this tenant (it writes nothing). */
export const DRILL_TENANT = 'bulkhead-drill';
export const DRILL_SKU = 'bulkhead-drill-sku';
export const DEFAULT_FAULT_RATE = 0.5;

export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Bad input: one line on stderr, exit code 2. */
export class UsageError extends Error {}

const COMMON_OPTIONS = {
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

/** What the commands run on; tests replace the target and the clock. */
export interface CommandDeps {
  readonly open?: (args: CommonArgs) => Opened;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

export interface Opened {
  readonly target: ReleaseTarget;
  readonly fleet: Fleet;
  /** Deployment minutes per real minute (local: the flag, else the platform's own). */
  readonly timeScale: number;
}

/** Opens the target named by --target, or the running local platform, or AWS. */
export function openReleaseTarget(args: CommonArgs): Opened {
  if (args.target !== undefined && args.target !== 'aws' && args.target !== 'local') {
    throw new UsageError(`--target must be aws or local, got '${args.target}'`);
  }
  const scale = args['time-scale'];
  const timeScale = scale === undefined ? undefined : Number(scale);
  if (timeScale !== undefined && !(Number.isFinite(timeScale) && timeScale >= 1 && timeScale <= 100_000)) {
    throw new UsageError(`--time-scale must be a number from 1 to 100000, got '${scale}'`);
  }
  // require(): each target loads only what it needs (the AWS one pulls in four SDK clients).
  /* eslint-disable @typescript-eslint/no-require-imports -- see above */
  const loadFleet = (file: string): Fleet =>
    (require('../config/load') as typeof import('../config/load')).loadFleet(file);
  const home = platformHome(args.home);
  const state = args.target === 'aws' ? undefined : readState(stateFile(home));
  if (args.target === 'local' || (args.target === undefined && state)) {
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

const stamp = (): string => new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const millis = (ms: number): string =>
  ms < 10 ? `${ms.toFixed(2)} ms` : ms < 10_000 ? `${Math.round(ms)} ms` : seconds(ms);
const versions = (m: Readonly<Record<string, string>> | undefined): string =>
  Object.entries(m ?? {})
    .map(([fn, v]) => `${fn} v${v}`)
    .join(', ');
const moves = (from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>): string =>
  Object.keys(to)
    .map((fn) => `${fn} v${from[fn] ?? '?'}→v${to[fn]}`)
    .join(', ');

function cellOf(fleet: Fleet, id: string | undefined, flag = '--cell'): Cell {
  if (!id) throw new UsageError(`${flag} ID is required`);
  const cell = fleet.cells.find((c) => c.id === id);
  if (!cell) throw new UsageError(`unknown cell '${id}'; cells: ${fleet.cells.map((c) => c.id).join(', ')}`);
  return cell;
}

/** Follows a cell's deployment to its end, progress on stderr; the `done` event. */
async function followCell(
  target: ReleaseTarget,
  cell: Cell,
  io: Io,
): Promise<Extract<DeployEvent, { type: 'done' }>> {
  for await (const event of target.follow(cell)) {
    if (event.type === 'progress') io.err(`[${cell.id}] ${event.message}`);
    else return event;
  }
  throw new Error(`the deployment of cell ${cell.id} ended without an outcome`);
}

function logOutcome(
  target: ReleaseTarget,
  release: string,
  done: Extract<DeployEvent, { type: 'done' }>,
): void {
  const base = {
    release,
    cell: done.cellId,
    result: done.result,
    from: done.from,
    to: done.to,
    ms: done.durationMs,
  };
  if (done.result === 'rolled-back') {
    target.log.append({
      ...base,
      kind: 'rollback',
      automatic: true,
      who: 'bulkhead (automatic)',
      why: done.reason,
      summary: `${done.cellId}: release ${release} rolled back automatically (${done.reason ?? 'no reason given'})`,
    });
  } else {
    target.log.append({
      ...base,
      kind: 'release',
      ...(done.reason && { detail: done.reason }),
      summary: `${done.cellId}: release ${release} ${done.result}${done.to ? ` (${versions(done.to)})` : ''}${done.reason ? `: ${done.reason}` : ''}`,
    });
  }
}

function describeProgress(e: ReleaseProgress): string {
  switch (e.type) {
    case 'wave-started':
      return `wave ${e.wave}: deploying ${e.cells.join(', ')}`;
    case 'wave-finished':
      return `wave ${e.wave}: ${e.outcomes.map((o) => `${o.cellId} ${o.result}`).join(', ')}`;
    case 'bake-started':
      return `wave ${e.wave}: baking ${seconds(e.ms)} while watching its alarms`;
    case 'bake-finished':
      return `wave ${e.wave}: baked, no alarm`;
    case 'alarm':
      return `wave ${e.wave}: ALARM in ${e.cellId}: ${e.alarms.join(', ')}`;
    case 'drill':
      return `wave ${e.wave}: rehearsing the rollback on ${e.cellId} (drill: roll back, verify, roll forward)`;
    case 'halted':
      return `STOP THE LINE: ${e.reason}`;
  }
}

/** Refuses with one line per problem (exit 1) when any cell is not ready. */
function refuse(command: string, problems: readonly string[], io: Io): number {
  for (const p of problems) io.err(`bulkhead ${command}: refused: ${p}`);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// release
// ---------------------------------------------------------------------------------------------

export interface ReleaseRun {
  readonly code: number;
  readonly report?: ReleaseReport;
}

export async function releaseCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<number> {
  return (await runReleaseCommand(argv, io, deps)).code;
}

export async function runReleaseCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<ReleaseRun> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...COMMON_OPTIONS,
      version: { type: 'string' },
      waves: { type: 'string' },
      cells: { type: 'string' },
    },
  });
  const label = values.version ?? `r-${stamp()}`;
  const { target, fleet, timeScale } = (deps.open ?? openReleaseTarget)(values);
  try {
    const planned = planRelease(fleet.cells, {
      label,
      ...(values.waves !== undefined && { waves: waves(values.waves) }),
      ...(values.cells !== undefined && { cells: list(values.cells) }),
    });
    if (!planned.ok) throw new UsageError(planned.problems.join('; '));
    const plan = planned.plan;
    const cells = plan.waves.flatMap((w) => w.cells);
    const states = await Promise.all(cells.map((c) => target.status(c)));
    const problems = states.flatMap(releaseReadiness);
    if (problems.length > 0) return { code: refuse('release', problems, io) };

    io.err(
      `release ${label} on ${target.description}: ${plan.waves.map((w) => `wave ${w.wave} (${w.cells.map((c) => c.id).join(', ')})`).join(' → ')}` +
        (target.kind === 'local' ? `, time scale ${timeScale}` : ''),
    );
    const line = new StopTheLine();
    const interrupt = () => {
      io.err('interrupted: no further wave will start (Ctrl-C again to quit now)');
      line.trip('interrupted by the operator');
    };
    process.once('SIGINT', interrupt);
    let report: ReleaseReport;
    try {
      report = await runRelease(
        plan,
        {
          deployWave: async (wave) => {
            await target.deploy(wave.cells, { release: label, timeScale });
            const done = await Promise.all(wave.cells.map((c) => followCell(target, c, io)));
            return done.map((d): CellOutcome => {
              logOutcome(target, label, d);
              return {
                cellId: d.cellId,
                result: d.result,
                ...(d.reason && { reason: d.reason }),
                ...(d.from && { from: d.from }),
                ...(d.to && { to: d.to }),
                durationMs: d.durationMs,
              };
            });
          },
          alarms: (wave) =>
            Promise.all(wave.map(async (c) => ({ cellId: c.id, alarms: await target.alarms(c) }))),
          rollback: async (cell, reason) => {
            const r = await target.rollback(cell, reason);
            logRollback(target, r, reason, label, true);
          },
          drills: async () => target.log.drills(),
          drill: async (cell) => (await rehearseRollback(target, cell, label, {}, io)).record,
          sleep: deps.sleep ?? sleep,
          now: deps.now ?? Date.now,
          onProgress: (e) => io.err(describeProgress(e)),
        },
        { timeScale, alarmPollMs: target.kind === 'local' ? 200 : 30_000, line },
      );
    } finally {
      process.removeListener('SIGINT', interrupt);
    }
    if (report.state === 'halted') {
      target.log.append({
        kind: 'halt',
        release: label,
        detail: report.haltReason,
        summary: `release ${label} halted: ${report.haltReason}`,
      });
    }
    if (values.json) io.out(JSON.stringify(report, null, 2));
    else {
      for (const w of report.waves) {
        const detail = w.outcomes.map((o) => `${o.cellId} ${o.result}${o.to ? ` (${versions(o.to)})` : ''}`);
        io.out(`wave ${w.wave}: ${w.state}${detail.length > 0 ? ` — ${detail.join('; ')}` : ''}`);
      }
      io.out(
        report.state === 'succeeded'
          ? `release ${label} reached ${report.reached.length} cell(s) in ${seconds(report.durationMs)}`
          : `release ${label} HALTED after ${seconds(report.durationMs)}: ${report.haltReason}`,
      );
    }
    return { code: report.state === 'succeeded' ? 0 : 1, report };
  } finally {
    target.close();
  }
}

// ---------------------------------------------------------------------------------------------
// rollback
// ---------------------------------------------------------------------------------------------

function logRollback(
  target: ReleaseTarget,
  r: RollbackResult,
  why: string,
  release?: string,
  automatic = false,
): void {
  target.log.append({
    kind: 'rollback',
    cell: r.cellId,
    ...(release && { release }),
    why,
    from: r.from,
    to: r.to,
    ms: Math.round(r.ms * 100) / 100,
    ...(automatic && { automatic: true, who: 'bulkhead (automatic)' }),
    summary: `${r.cellId}: rolled back (${moves(r.from, r.to)}) in ${millis(r.ms)}: ${why}`,
  });
}

/** The release label a cell's live versions carry (any function), or its deployment under way. */
const releasesOn = (s: CellStatus): Set<string> =>
  new Set([
    ...s.functions.flatMap((f) => (f.release ? [f.release] : [])),
    ...(s.deployment?.release ? [s.deployment.release] : []),
  ]);

export async function rollbackCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...COMMON_OPTIONS,
      cell: { type: 'string' },
      all: { type: 'boolean' },
      release: { type: 'string' },
      reason: { type: 'string' },
    },
  });
  if (!values.reason?.trim()) throw new UsageError('--reason TEXT is required: it goes into the release log');
  if (Boolean(values.all) === (values.cell !== undefined))
    throw new UsageError('name one cell with --cell ID, or use --all');
  const reason = values.reason.trim();
  const { target, fleet } = (deps.open ?? openReleaseTarget)(values);
  try {
    let cells: Cell[];
    let release = values.release;
    if (values.cell) {
      cells = [cellOf(fleet, values.cell)];
    } else {
      release ??= target.log
        .entries()
        .filter((e) => e.kind === 'release' && e.release)
        .at(-1)?.release;
      if (!release) throw new UsageError('no release in the log: name it with --release LABEL');
      const all = await Promise.all(fleet.cells.map(async (c) => ({ c, s: await target.status(c) })));
      cells = all.filter(({ s }) => releasesOn(s).has(release!)).map(({ c }) => c);
      if (cells.length === 0) {
        io.err(`bulkhead rollback: release ${release} is on no cell: nothing to roll back`);
        return 0;
      }
    }
    const states = await Promise.all(cells.map((c) => target.status(c, { previous: true })));
    const problems = states.flatMap(rollbackReadiness);
    if (problems.length > 0) return refuse('rollback', problems, io);

    const results: ((RollbackResult & { roundTripMs: number }) | { cellId: string; error: string })[] = [];
    for (const group of rollbackOrder(cells)) {
      io.err(`rolling back ${group.map((c) => c.id).join(', ')} (wave ${group[0].wave})`);
      const settled = await Promise.allSettled(
        group.map(async (c) => {
          const sent = performance.now();
          const r = await target.rollback(c, reason);
          return { ...r, roundTripMs: performance.now() - sent };
        }),
      );
      settled.forEach((s, i) => {
        if (s.status === 'fulfilled') {
          logRollback(target, s.value, reason, release);
          for (const note of s.value.notes ?? []) io.err(`[${s.value.cellId}] ${note}`);
          results.push(s.value);
        } else {
          results.push({ cellId: group[i].id, error: (s.reason as Error).message });
        }
      });
    }
    if (values.json) io.out(JSON.stringify(results, null, 2));
    else {
      for (const r of results) {
        io.out(
          'error' in r
            ? `${r.cellId}: FAILED to roll back: ${r.error}`
            : `${r.cellId}: rolled back ${r.kind === 'stopped-deployment' ? 'the deployment under way' : 'the live alias'} ` +
                `(${moves(r.from, r.to)}): traffic back in ${millis(r.ms)} (command answered in ${millis(r.roundTripMs)})`,
        );
      }
    }
    return results.some((r) => 'error' in r) ? 1 : 0;
  } finally {
    target.close();
  }
}

// ---------------------------------------------------------------------------------------------
// drills
// ---------------------------------------------------------------------------------------------

export interface RehearsalOptions {
  /** The tenant whose orders are written by the new version and read by the old one. */
  readonly tenant?: string;
  /** How long the old sync worker may take to process the new version's message. @default 60000 */
  readonly syncTimeoutMs?: number;
}

export interface Rehearsal {
  readonly record: DrillRecord;
  readonly steps: readonly {
    readonly step: string;
    readonly ok: boolean;
    readonly ms: number;
    readonly detail?: string;
  }[];
  readonly rollbackMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The rollback drill on a cell that runs the release: roll back, check that the old version reads what the
 * new one wrote (orders, and the sync message of an order the new version wrote while the old one was live),
 * roll forward. Recorded in the release log; the drill gate reads it.
 */
export async function rehearseRollback(
  target: ReleaseTarget,
  cell: Cell,
  release: string,
  options: RehearsalOptions,
  io: Io,
): Promise<Rehearsal> {
  const steps: { step: string; ok: boolean; ms: number; detail?: string }[] = [];
  const tenant =
    options.tenant ?? cell.tenants.find((t) => t.integration)?.id ?? cell.tenants[0]?.id ?? SMOKE_TENANT;
  const integrated = cell.tenants.some((t) => t.id === tenant && t.integration);
  let rollbackMs: number | undefined;
  const step = async (name: string, run: () => Promise<string | undefined>): Promise<boolean> => {
    const started = Date.now();
    let detail: string | undefined;
    try {
      detail = await run();
    } catch (err) {
      detail = (err as Error).message;
    }
    const ok = detail === undefined;
    steps.push({ step: name, ok, ms: Date.now() - started, ...(detail !== undefined && { detail }) });
    io.err(
      `[${cell.id}] drill: ${name}: ${ok ? 'ok' : `FAILED: ${detail}`} (${seconds(Date.now() - started)})`,
    );
    return ok;
  };
  const expect = (res: ApiResponse, status: number, what: string): string | undefined =>
    res.statusCode === status
      ? undefined
      : `${what}: expected ${status}, got ${res.statusCode} ${JSON.stringify(res.body ?? res.error)}`;

  const before = await target.status(cell, { previous: true });
  const api = before.functions.find((f) => f.name === cellApiFunctionName(cell.id)) ?? before.functions[0];
  const newVersion = api?.weights[0]?.version;
  const oldVersion = api?.previous?.version;
  let rolledBack: RollbackResult | undefined;
  const orders: { id: string; items: unknown }[] = [];
  const order = async (by: string, label: string) => {
    const res = await target.invoke(cell, by, {
      method: 'POST',
      path: '/orders',
      tenant,
      body: { items: [{ sku: DRILL_SKU, quantity: 1 }] },
    });
    const problem = expect(res, 201, `${label} order by v${by}`);
    if (!problem) orders.push(res.body as { id: string; items: unknown });
    return problem;
  };
  const ok =
    (await step('versions known', async () =>
      newVersion && oldVersion && newVersion !== oldVersion
        ? undefined
        : `need a live and a previous version of ${api?.name ?? 'the API'} (live ${newVersion ?? 'none'}, previous ${oldVersion ?? 'none'})`,
    )) &&
    (await step(`new version v${newVersion} writes (tenant ${tenant})`, async () => {
      const stock = await target.invoke(cell, newVersion!, {
        method: 'PUT',
        path: `/inventory/${DRILL_SKU}`,
        tenant,
        body: { quantity: 1_000_000, priceCents: 1 },
      });
      return expect(stock, 200, 'stock') ?? (await order(newVersion!, 'first'));
    })) &&
    (await step('roll back', async () => {
      rolledBack = await target.rollback(cell, `rollback drill of release ${release}`);
      rollbackMs = rolledBack.ms;
      logRollback(target, rolledBack, `rollback drill of release ${release}`, release);
      const live = (await target.status(cell)).functions.find((f) => f.name === api!.name)?.weights;
      return live?.length === 1 && live[0].version === oldVersion
        ? undefined
        : `live alias is on ${JSON.stringify(live)} instead of v${oldVersion}`;
    })) &&
    (await step(`new version v${newVersion} writes while v${oldVersion} is live`, () =>
      order(newVersion!, 'second'),
    )) &&
    (await step(`old version v${oldVersion} reads the new version's orders`, async () => {
      for (const o of orders) {
        const res = await target.invoke(cell, oldVersion!, {
          method: 'GET',
          path: `/orders/${o.id}`,
          tenant,
        });
        const problem = expect(res, 200, `order ${o.id}`);
        if (problem) return problem;
        const got = res.body as { id?: string; items?: unknown };
        if (got.id !== o.id || JSON.stringify(got.items) !== JSON.stringify(o.items)) {
          return `order ${o.id} reads back as ${JSON.stringify(got)}`;
        }
      }
      return undefined;
    })) &&
    (await step(
      integrated
        ? `old sync worker processes the new version's message`
        : `sync message (skipped: tenant ${tenant} has no integration, so no message is written)`,
      async () => {
        if (!integrated) return undefined;
        const id = orders.at(-1)!.id;
        const deadline = Date.now() + (options.syncTimeoutMs ?? 60_000);
        for (;;) {
          const res = await target.invoke(cell, oldVersion!, {
            method: 'GET',
            path: `/orders/${id}`,
            tenant,
          });
          const status = (res.body as { syncStatus?: string } | undefined)?.syncStatus;
          if (status === 'SYNCED' || status === 'NOT_REQUIRED') return undefined;
          if (status === 'REJECTED') return `order ${id} was rejected: ${JSON.stringify(res.body)}`;
          if (Date.now() > deadline) return `order ${id} is still ${status ?? 'unreadable'}`;
          await sleep(250);
        }
      },
    ));
  // Roll forward whatever happened after the rollback: the release stays where it was before the drill.
  if (rolledBack) {
    await step(`roll forward to v${newVersion}`, async () => {
      const r = await target.pointTo(cell, rolledBack!.from);
      target.log.append({
        kind: 'release',
        release,
        cell: cell.id,
        from: r.from,
        to: r.to,
        ms: Math.round(r.ms),
        summary: `${cell.id}: rolled forward (${moves(r.from, r.to)}) after the rollback drill of ${release}`,
      });
      return undefined;
    });
  }
  const failed = steps.find((s) => !s.ok);
  const passed = ok && !failed;
  const entry = target.log.append({
    kind: 'drill',
    drill: 'rollback',
    release,
    cell: cell.id,
    ok: passed,
    ms: steps.reduce((sum, s) => sum + s.ms, 0),
    ...(!passed && { detail: `${failed?.step}: ${failed?.detail}` }),
    summary: `${cell.id}: rollback drill of ${release} ${passed ? 'passed' : `FAILED at ${failed?.step}`}`,
  });
  return {
    record: {
      release,
      ok: passed,
      at: entry.at,
      cell: cell.id,
      ...(!passed && { reason: `${failed?.step}: ${failed?.detail}` }),
    },
    steps,
    ...(rollbackMs !== undefined && { rollbackMs }),
  };
}

interface TrafficSample {
  readonly cellId: string;
  readonly status: number;
  readonly version?: string;
  readonly at: number;
}

/** Steady synthetic reads on cells' live aliases until stopped (the drill's traffic). */
function traffic(target: ReleaseTarget, cells: readonly { cell: Cell; concurrency: number }[]) {
  const samples: TrafficSample[] = [];
  let running = true;
  const loops = cells.flatMap(({ cell, concurrency }) =>
    Array.from({ length: concurrency }, async () => {
      while (running) {
        let res: ApiResponse;
        try {
          res = await target.invoke(cell, 'live', {
            method: 'GET',
            path: '/inventory?limit=1',
            tenant: DRILL_TENANT,
          });
        } catch (err) {
          res = { statusCode: 0, body: undefined, error: (err as Error).message };
        }
        samples.push({
          cellId: cell.id,
          status: res.statusCode,
          version: res.executedVersion,
          at: Date.now(),
        });
      }
    }),
  );
  return {
    samples,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

export interface BadReleaseResult {
  readonly ok: boolean;
  readonly release: string;
  readonly cell: string;
  readonly result: string;
  readonly reason?: string;
  /** From the first request on the new version to all traffic back on the previous one. */
  readonly timeToRollbackMs?: number;
  readonly requests: number;
  readonly failures: number;
  readonly failureShare: number;
  readonly failuresOnPrevious: number;
  readonly otherCells: { readonly requests: number; readonly failures: number };
  readonly weightsAfter: Readonly<Record<string, readonly { version: string; weight: number }[]>>;
  readonly problems: readonly string[];
}

export async function runBadReleaseDrill(
  opened: Opened,
  cell: Cell,
  options: { readonly faultRate: number; readonly release?: string },
  io: Io,
): Promise<BadReleaseResult> {
  const { target, fleet, timeScale } = opened;
  const release = options.release ?? `drill-bad-${stamp()}`;
  const before = await target.status(cell);
  const previous = Object.fromEntries(before.functions.map((f) => [f.name, f.weights[0].version]));
  const others = fleet.cells.filter((c) => c.id !== cell.id);
  const load = traffic(target, [
    { cell, concurrency: 4 },
    ...others.map((c) => ({ cell: c, concurrency: 1 })),
  ]);
  let done: Extract<DeployEvent, { type: 'done' }>;
  try {
    await sleep(200);
    io.err(
      `[${cell.id}] drill: releasing ${release}, a version that fails ${Math.round(options.faultRate * 100)}% of requests`,
    );
    await target.deploy([cell], {
      release,
      timeScale,
      extraEnv: { BULKHEAD_FAULT_RATE: String(options.faultRate) },
    });
    done = await followCell(target, cell, io);
    // A moment more of traffic: it must all be served by the previous version now.
    await sleep(300);
  } finally {
    await load.stop();
  }
  logOutcome(target, release, done);
  if (done.result === 'succeeded') {
    // The faulty version was not caught: it must not stay live.
    const why = 'bad-release drill: the faulty version was not rolled back automatically';
    logRollback(target, await target.rollback(cell, why), why, release);
    io.err(`[${cell.id}] drill: the faulty version went live; rolled back by the drill`);
  }
  const after = await target.status(cell);
  const weightsAfter = Object.fromEntries(after.functions.map((f) => [f.name, f.weights]));
  const mine = load.samples.filter((s) => s.cellId === cell.id);
  const failedReq = (s: TrafficSample) => s.status === 0 || s.status >= 500;
  const failures = mine.filter(failedReq);
  const onPrevious = failures.filter((s) => s.version === previous[cellApiFunctionName(cell.id)]);
  const other = load.samples.filter((s) => s.cellId !== cell.id);
  const problems: string[] = [];
  if (done.result !== 'rolled-back')
    problems.push(`the release was not rolled back automatically (${done.result})`);
  for (const f of after.functions) {
    if (f.weights.length !== 1 || f.weights[0].version !== previous[f.name]) {
      problems.push(`${f.name} is on ${JSON.stringify(f.weights)}, not 100% on v${previous[f.name]}`);
    }
  }
  if (onPrevious.length > 0) problems.push(`${onPrevious.length} failures on the previous version`);
  const otherFailures = other.filter(failedReq).length;
  if (otherFailures > 0) problems.push(`${otherFailures} failures in other cells`);
  const result: BadReleaseResult = {
    ok: problems.length === 0,
    release,
    cell: cell.id,
    result: done.result,
    ...(done.reason && { reason: done.reason }),
    ...(done.shiftStartedAt !== undefined &&
      done.rolledBackAt !== undefined && { timeToRollbackMs: done.rolledBackAt - done.shiftStartedAt }),
    requests: mine.length,
    failures: failures.length,
    failureShare: mine.length === 0 ? 0 : failures.length / mine.length,
    failuresOnPrevious: onPrevious.length,
    otherCells: { requests: other.length, failures: otherFailures },
    weightsAfter,
    problems,
  };
  target.log.append({
    kind: 'drill',
    drill: 'bad-release',
    release,
    cell: cell.id,
    ok: result.ok,
    ...(result.timeToRollbackMs !== undefined && { ms: result.timeToRollbackMs }),
    ...(!result.ok && { detail: problems.join('; ') }),
    summary:
      `${cell.id}: bad-release drill ${result.ok ? 'passed' : 'FAILED'}: ${done.result}` +
      (result.timeToRollbackMs !== undefined ? ` in ${seconds(result.timeToRollbackMs)}` : '') +
      `, ${failures.length}/${mine.length} requests failed`,
  });
  return result;
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
  const { values } = parseArgs({
    args: rest,
    options: {
      ...COMMON_OPTIONS,
      cell: { type: 'string' },
      version: { type: 'string' },
      tenant: { type: 'string' },
      'fault-rate': { type: 'string' },
    },
  });
  const opened = (deps.open ?? openReleaseTarget)(values);
  const { target, fleet } = opened;
  try {
    const cell = cellOf(fleet, values.cell);
    const problems = releaseReadiness(await target.status(cell));
    if (problems.length > 0) return refuse(`drill ${kind}`, problems, io);
    if (kind === 'bad-release') {
      if (target.kind === 'aws') {
        throw new UsageError(
          'drill bad-release runs against --target local: on AWS the per-version alarms watch the version ' +
            'CloudFormation deploys, so a fault injected beside the stack would go unwatched',
        );
      }
      const rate = Number(values['fault-rate'] ?? DEFAULT_FAULT_RATE);
      if (!(rate > 0 && rate <= 1))
        throw new UsageError(`--fault-rate must be within (0, 1], got '${values['fault-rate']}'`);
      const r = await runBadReleaseDrill(
        opened,
        cell,
        { faultRate: rate, ...(values.version && { release: values.version }) },
        io,
      );
      if (values.json) io.out(JSON.stringify(r, null, 2));
      else {
        io.out(
          `bad-release drill on ${cell.id}: ${r.ok ? 'PASSED' : 'FAILED'} (${r.result}${r.reason ? `: ${r.reason}` : ''})`,
        );
        if (r.timeToRollbackMs !== undefined) {
          io.out(
            `  time to rollback: ${seconds(r.timeToRollbackMs)} from the first traffic on the new version to 100% back on the previous one`,
          );
        }
        io.out(
          `  ${cell.id}: ${r.failures} of ${r.requests} requests failed (${(r.failureShare * 100).toFixed(1)}%), ` +
            `${r.failuresOnPrevious} of them on the previous version`,
        );
        io.out(`  other cells: ${r.otherCells.failures} of ${r.otherCells.requests} requests failed`);
        for (const [fn, w] of Object.entries(r.weightsAfter)) {
          io.out(`  ${fn}: ${w.map((x) => `v${x.version} ${Math.round(x.weight * 100)}%`).join(', ')}`);
        }
        for (const p of r.problems) io.out(`  problem: ${p}`);
      }
      return r.ok ? 0 : 1;
    }

    const release = values.version ?? `drill-rb-${stamp()}`;
    const started = Date.now();
    io.err(`[${cell.id}] drill: releasing ${release}`);
    await target.deploy([cell], { release, timeScale: opened.timeScale });
    const done = await followCell(target, cell, io);
    logOutcome(target, release, done);
    const releaseMs = Date.now() - started;
    if (done.result !== 'succeeded') {
      target.log.append({
        kind: 'drill',
        drill: 'rollback',
        release,
        cell: cell.id,
        ok: false,
        detail: `release: ${done.result} ${done.reason ?? ''}`.trim(),
        summary: `${cell.id}: rollback drill of ${release} FAILED: the release ${done.result}`,
      });
      io.out(
        `rollback drill on ${cell.id}: FAILED: the release ${done.result}${done.reason ? ` (${done.reason})` : ''}`,
      );
      return 1;
    }
    const r = await rehearseRollback(
      target,
      cell,
      release,
      { ...(values.tenant && { tenant: values.tenant }) },
      io,
    );
    const total = Date.now() - started;
    if (values.json) io.out(JSON.stringify({ ...r, releaseMs, totalMs: total }, null, 2));
    else {
      io.out(
        `rollback drill of ${release} on ${cell.id}: ${r.record.ok ? 'PASSED' : 'FAILED'} in ${seconds(total)}`,
      );
      io.out(`  release: ${seconds(releaseMs)}`);
      for (const s of r.steps)
        io.out(`  ${s.step}: ${s.ok ? 'ok' : `FAILED: ${s.detail}`} (${seconds(s.ms)})`);
      if (r.rollbackMs !== undefined) io.out(`  time to rollback: ${millis(r.rollbackMs)}`);
    }
    return r.record.ok ? 0 : 1;
  } finally {
    target.close();
  }
}

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

export async function statusCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: COMMON_OPTIONS });
  const { target, fleet } = (deps.open ?? openReleaseTarget)(values);
  try {
    const log = target.log.entries();
    const last = (cellId: string, kind: ReleaseLogEntry['kind']) =>
      log.filter((e) => e.cell === cellId && e.kind === kind).at(-1);
    const rows = await Promise.all(
      fleet.cells.map(async (cell) => {
        const [s, alarms] = await Promise.all([
          target.status(cell, { previous: true }),
          target.alarms(cell).catch((err: Error) => [`(alarms unreadable: ${err.message})`]),
        ]);
        const lastRelease = last(cell.id, 'release');
        const lastRollback = last(cell.id, 'rollback');
        return {
          cell: cell.id,
          wave: cell.wave,
          ...(s.unavailable && { unavailable: s.unavailable }),
          functions: s.functions.map((f) => ({
            name: f.name,
            weights: f.weights,
            release: f.release ?? null,
            previous: f.previous?.version ?? null,
          })),
          deployment: s.deployment ?? null,
          lastDeployment: s.lastDeployment ?? null,
          alarms,
          lastRelease: lastRelease
            ? { at: lastRelease.at, release: lastRelease.release, summary: lastRelease.summary }
            : null,
          lastRollback: lastRollback
            ? {
                at: lastRollback.at,
                who: lastRollback.who,
                why: lastRollback.why,
                summary: lastRollback.summary,
              }
            : null,
        };
      }),
    );
    if (values.json) {
      io.out(JSON.stringify({ target: target.description, cells: rows }, null, 2));
      return 0;
    }
    io.out(target.description);
    for (const r of rows) {
      const api = r.functions.find((f) => f.name === cellApiFunctionName(r.cell)) ?? r.functions[0];
      const live = api
        ? api.weights.map((w) => `v${w.version} ${Math.round(w.weight * 100)}%`).join(' + ')
        : '—';
      const state = r.unavailable
        ? `unavailable: ${r.unavailable}`
        : r.deployment
          ? `deploying ${r.deployment.release ?? ''} (${r.deployment.status})`.replace('  ', ' ')
          : r.lastDeployment
            ? `last deployment ${r.lastDeployment.result ?? r.lastDeployment.status}`
            : 'no deployment yet';
      io.out(`${r.cell}  wave ${r.wave}  live ${live}${api?.release ? ` (${api.release})` : ''}  ${state}`);
      io.out(`  alarms: ${r.alarms.length === 0 ? 'none' : r.alarms.join('; ')}`);
      if (r.lastRelease) io.out(`  last release:  ${r.lastRelease.at} ${r.lastRelease.summary}`);
      if (r.lastRollback)
        io.out(`  last rollback: ${r.lastRollback.at} by ${r.lastRollback.who}: ${r.lastRollback.summary}`);
    }
    return 0;
  } finally {
    target.close();
  }
}

/** Wraps a command so bad input is one line on stderr and exit code 2. */
export function withUsage(
  name: string,
  run: (argv: readonly string[], io: Io, deps: CommandDeps) => Promise<number>,
) {
  return async (argv: readonly string[], io: Io = consoleIo, deps: CommandDeps = {}): Promise<number> => {
    try {
      return await run(argv, io, deps);
    } catch (error) {
      const usage =
        error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
      if (!usage) throw error;
      io.err(`bulkhead ${name}: ${(error as Error).message}`);
      return 2;
    }
  };
}
