/**
 * Releases inside the running local platform: what CodeDeploy does on AWS, on the local `live` aliases.
 * A deployment publishes the next version of every released function of a cell from the current build,
 * runs the pre-traffic smoke test on the new API version before any traffic moves, then shifts the
 * aliases per the cell's deployment config (time-scaled), watching the new version's own metrics: over
 * the thresholds, the aliases go back to the previous version at once. A rollback puts the aliases back
 * on the previous version (stopping a deployment under way). `bulkhead release --target local` drives
 * this through the control API (`registerReleaseHandlers`).
 */
import * as path from 'node:path';

import type { DeploymentSettings } from '../../config/types';
import {
  type ApiRequest,
  type ApiResponse,
  functionUrlEvent,
  toApiResponse,
} from '../../contracts/api-event';
import { functionRole, SMOKE_TENANT } from '../../contracts/names';
import {
  type CanaryThresholds,
  DEFAULT_CANARY_THRESHOLDS,
  type FunctionReleaseState,
  type RollbackResult,
  scaledMs,
  type ShiftStep,
  trafficSteps,
} from '../../domain/release';
import { smokeTest } from '../../domain/smoke-test';
import { overThresholds, runTrafficShift } from '../../domain/traffic-shift';
import { readAssembly } from '../assembly/template-model';
import type { LocalFunctionVersion } from '../lambda/function-version';
import type { StackRuntime } from '../platform/cell-runtime';
import type { ControlServer } from '../platform/control-server';
import type { LocalPlatform } from '../platform/platform';

import { canaryMetrics, Deployment, type DeploymentView, type ReleasedFunction } from './deployment';
import { VersionRecord } from './version-record';

export type { DeploymentStatus, DeploymentView } from './deployment';

export interface DeployRequest {
  readonly release: string;
  readonly cells: readonly string[];
  /** Deployment minutes per real minute. @default the platform's */
  readonly timeScale?: number;
  /** Added to every new version's environment (the bad-release drill's fault flag). */
  readonly extraEnv?: Readonly<Record<string, string>>;
  readonly thresholds?: Partial<CanaryThresholds>;
}

export interface CellReleaseView {
  readonly cellId: string;
  readonly wave: number;
  readonly unavailable?: string;
  readonly functions: readonly (FunctionReleaseState & { readonly logicalId: string })[];
  /** The deployment under way. */
  readonly deployment?: { readonly id: string; readonly status: string; readonly release: string };
  readonly lastDeployment?: DeploymentView;
  /** Live versions over the canary thresholds (the local counterpart of the per-version alarms). */
  readonly alarms: readonly string[];
}

/** How often a shift looks at the new version's metrics (real ms). */
const WATCH_MS = 20;
const pct = (w: number) => `${Math.round(w * 1000) / 10}%`;

/** What a step of a shift waits for, and until when: its hold, and the time all traffic is due to move. */
function shiftEta(steps: readonly ShiftStep[], step: ShiftStep, timeScale: number): string {
  if (step.weight >= 1) return '';
  const later = steps.slice(steps.indexOf(step));
  const holdMs = scaledMs(step.holdMinutes, timeScale);
  const allMs = later.reduce((sum, s) => sum + scaledMs(s.holdMinutes, timeScale), 0);
  const at = (ms: number) => new Date(Date.now() + ms).toISOString().slice(11, 19);
  return `; watching them for ${(holdMs / 1000).toFixed(1)} s (next step at about ${at(holdMs)}, all traffic at about ${at(allMs)})`;
}
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What a function's new version is judged by: the canary's defaults, its deployment group's p99 alarm
 * in place of the default p99 (none: latency never stops it, as on AWS), then a request's own thresholds.
 */
function thresholdsOf(f: ReleasedFunction, requested?: Partial<CanaryThresholds>): CanaryThresholds {
  return {
    ...DEFAULT_CANARY_THRESHOLDS,
    maxP99Ms: f.limits.p99DurationMs ?? Number.POSITIVE_INFINITY,
    ...requested,
  };
}

export class LocalReleases {
  private readonly deployments = new Map<string, Deployment>();
  private readonly latest = new Map<string, Deployment>();
  /** Per cell and function: the versions that were live, in order (a rollback returns to the one before). */
  private readonly lineage = new Map<string, Map<string, string[]>>();
  /** Release label of each published version, per cell and function. */
  private readonly labels = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly platform: LocalPlatform,
    /** Where the versions are kept across restarts. @default `<home>/versions.json` */
    private readonly record: VersionRecord = VersionRecord.in(platform.dataDir),
  ) {}

  /** Brings back the versions the last run had live (version-record.ts); removes builds no version needs. */
  async restore(log: (line: string) => void): Promise<void> {
    for (const [cellId, runtime] of this.platform.cells) {
      for (const [logicalId, fn] of await this.record.restore(runtime, cellId, log)) {
        this.lineageOf(cellId, logicalId).splice(0, Infinity, ...fn.lineage);
        for (const [version, label] of fn.labels) this.labels.set(`${cellId}/${logicalId}/${version}`, label);
        if (fn.lineage.at(-1) !== '1')
          log(
            `local: ${cellId}: ${functionRole(runtime.functionOf(logicalId).name)} back on v${fn.lineage.at(-1)}`,
          );
      }
    }
    this.record.pruneBuilds(path.join(this.platform.dataDir, 'builds'), this.platform.latestBuild());
  }

  /** Keeps the cell's live-version history of a function across restarts. */
  private saveLineage(cellId: string, logicalId: string): void {
    this.record.lineage(cellId, logicalId, this.lineageOf(cellId, logicalId));
  }

  close(): void {
    this.closed = true;
  }

  /** Starts a deployment of `release` on each cell; each goes on in the background. */
  deploy(request: DeployRequest): { deployments: Record<string, string> } {
    const problems = request.cells.flatMap((id) => {
      const runtime = this.platform.cells.get(id);
      if (!runtime) return [`unknown cell '${id}'`];
      if (!runtime.running) return [`cell ${id} is down`];
      const busy = this.latest.get(id);
      return busy && !busy.done ? [`cell ${id} is mid-deployment (${busy.id})`] : [];
    });
    if (problems.length > 0) throw new Error(problems.join('; '));
    const deployments: Record<string, string> = {};
    for (const cellId of request.cells) {
      const d = new Deployment(cellId, request.release, this.released(cellId));
      this.deployments.set(d.id, d);
      this.latest.set(cellId, d);
      deployments[cellId] = d.id;
      void this.run(d, request).catch((err: Error) => {
        d.returnTraffic();
        d.note(`failed: ${err.message}`);
        d.end('Failed', 'failed', err.message);
        this.retire(d, d.newVersions);
      });
    }
    return { deployments };
  }

  deployment(id: string, since = 0): DeploymentView {
    const d = this.deployments.get(id);
    if (!d) throw new Error(`unknown deployment '${id}'`);
    return d.view(since);
  }

  status(cellIds?: readonly string[]): CellReleaseView[] {
    const cells = this.platform.fleet.cells.filter((c) => !cellIds || cellIds.includes(c.id));
    return cells.map((cell) => {
      const runtime = this.runtime(cell.id);
      const d = this.latest.get(cell.id);
      const functions = this.released(cell.id).map((f) => {
        const lineage = this.lineageOf(cell.id, f.logicalId);
        const primary = f.alias.primaryVersion!.version;
        const prev = lineage.length > 1 ? lineage[lineage.length - 2] : undefined;
        return {
          logicalId: f.logicalId,
          name: f.name,
          weights: f.alias.weights(),
          release: this.labelOf(cell.id, f.logicalId, primary),
          liveExists: runtime.versionOf(f.logicalId, primary) !== undefined,
          ...(prev !== undefined && {
            previous: { version: prev, exists: runtime.versionOf(f.logicalId, prev) !== undefined },
          }),
        };
      });
      return {
        cellId: cell.id,
        wave: cell.wave,
        ...(runtime.problem && { unavailable: `the cell is down: ${runtime.problem}` }),
        functions,
        ...(d && !d.done && { deployment: { id: d.id, status: d.status, release: d.release } }),
        ...(d && { lastDeployment: d.view(d.events.length) }),
        alarms: this.alarms(cell.id),
      };
    });
  }

  /**
   * Puts the cell back on its previous versions: a deployment under way is stopped and its traffic
   * returned; otherwise every alias moves to the version that was live before.
   */
  rollback(cellId: string, reason: string): RollbackResult {
    const started = performance.now();
    const d = this.latest.get(cellId);
    if (d && !d.done) {
      const from = Object.fromEntries(d.functions.map((f) => [f.name, f.alias.weights().at(-1)!.version]));
      d.returnTraffic();
      d.note(`stopped and rolled back: ${reason}`);
      d.end('Stopped', 'rolled-back', reason);
      this.retire(d, d.newVersions);
      return {
        cellId,
        kind: 'stopped-deployment',
        from,
        to: Object.fromEntries(d.functions.map((f) => [f.name, d.from.get(f.logicalId)!.version])),
        ms: performance.now() - started,
      };
    }
    const runtime = this.runtime(cellId);
    const moves = this.released(cellId).map((f) => {
      const lineage = this.lineageOf(cellId, f.logicalId);
      const prev =
        lineage.length > 1 ? runtime.versionOf(f.logicalId, lineage[lineage.length - 2]) : undefined;
      if (!prev)
        throw new Error(`cell ${cellId}: ${functionRole(f.name)} has no previous version to return to`);
      return { f, prev, lineage };
    });
    const from: Record<string, string> = {};
    const to: Record<string, string> = {};
    for (const { f, prev, lineage } of moves) {
      from[f.name] = f.alias.primaryVersion!.version;
      f.alias.point(prev);
      lineage.pop();
      this.saveLineage(cellId, f.logicalId);
      to[f.name] = prev.version;
    }
    return { cellId, kind: 'alias', from, to, ms: performance.now() - started };
  }

  /** Moves every alias of the cell to the given versions (by function name): a drill's roll forward. */
  point(cellId: string, versions: Readonly<Record<string, string>>): RollbackResult {
    const started = performance.now();
    const runtime = this.runtime(cellId);
    const busy = this.latest.get(cellId);
    if (busy && !busy.done) throw new Error(`cell ${cellId} is mid-deployment (${busy.id})`);
    const moves = this.released(cellId).map((f) => {
      const want = versions[f.name];
      const target = want === undefined ? undefined : runtime.versionOf(f.logicalId, want);
      if (want !== undefined && !target)
        throw new Error(`cell ${cellId}: ${functionRole(f.name)} has no version ${want}`);
      return { f, target };
    });
    const from: Record<string, string> = {};
    const to: Record<string, string> = {};
    for (const { f, target } of moves) {
      if (!target) continue;
      from[f.name] = f.alias.primaryVersion!.version;
      f.alias.point(target);
      this.lineageOf(cellId, f.logicalId).push(target.version);
      this.saveLineage(cellId, f.logicalId);
      to[f.name] = target.version;
    }
    return { cellId, kind: 'alias', from, to, ms: performance.now() - started };
  }

  /** Sends a request to the cell's API: through its `live` alias, or to one version directly. */
  async invoke(cellId: string, qualifier: string, request: ApiRequest): Promise<ApiResponse> {
    const runtime = this.runtime(cellId);
    const api = this.released(cellId).find((f) => f.hooked) ?? this.released(cellId)[0];
    const target = qualifier === 'live' ? api.alias : runtime.versionOf(api.logicalId, qualifier);
    if (!target) throw new Error(`cell ${cellId}: ${api.name} has no version ${qualifier}`);
    const out = await target.invoke(functionUrlEvent(request, this.platform.secretOf(cellId)));
    const executed = 'executedVersion' in out ? String(out.executedVersion) : qualifier;
    if (out.error) {
      return {
        statusCode: 0,
        body: undefined,
        executedVersion: executed,
        error: `${out.error.errorType}: ${out.error.errorMessage}`,
      };
    }
    return toApiResponse(out.result, executed);
  }

  /** Build, publish, smoke test, shift: a failure throws (the caller returns the traffic). */
  private async run(d: Deployment, request: DeployRequest): Promise<void> {
    const runtime = this.runtime(d.cellId);
    const cell = this.platform.fleet.cells.find((c) => c.id === d.cellId)!;
    d.status = 'InProgress';
    await this.publish(d, request, runtime);
    if (d.done) return this.retire(d, d.newVersions);
    await this.smokeTest(d);
    if (d.done) return this.retire(d, d.newVersions);
    if (!(await this.shiftTraffic(d, cell.deployment, request))) return;
    for (const f of d.functions) {
      this.lineageOf(d.cellId, f.logicalId).push(d.to.get(f.logicalId)!.version);
      this.saveLineage(d.cellId, f.logicalId);
    }
    d.note(`100% on the new versions: succeeded`);
    d.end('Succeeded', 'succeeded');
    // Versions older than the one a rollback returns to take no traffic any more: free their workers.
    const unused = d.functions.flatMap((f) => {
      const keep = new Set(this.lineageOf(d.cellId, f.logicalId).slice(-2));
      return (runtime.published.get(f.logicalId) ?? []).filter((v) => !keep.has(v.version));
    });
    this.retire(d, unused);
  }

  /** Builds the release and publishes the next version of every released function from it, warmed. */
  private async publish(d: Deployment, request: DeployRequest, runtime: StackRuntime): Promise<void> {
    d.note(`building release ${d.release}`);
    const built = Date.now();
    const build = await this.platform.build(d.release);
    d.note(
      build.reused
        ? 'no source changed since the last build: reusing it'
        : `built in ${((Date.now() - built) / 1000).toFixed(1)} s`,
    );
    if (d.done) return;
    const stack = readAssembly(build.dir).cells.find((s) => s.cellId === d.cellId);
    if (!stack) throw new Error(`the build has no stack for cell ${d.cellId}`);
    for (const f of d.functions) {
      const fn = stack.functions.find((x) => x.logicalId === f.logicalId);
      if (!fn) throw new Error(`the build has no function ${f.logicalId} (${functionRole(f.name)})`);
      const env = { RELEASE: d.release, ...request.extraEnv };
      const version = runtime.publishVersion(fn, env);
      this.record.published(d.cellId, f.logicalId, version.version, { assembly: build.dir, env });
      d.to.set(f.logicalId, version);
      this.labels.set(`${d.cellId}/${f.logicalId}/${version.version}`, d.release);
    }
    const failedInit: string[] = [];
    await Promise.all(d.newVersions.map((v) => v.warm().catch((err: Error) => failedInit.push(err.message))));
    if (failedInit.length > 0) throw new Error(failedInit.join('; '));
    if (d.done) return;
    d.note(
      `published ${d.functions.map((f) => `${functionRole(f.name)} v${d.to.get(f.logicalId)!.version}`).join(', ')}`,
    );
  }

  /** The pre-traffic smoke test, on each hooked function's new version, before any traffic moves. */
  private async smokeTest(d: Deployment): Promise<void> {
    for (const f of d.functions.filter((x) => x.hooked)) {
      const version = d.to.get(f.logicalId)!;
      const smoke = await smokeTest(async (method, path, body) => {
        const out = await version.invoke(
          functionUrlEvent({ method, path, body, tenant: SMOKE_TENANT }, this.platform.secretOf(d.cellId)),
        );
        if (out.error) throw new Error(`${out.error.errorType}: ${out.error.errorMessage}`);
        const res = toApiResponse(out.result);
        return { statusCode: res.statusCode, body: res.body };
      });
      if (!smoke.ok) {
        const step = smoke.steps.find((s) => !s.ok)!;
        throw new Error(
          `smoke test of ${functionRole(f.name)} v${version.version} failed at '${step.step}': ${step.detail ?? ''}`,
        );
      }
      d.note(
        `smoke test passed on ${functionRole(f.name)} v${version.version} (${smoke.steps.length} steps)`,
      );
    }
  }

  /** Shifts the aliases per the cell's deployment config; false when it ended otherwise than shifted. */
  private async shiftTraffic(
    d: Deployment,
    settings: Required<DeploymentSettings>,
    request: DeployRequest,
  ): Promise<boolean> {
    const steps = trafficSteps(settings);
    const timeScale = request.timeScale ?? this.platform.timeScale;
    const outcome = await runTrafficShift(
      steps,
      {
        shift: (step, first) => {
          for (const f of d.functions) {
            const next = d.to.get(f.logicalId)!;
            if (step.weight >= 1) f.alias.point(next);
            else f.alias.shift(next, step.weight);
            if (first) f.alias.resetMetrics(next.version);
          }
          d.timings.shiftStartedAt ??= Date.now();
          d.note(`${pct(step.weight)} of the traffic on the new versions${shiftEta(steps, step, timeScale)}`);
        },
        health: () =>
          d.functions.map((f) => ({
            name: f.name,
            metrics: canaryMetrics(f.alias, d.to.get(f.logicalId), d.to.get(f.logicalId)!.version),
            thresholds: thresholdsOf(f, request.thresholds),
          })),
        stopped: () => d.done || this.closed,
        sleep,
        now: Date.now,
      },
      { timeScale, watchMs: WATCH_MS },
    );
    if (outcome.result === 'rolled-back') {
      d.returnTraffic();
      d.note(`rolled back automatically: ${outcome.reason}`);
      d.end('Failed', 'rolled-back', outcome.reason);
      this.retire(d, d.newVersions);
    }
    return outcome.result === 'shifted';
  }

  /** Live versions over their functions' release limits: the local counterpart of the per-version alarms. */
  private alarms(cellId: string): string[] {
    return overThresholds(
      this.released(cellId).flatMap((f) =>
        f.alias.weights().map(({ version }) => ({
          name: f.name,
          metrics: canaryMetrics(f.alias, this.runtime(cellId).versionOf(f.logicalId, version), version),
          thresholds: thresholdsOf(f),
        })),
      ),
    );
  }

  /** Stops the workers of versions that take no traffic, once every invocation they were given is answered. */
  private retire(d: Deployment, versions: readonly LocalFunctionVersion[]): void {
    const live = new Set(d.functions.flatMap((f) => f.alias.weights().map((w) => `${f.name}:${w.version}`)));
    for (const v of versions) if (!live.has(`${v.name}:${v.version}`)) v.stopWhenIdle();
  }

  private runtime(cellId: string): StackRuntime {
    const runtime = this.platform.cells.get(cellId);
    if (!runtime)
      throw new Error(`unknown cell '${cellId}'; cells: ${[...this.platform.cells.keys()].join(', ')}`);
    return runtime;
  }

  private released(cellId: string): ReleasedFunction[] {
    const runtime = this.runtime(cellId);
    return runtime.stack.aliases
      .filter((a) => a.deploymentGroup)
      .map((a) => ({
        logicalId: a.functionLogicalId,
        name: runtime.functionOf(a.functionLogicalId).name,
        alias: runtime.aliases.get(a.functionLogicalId)!,
        hooked: a.preTrafficHookLogicalId !== undefined,
        limits: a.releaseLimits ?? {},
      }));
  }

  private lineageOf(cellId: string, logicalId: string): string[] {
    let cell = this.lineage.get(cellId);
    if (!cell) {
      cell = new Map();
      this.lineage.set(cellId, cell);
    }
    let list = cell.get(logicalId);
    if (!list) {
      list = [this.runtime(cellId).aliases.get(logicalId)!.primaryVersion!.version];
      cell.set(logicalId, list);
    }
    return list;
  }

  private labelOf(cellId: string, logicalId: string, version: string): string | undefined {
    const known = this.labels.get(`${cellId}/${logicalId}/${version}`);
    if (known) return known;
    const release = this.runtime(cellId).functionOf(logicalId).environment.RELEASE;
    return version === '1' && typeof release === 'string' ? release : undefined;
  }
}

const text = (body: Record<string, unknown>, key: string): string => {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw new Error(`'${key}' is required`);
  return value;
};

/** `POST /control/release-*`: the release tooling's view of the platform. */
export function registerReleaseHandlers(control: ControlServer, releases: LocalReleases): void {
  control.handle('release-deploy', async (body) =>
    releases.deploy({
      release: text(body, 'release'),
      cells: (body.cells as string[] | undefined) ?? [],
      ...(typeof body.timeScale === 'number' && { timeScale: body.timeScale }),
      ...(body.extraEnv !== undefined && { extraEnv: body.extraEnv as Record<string, string> }),
      ...(body.thresholds !== undefined && { thresholds: body.thresholds as Partial<CanaryThresholds> }),
    }),
  );
  control.handle('release-deployment', async (body) =>
    releases.deployment(text(body, 'id'), typeof body.since === 'number' ? body.since : 0),
  );
  control.handle('release-status', async (body) => ({
    cells: releases.status(body.cells as string[] | undefined),
  }));
  control.handle('release-rollback', async (body) =>
    releases.rollback(text(body, 'cell'), text(body, 'reason')),
  );
  control.handle('release-point', async (body) =>
    releases.point(text(body, 'cell'), (body.versions ?? {}) as Record<string, string>),
  );
  control.handle('release-invoke', async (body) =>
    releases.invoke(text(body, 'cell'), text(body, 'qualifier'), body.request as ApiRequest),
  );
}
