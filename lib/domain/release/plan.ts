/** The plan of a release: the selected cells grouped by wave, in wave order, and a fleet-wide rollback's order. */
import type { DeploymentSettings } from '../../config/types';

/** What a release needs to know about a cell (a subset of the fleet file's `Cell`). */
export interface ReleaseCell {
  readonly id: string;
  readonly wave: number;
  readonly deployment: Required<DeploymentSettings>;
  readonly bakeMinutes: number;
}

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
