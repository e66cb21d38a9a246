/**
 * Running a release plan over injected ports: waves in order, a wave's cells in parallel, a bake between
 * waves while its alarms are watched, the drill gate, and the stop-the-line latch.
 */
import { type DrillRecord, drillGate } from './drill-gate';
import type { CellOutcome } from './outcomes';
import type { ReleaseCell, ReleasePlan, WavePlan } from './plan';
import { scaledMs } from './traffic-steps';

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
  | { readonly type: 'bake-started'; readonly wave: number; readonly ms: number; readonly until: number }
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

/** The drill gate before a wave past 0: a reason to stop the line, or none. */
async function gateBefore<C extends ReleaseCell>(
  label: string,
  wave: WavePlan<C>,
  ports: ReleasePorts<C>,
): Promise<string | undefined> {
  if (wave.wave === 0) return undefined;
  const gate = drillGate(label, await ports.drills());
  if (gate.state === 'failed') return `${gate.reason}: not promoted past wave 0`;
  if (gate.state === 'missing') {
    return (
      `${gate.reason}: not promoted past wave 0 (release wave 0, which runs the drill, ` +
      'or run `bulkhead drill rollback`)'
    );
  }
  return undefined;
}

/** Wave 0 rehearses the rollback (roll back, verify, roll forward) unless a drill of this release passed. */
async function drillWaveZero<C extends ReleaseCell>(
  label: string,
  wave: WavePlan<C>,
  outcomes: readonly CellOutcome[],
  ports: ReleasePorts<C>,
  emit: (e: ReleaseProgress) => void,
): Promise<string | undefined> {
  const drillCell = wave.cells.find((c) =>
    outcomes.some((o) => o.cellId === c.id && o.result === 'succeeded'),
  );
  if (!drillCell || wave.wave !== 0 || !ports.drill) return undefined;
  if (drillGate(label, await ports.drills()).state === 'passed') return undefined;
  emit({ type: 'drill', wave: wave.wave, cellId: drillCell.id });
  const gate = drillGate(label, [await ports.drill(drillCell)]);
  return gate.state === 'failed' ? `${gate.reason}: not promoted past wave 0` : undefined;
}

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
  const halt = (reason: string | undefined) => {
    if (reason === undefined) return;
    const first = !line.halted;
    line.trip(reason);
    if (first) emit({ type: 'halted', reason: line.reason! });
  };

  for (let i = 0; i < plan.waves.length; i++) {
    const wave = plan.waves[i];
    const ids = wave.cells.map((c) => c.id);
    if (!line.halted) halt(await gateBefore(plan.label, wave, ports));
    if (line.halted) {
      reports.push({ wave: wave.wave, cells: ids, state: 'skipped', outcomes: [] });
      continue;
    }
    emit({ type: 'wave-started', wave: wave.wave, cells: ids });
    const outcomes = await ports.deployWave(wave);
    emit({ type: 'wave-finished', wave: wave.wave, outcomes });
    for (const o of outcomes)
      if (o.result === 'succeeded' || o.result === 'created' || o.result === 'unchanged')
        reached.add(o.cellId);
    const bad = outcomes.filter(failed);
    if (bad.length > 0) {
      halt(
        `wave ${wave.wave}: ` +
          bad.map((o) => `cell ${o.cellId} ${o.result}${o.reason ? ` (${o.reason})` : ''}`).join('; '),
      );
      reports.push({ wave: wave.wave, cells: ids, state: 'failed', outcomes });
      continue;
    }
    halt(await drillWaveZero(plan.label, wave, outcomes, ports, emit));
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
  const deadline = started + ms;
  emit({ type: 'bake-started', wave: wave.wave, ms, until: deadline });
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
