/** What acting on one cell came to: a deployment's outcome, a rollback's result. */

/** `created`: the cell's stack did not exist before this deployment (a new cell). */
export type CellResult = 'succeeded' | 'created' | 'unchanged' | 'failed' | 'rolled-back';

export interface CellOutcome {
  readonly cellId: string;
  readonly result: CellResult;
  readonly reason?: string;
  /** Versions before and after, per released function. */
  readonly from?: Readonly<Record<string, string>>;
  readonly to?: Readonly<Record<string, string>>;
  readonly durationMs?: number;
}

/**
 * A rollback (or a drill's roll forward) of one cell. Declared here, below both, so the release port and
 * the local platform's deployer answer with the one type.
 */
export interface RollbackResult {
  readonly cellId: string;
  /** `stopped-deployment`: a deployment under way was stopped and rolled back by the deployer. */
  readonly kind: 'stopped-deployment' | 'alias';
  readonly from: Readonly<Record<string, string>>;
  readonly to: Readonly<Record<string, string>>;
  /** Until traffic was back on the previous versions. */
  readonly ms: number;
  /** What else was done to keep the record straight (AWS: CloudFormation re-anchored). */
  readonly notes?: readonly string[];
}
