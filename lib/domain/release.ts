/**
 * Releases, as plain data and functions over injected ports (no AWS, no HTTP here): the plan (waves in
 * order, a wave's cells in parallel, a bake between waves), rollback readiness, the traffic steps of a
 * cell's deployment, canary analysis of the new version, the stop-the-line latch, the drill gate and the
 * order of a fleet-wide rollback. `bulkhead release|rollback|drill` run these over an AWS or a local target.
 */
import type { DeploymentSettings } from '../config/types';

/** What a release needs to know about a cell (a subset of the fleet file's `Cell`). */
export interface ReleaseCell {
  readonly id: string;
  readonly wave: number;
  readonly deployment: Required<DeploymentSettings>;
  readonly bakeMinutes: number;
}

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

export interface WavePlan<C extends ReleaseCell = ReleaseCell> {
  readonly wave: number;
  readonly cells: readonly C[];
  /** Minutes to watch this wave's alarms before the next wave starts (the longest of its cells'). */
  readonly bakeMinutes: number;
}

export interface ReleasePlan<C extends ReleaseCell = ReleaseCell> {
  readonly label: string;
  /** In release order (ascending wave number). */
  readonly waves: readonly WavePlan<C>[];
}

export interface PlanOptions {
  readonly label: string;
  /** Only these waves. @default every wave */
  readonly waves?: readonly number[];
  /** Only these cells. @default every cell of the selected waves */
  readonly cells?: readonly string[];
}

export type PlanResult<C extends ReleaseCell> =
  | { readonly ok: true; readonly plan: ReleasePlan<C> }
  | { readonly ok: false; readonly problems: readonly string[] };

/** A release label: it names the build, shows in every response (`x-bulkhead-version`) and in the log. */
export const RELEASE_LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Groups the selected cells by wave, in wave order; every problem with the selection at once. */
export function planRelease<C extends ReleaseCell>(cells: readonly C[], options: PlanOptions): PlanResult<C> {
  const problems: string[] = [];
  if (!RELEASE_LABEL.test(options.label)) {
    problems.push(
      `release label "${options.label}": allowed are 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  const known = [...new Set(cells.map((c) => c.wave))].sort((a, b) => a - b);
  for (const w of options.waves ?? []) {
    if (!known.includes(w)) problems.push(`wave ${w}: no cell is in it; waves: ${known.join(', ')}`);
  }
  for (const id of options.cells ?? []) {
    if (!cells.some((c) => c.id === id)) {
      problems.push(`cell ${id}: not in the fleet; cells: ${cells.map((c) => c.id).join(', ')}`);
    }
  }
  const selected = cells.filter(
    (c) =>
      (options.waves === undefined || options.waves.includes(c.wave)) &&
      (options.cells === undefined || options.cells.includes(c.id)),
  );
  if (problems.length === 0 && selected.length === 0) {
    problems.push(
      `no cell is both in waves ${options.waves?.join(',')} and in cells ${options.cells?.join(',')}`,
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  const waves = [...new Set(selected.map((c) => c.wave))]
    .sort((a, b) => a - b)
    .map((wave) => {
      const inWave = selected.filter((c) => c.wave === wave);
      return { wave, cells: inWave, bakeMinutes: Math.max(...inWave.map((c) => c.bakeMinutes)) };
    });
  return { ok: true, plan: { label: options.label, waves } };
}

/** A fleet-wide rollback: the cells a release reached, grouped by wave, latest wave first. */
export function rollbackOrder<C extends Pick<ReleaseCell, 'id' | 'wave'>>(cells: readonly C[]): C[][] {
  const waves = [...new Set(cells.map((c) => c.wave))].sort((a, b) => b - a);
  return waves.map((w) => cells.filter((c) => c.wave === w));
}

// ---------------------------------------------------------------------------------------------
// Traffic shifting inside one cell
// ---------------------------------------------------------------------------------------------

export interface ShiftStep {
  /** The new version's share of the traffic, 0..1. */
  readonly weight: number;
  /** Minutes to hold this share (watching the new version) before the next step. */
  readonly holdMinutes: number;
}

/**
 * The steps CodeDeploy takes for a deployment config: canary (`percent` for `intervalMinutes`, then
 * all), linear (`percent` more every `intervalMinutes` until all), or all at once.
 */
export function trafficSteps(d: Required<DeploymentSettings>): ShiftStep[] {
  if (d.type === 'allAtOnce' || d.percent >= 100) return [{ weight: 1, holdMinutes: 0 }];
  if (d.type === 'canary') {
    return [
      { weight: d.percent / 100, holdMinutes: d.intervalMinutes },
      { weight: 1, holdMinutes: 0 },
    ];
  }
  const steps: ShiftStep[] = [];
  for (let p = d.percent; p < 100; p += d.percent) {
    steps.push({ weight: Math.round(p * 100) / 10_000, holdMinutes: d.intervalMinutes });
  }
  steps.push({ weight: 1, holdMinutes: 0 });
  return steps;
}

/** Real milliseconds for `minutes` of release time, compressed by `timeScale` (60: a minute takes a second). */
export const scaledMs = (minutes: number, timeScale: number): number =>
  Math.round((minutes * 60_000) / timeScale);

// ---------------------------------------------------------------------------------------------
// Canary analysis
// ---------------------------------------------------------------------------------------------

/** One version's recent health, as an alias sees it (CloudWatch's `ExecutedVersion` dimension). */
export interface VersionHealth {
  readonly version: string;
  readonly invocations: number;
  readonly errors: number;
  readonly p99Ms: number;
}

export interface CanaryMetrics {
  /** The version being shifted to: the only one judged. */
  readonly newVersion: string;
  readonly versions: readonly VersionHealth[];
}

export interface CanaryThresholds {
  /** Share of failed invocations (errors and 5xx) of the new version that rolls it back. */
  readonly maxErrorRate: number;
  /** p99 duration of the new version, in ms, that rolls it back. */
  readonly maxP99Ms: number;
  /** Fewer invocations than this say nothing yet (as missing data does not breach an alarm). */
  readonly minInvocations: number;
}

/** The release construct's p99 alarm (3000 ms); an error share a single unlucky request cannot reach. */
export const DEFAULT_CANARY_THRESHOLDS: CanaryThresholds = {
  maxErrorRate: 0.05,
  maxP99Ms: 3000,
  minInvocations: 5,
};

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

/**
 * Canary analysis: rolls back when the NEW version's error rate or p99 is over its threshold. The
 * previous version's health is not looked at: its errors are not the new version's fault, and a healthy
 * old version must not hide a failing new one.
 */
export function judge(
  metrics: CanaryMetrics,
  thresholds: CanaryThresholds = DEFAULT_CANARY_THRESHOLDS,
): Verdict {
  const m = metrics.versions.find((v) => v.version === metrics.newVersion);
  if (!m || m.invocations < thresholds.minInvocations) return { ok: true };
  const rate = m.errors / m.invocations;
  if (rate > thresholds.maxErrorRate) {
    return {
      ok: false,
      reason:
        `version ${m.version}: error rate ${pct(rate)} (${m.errors} of ${m.invocations}) ` +
        `is over ${pct(thresholds.maxErrorRate)}`,
    };
  }
  if (m.p99Ms > thresholds.maxP99Ms) {
    return {
      ok: false,
      reason: `version ${m.version}: p99 ${Math.round(m.p99Ms)} ms is over ${thresholds.maxP99Ms} ms`,
    };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Rollback readiness
// ---------------------------------------------------------------------------------------------

export interface VersionWeight {
  readonly version: string;
  readonly weight: number;
}

/** One released function of a cell (its `live` alias), as the target reports it. */
export interface FunctionReleaseState {
  readonly name: string;
  /** The alias's versions and weights, primary first; two entries while it is split. */
  readonly weights: readonly VersionWeight[];
  /** The release label of the primary version, when known. */
  readonly release?: string;
  /** Whether the primary version still exists as a numbered version (a release's rollback target). */
  readonly liveExists: boolean;
  /** The version a rollback now returns to, and whether it still exists. */
  readonly previous?: { readonly version: string; readonly exists: boolean };
  /** The version the infrastructure's own record (CloudFormation) has the alias on. @default - not tracked */
  readonly recordedVersion?: string;
}

export interface CellReleaseState {
  readonly cellId: string;
  /** Why the cell cannot be acted on at all (down, stack missing). */
  readonly unavailable?: string;
  readonly functions: readonly FunctionReleaseState[];
  /** A deployment under way. */
  readonly deployment?: { readonly id: string; readonly status: string; readonly release?: string };
}

const describeWeights = (w: readonly VersionWeight[]): string =>
  w.map((v) => `${v.version} (${pct(v.weight)})`).join(' and ');

function aliasProblems(cell: CellReleaseState): string[] {
  const problems: string[] = [];
  for (const f of cell.functions) {
    const primary = f.weights[0]?.version;
    if (f.weights.length > 1) {
      problems.push(
        `cell ${cell.cellId}: ${f.name}'s live alias is split between versions ${describeWeights(f.weights)}`,
      );
    }
    if (primary !== undefined && f.recordedVersion !== undefined && f.recordedVersion !== primary) {
      problems.push(
        `cell ${cell.cellId}: ${f.name}'s live alias is on version ${primary} but CloudFormation has version ` +
          `${f.recordedVersion} (moved outside CloudFormation): re-anchor it with \`bulkhead rollback --cell ${cell.cellId}\``,
      );
    }
  }
  return problems;
}

/**
 * Why a release may not start on this cell ("rollback readiness"): a deployment under way, an alias
 * split between versions or drifted from the infrastructure's record, or no version to roll back to
 * (the live version gone, or `$LATEST`, which every deploy changes).
 */
export function releaseReadiness(cell: CellReleaseState): string[] {
  if (cell.unavailable) return [`cell ${cell.cellId}: ${cell.unavailable}`];
  const problems: string[] = [];
  if (cell.deployment) {
    problems.push(
      `cell ${cell.cellId} is mid-deployment (${cell.deployment.id} ${cell.deployment.status}` +
        `${cell.deployment.release ? `, release ${cell.deployment.release}` : ''})`,
    );
  }
  problems.push(...aliasProblems(cell));
  for (const f of cell.functions) {
    const primary = f.weights[0]?.version;
    if (primary === undefined) problems.push(`cell ${cell.cellId}: ${f.name} has no live alias`);
    else if (!/^\d+$/.test(primary)) {
      problems.push(
        `cell ${cell.cellId}: ${f.name}'s live alias points at ${primary}, which changes with every deploy: a rollback would have nowhere to go`,
      );
    } else if (!f.liveExists) {
      problems.push(
        `cell ${cell.cellId}: ${f.name}'s previous version ${primary} (the one a rollback returns to) is gone`,
      );
    }
  }
  return problems;
}

/** Why the cell cannot be rolled back now; a deployment under way is fine (it is stopped with rollback). */
export function rollbackReadiness(cell: CellReleaseState): string[] {
  if (cell.unavailable) return [`cell ${cell.cellId}: ${cell.unavailable}`];
  if (cell.deployment) return [];
  const problems: string[] = [];
  for (const f of cell.functions) {
    const primary = f.weights[0]?.version;
    // Drifted: an earlier rollback moved the alias but did not re-anchor; rolling back finishes that.
    if (f.recordedVersion !== undefined && f.recordedVersion !== primary) continue;
    if (!f.previous) {
      problems.push(
        `cell ${cell.cellId}: ${f.name} has no previous version to return to (live: ${primary ?? 'none'})`,
      );
    } else if (!f.previous.exists) {
      problems.push(`cell ${cell.cellId}: ${f.name}'s previous version ${f.previous.version} is gone`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The drill gate
// ---------------------------------------------------------------------------------------------

export interface DrillRecord {
  readonly release: string;
  readonly ok: boolean;
  readonly at: string;
  readonly cell?: string;
  readonly reason?: string;
}

export type GateResult =
  | { readonly state: 'passed'; readonly drill: DrillRecord }
  | { readonly state: 'failed'; readonly drill: DrillRecord; readonly reason: string }
  | { readonly state: 'missing'; readonly reason: string };

/**
 * A release goes past wave 0 only if its latest rollback drill passed: a release whose rollback was
 * rehearsed and failed must not reach more cells.
 */
export function drillGate(label: string, drills: readonly DrillRecord[]): GateResult {
  const latest = drills
    .filter((d) => d.release === label)
    .sort((a, b) => a.at.localeCompare(b.at))
    .at(-1);
  if (!latest) return { state: 'missing', reason: `no rollback drill of release ${label} is recorded` };
  if (latest.ok) return { state: 'passed', drill: latest };
  return {
    state: 'failed',
    drill: latest,
    reason:
      `the rollback drill of release ${label}${latest.cell ? ` on cell ${latest.cell}` : ''} failed at ` +
      `${latest.at}${latest.reason ? `: ${latest.reason}` : ''}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Running a release: waves, bake, stop the line
// ---------------------------------------------------------------------------------------------

/** The latch: the first reason to stop wins, and once stopped the line stays stopped. */
export class StopTheLine {
  private why?: string;

  trip(reason: string): void {
    this.why ??= reason;
  }

  get halted(): boolean {
    return this.why !== undefined;
  }

  get reason(): string | undefined {
    return this.why;
  }
}

export type CellResult = 'succeeded' | 'unchanged' | 'failed' | 'rolled-back';

export interface CellOutcome {
  readonly cellId: string;
  readonly result: CellResult;
  readonly reason?: string;
  /** Versions before and after, per released function. */
  readonly from?: Readonly<Record<string, string>>;
  readonly to?: Readonly<Record<string, string>>;
  readonly durationMs?: number;
}

export interface WaveReport {
  readonly wave: number;
  readonly cells: readonly string[];
  readonly state: 'released' | 'failed' | 'skipped';
  readonly outcomes: readonly CellOutcome[];
  /** Bake watched after the wave (ms), when one ran. */
  readonly bakedMs?: number;
  readonly alarms?: readonly { readonly cellId: string; readonly alarms: readonly string[] }[];
}

export interface ReleaseReport {
  readonly release: string;
  readonly state: 'succeeded' | 'halted';
  readonly haltReason?: string;
  readonly waves: readonly WaveReport[];
  /** Cells now on the release. */
  readonly reached: readonly string[];
  readonly durationMs: number;
}

export type ReleaseProgress =
  | { readonly type: 'wave-started'; readonly wave: number; readonly cells: readonly string[] }
  | { readonly type: 'wave-finished'; readonly wave: number; readonly outcomes: readonly CellOutcome[] }
  | { readonly type: 'bake-started'; readonly wave: number; readonly ms: number }
  | { readonly type: 'bake-finished'; readonly wave: number }
  | {
      readonly type: 'alarm';
      readonly wave: number;
      readonly cellId: string;
      readonly alarms: readonly string[];
    }
  | { readonly type: 'drill'; readonly wave: number; readonly cellId: string }
  | { readonly type: 'halted'; readonly reason: string };

export interface ReleasePorts<C extends ReleaseCell> {
  /** Deploys the wave's cells in parallel; resolves with every cell's outcome once all have ended. */
  deployWave(wave: WavePlan<C>): Promise<CellOutcome[]>;
  /** Alarms firing in each cell (per-version alarms included). */
  alarms(cells: readonly C[]): Promise<{ cellId: string; alarms: string[] }[]>;
  /** Puts a cell back on its previous version (an alarm fired while it baked). */
  rollback(cell: C, reason: string): Promise<void>;
  /** The release's rollback drills recorded so far. */
  drills(): Promise<DrillRecord[]>;
  /** Runs the rollback drill on a cell that has the release (release done, so: roll back, verify, roll forward). */
  drill?(cell: C): Promise<DrillRecord>;
  sleep(ms: number): Promise<void>;
  now(): number;
  onProgress?(event: ReleaseProgress): void;
}

export interface RunOptions {
  /** @default 1 */
  readonly timeScale?: number;
  /** How often alarms are read while a wave bakes (real ms). @default 5000 */
  readonly alarmPollMs?: number;
  /** Trips the line from outside (an operator's Ctrl-C). */
  readonly line?: StopTheLine;
}

const failed = (o: CellOutcome): boolean => o.result === 'failed' || o.result === 'rolled-back';

/**
 * Runs a release plan: wave by wave, the cells of a wave in parallel; between waves the wave bakes while
 * its alarms are watched. Any failed or rolled-back cell, any alarm, or a failed rollback drill stops the
 * line: later waves are skipped, and the report says why.
 */
export async function runRelease<C extends ReleaseCell>(
  plan: ReleasePlan<C>,
  ports: ReleasePorts<C>,
  options: RunOptions = {},
): Promise<ReleaseReport> {
  const started = ports.now();
  const timeScale = options.timeScale ?? 1;
  const line = options.line ?? new StopTheLine();
  const emit = (e: ReleaseProgress) => ports.onProgress?.(e);
  const reports: WaveReport[] = [];
  const reached = new Set<string>();
  const halt = (reason: string) => {
    const first = !line.halted;
    line.trip(reason);
    if (first) emit({ type: 'halted', reason: line.reason! });
  };

  for (let i = 0; i < plan.waves.length; i++) {
    const wave = plan.waves[i];
    const ids = wave.cells.map((c) => c.id);
    // The drill gate: no wave past 0 without a passing rollback drill of this release.
    if (wave.wave > 0 && !line.halted) {
      const gate = drillGate(plan.label, await ports.drills());
      if (gate.state === 'failed') halt(`${gate.reason}: not promoted past wave 0`);
      if (gate.state === 'missing') {
        halt(
          `${gate.reason}: not promoted past wave 0 (release wave 0, which runs the drill, ` +
            'or run `bulkhead drill rollback`)',
        );
      }
    }
    if (line.halted) {
      reports.push({ wave: wave.wave, cells: ids, state: 'skipped', outcomes: [] });
      continue;
    }
    emit({ type: 'wave-started', wave: wave.wave, cells: ids });
    const outcomes = await ports.deployWave(wave);
    emit({ type: 'wave-finished', wave: wave.wave, outcomes });
    for (const o of outcomes) if (o.result === 'succeeded' || o.result === 'unchanged') reached.add(o.cellId);
    const bad = outcomes.filter(failed);
    if (bad.length > 0) {
      halt(
        `wave ${wave.wave}: ` +
          bad.map((o) => `cell ${o.cellId} ${o.result}${o.reason ? ` (${o.reason})` : ''}`).join('; '),
      );
      reports.push({ wave: wave.wave, cells: ids, state: 'failed', outcomes });
      continue;
    }
    // Wave 0 rehearses the rollback (roll back, verify, roll forward) unless a drill of this release passed.
    const drillCell = wave.cells.find((c) =>
      outcomes.some((o) => o.cellId === c.id && o.result === 'succeeded'),
    );
    if (
      drillCell &&
      wave.wave === 0 &&
      ports.drill &&
      drillGate(plan.label, await ports.drills()).state !== 'passed'
    ) {
      emit({ type: 'drill', wave: wave.wave, cellId: drillCell.id });
      const drill = await ports.drill(drillCell);
      const gate = drillGate(plan.label, [drill]);
      if (gate.state === 'failed') halt(`${gate.reason}: not promoted past wave 0`);
    }
    const next = plan.waves[i + 1];
    if (!next || line.halted) {
      reports.push({ wave: wave.wave, cells: ids, state: 'released', outcomes });
      continue;
    }
    const pollMs = options.alarmPollMs ?? 5000;
    const bake = await bakeWave(wave, ports, scaledMs(wave.bakeMinutes, timeScale), pollMs, line, emit);
    for (const { cellId } of bake.alarms) reached.delete(cellId);
    if (bake.alarms.length > 0) {
      halt(
        `wave ${wave.wave} alarmed while baking: ` +
          bake.alarms.map((a) => `cell ${a.cellId} (${a.alarms.join(', ')})`).join('; '),
      );
    }
    reports.push({
      wave: wave.wave,
      cells: ids,
      state: bake.alarms.length > 0 ? 'failed' : 'released',
      outcomes,
      bakedMs: bake.ms,
      ...(bake.alarms.length > 0 && { alarms: bake.alarms }),
    });
  }
  return {
    release: plan.label,
    state: line.halted ? 'halted' : 'succeeded',
    ...(line.halted && { haltReason: line.reason }),
    waves: reports,
    reached: [...reached],
    durationMs: ports.now() - started,
  };
}

/** Watches a wave's alarms for `ms`; cells that alarm are rolled back at once. */
async function bakeWave<C extends ReleaseCell>(
  wave: WavePlan<C>,
  ports: ReleasePorts<C>,
  ms: number,
  pollMs: number,
  line: StopTheLine,
  emit: (e: ReleaseProgress) => void,
): Promise<{ ms: number; alarms: { cellId: string; alarms: string[] }[] }> {
  const started = ports.now();
  emit({ type: 'bake-started', wave: wave.wave, ms });
  const deadline = started + ms;
  for (;;) {
    const firing = (await ports.alarms(wave.cells)).filter((a) => a.alarms.length > 0);
    if (firing.length > 0) {
      for (const a of firing) emit({ type: 'alarm', wave: wave.wave, cellId: a.cellId, alarms: a.alarms });
      const reason = (a: { alarms: string[] }) => `alarm while baking: ${a.alarms.join(', ')}`;
      await Promise.all(
        firing.map((a) =>
          ports.rollback(
            wave.cells.find((c) => c.id === a.cellId)!,
            reason(a),
          ),
        ),
      );
      return { ms: ports.now() - started, alarms: firing };
    }
    const left = deadline - ports.now();
    if (left <= 0 || line.halted) break;
    await ports.sleep(Math.min(pollMs, left));
  }
  emit({ type: 'bake-finished', wave: wave.wave });
  return { ms: ports.now() - started, alarms: [] };
}
