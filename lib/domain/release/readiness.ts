/** Whether a cell may be released to or rolled back now, from its release state as a target reports it. */
import { functionRole } from '../../contracts/names';

import { percent } from './percent';

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
  w.map((v) => `${v.version} (${percent(v.weight)})`).join(' and ');

function aliasProblems(cell: CellReleaseState): string[] {
  const problems: string[] = [];
  for (const f of cell.functions) {
    const primary = f.weights[0]?.version;
    if (f.weights.length > 1) {
      problems.push(
        `cell ${cell.cellId}: ${functionRole(f.name)}'s live alias is split between versions ${describeWeights(f.weights)}`,
      );
    }
    if (primary !== undefined && f.recordedVersion !== undefined && f.recordedVersion !== primary) {
      problems.push(
        `cell ${cell.cellId}: ${functionRole(f.name)}'s live alias is on version ${primary} but CloudFormation has version ` +
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
    if (primary === undefined)
      problems.push(`cell ${cell.cellId}: ${functionRole(f.name)} has no live alias`);
    else if (!/^\d+$/.test(primary)) {
      problems.push(
        `cell ${cell.cellId}: ${functionRole(f.name)}'s live alias points at ${primary}, which changes with every deploy: a rollback would have nowhere to go`,
      );
    } else if (!f.liveExists) {
      problems.push(
        `cell ${cell.cellId}: ${functionRole(f.name)}'s previous version ${primary} (the one a rollback returns to) is gone`,
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
        `cell ${cell.cellId}: ${functionRole(f.name)} has no previous version to return to (live: ${primary ?? 'none'})`,
      );
    } else if (!f.previous.exists) {
      problems.push(
        `cell ${cell.cellId}: ${functionRole(f.name)}'s previous version ${f.previous.version} is gone`,
      );
    }
  }
  return problems;
}

/** The release labels a cell is on: its live versions' (any function), and its deployment's under way. */
export function releasesOn(cell: CellReleaseState): Set<string> {
  return new Set([
    ...cell.functions.flatMap((f) => (f.release ? [f.release] : [])),
    ...(cell.deployment?.release ? [cell.deployment.release] : []),
  ]);
}
