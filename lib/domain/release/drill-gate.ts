/** The drill gate: a release goes past wave 0 only with a passing rollback drill on record. */

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
