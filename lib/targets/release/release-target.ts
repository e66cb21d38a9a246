/**
 * The release port: what release orchestration (`lib/release`) needs from a Bulkhead installation, on
 * AWS or local: per cell its release state, deploying a release and following it, rolling back, alarms,
 * direct calls to one version of the cell's API (drills), the release log and the cells' release locks. `aws-release-target.ts`
 * and `local-release-target.ts` only say how each step is done there; `test/contracts` holds them to it.
 */
import type { Cell } from '../../config/types';
import type { ApiRequest, ApiResponse } from '../../contracts/api-event';
import type { CellReleaseState, CellResult, RollbackResult } from '../../domain/release';

import type { ReleaseLog } from './release-log';
import type { LockStore } from './release-store';

export { ReleaseLog } from './release-log';

export type { RollbackResult } from '../../domain/release';

export interface DeploySpec {
  readonly release: string;
  /** Deployment minutes per real minute (local only: CodeDeploy keeps its own time). */
  readonly timeScale?: number;
  /** Added to every new version's environment: the bad-release drill's fault (local only). */
  readonly extraEnv?: Readonly<Record<string, string>>;
}

export type DeployEvent =
  | { readonly type: 'progress'; readonly cellId: string; readonly message: string }
  | {
      readonly type: 'done';
      readonly cellId: string;
      readonly result: CellResult;
      readonly reason?: string;
      /** Versions before and after, by function name. */
      readonly from?: Readonly<Record<string, string>>;
      readonly to?: Readonly<Record<string, string>>;
      readonly durationMs: number;
      /** Epoch ms of the first traffic on the new version, and of its return to the previous one. */
      readonly shiftStartedAt?: number;
      readonly rolledBackAt?: number;
    };

export interface CellStatus extends CellReleaseState {
  readonly wave: number;
  /** The latest deployment, finished or not. */
  readonly lastDeployment?: {
    readonly id: string;
    readonly status: string;
    readonly release?: string;
    readonly result?: string;
    readonly reason?: string;
  };
}

export interface ReleaseTarget {
  readonly kind: 'aws' | 'local';
  readonly description: string;
  /** With `previous`, also the version a rollback would return to (costs more calls on AWS). */
  status(cell: Cell, options?: { readonly previous?: boolean }): Promise<CellStatus>;
  /** Starts deploying a release to the cells of one wave; `follow` each cell to its end. */
  deploy(cells: readonly Cell[], spec: DeploySpec): Promise<void>;
  /** Progress of the cell's deployment started by `deploy`, ending with one `done` event. */
  follow(cell: Cell): AsyncIterable<DeployEvent>;
  /** Back to the previous versions: stops a deployment under way with rollback, else moves the alias. */
  rollback(cell: Cell, reason: string): Promise<RollbackResult>;
  /** Moves the cell's live aliases to these versions (by function name): a drill's roll forward. */
  pointTo(cell: Cell, versions: Readonly<Record<string, string>>): Promise<RollbackResult>;
  /**
   * Release-health alarms firing in the cell (its new versions' errors, 5xx, latency, throttles): what
   * judges a release and its bake. Operational alarms (dead letters, backlog) are not among them.
   */
  alarms(cell: Cell): Promise<string[]>;
  /** A request to the cell's API: `qualifier` is `live` (the alias) or a version number. */
  invoke(cell: Cell, qualifier: string, request: ApiRequest): Promise<ApiResponse>;
  readonly log: ReleaseLog;
  /** The cells' release locks (lib/release/cell-locks.ts takes and renews them). */
  readonly locks: LockStore;
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// The release log
// ---------------------------------------------------------------------------------------------

/**
 * One line of the release log (`releases.jsonl`). `at`, `kind` and `summary` are what the status page
 * shows; the rest says who, why, where and which versions.
 */
export interface ReleaseLogEntry {
  readonly at: string;
  /** Unique in the shared log (with `at`: its key there); lines written before it was shared have none. */
  readonly id?: string;
  /** `lock`: a cell's release lock taken with `--force` from a live holder. */
  readonly kind: 'release' | 'rollback' | 'halt' | 'drill' | 'lock';
  readonly summary: string;
  /**
   * Which drill, for `kind: 'drill'` (only rollback drills count for the drill gate), and for a rollback
   * made by a drill (a rehearsal, not an incident).
   */
  readonly drill?: 'rollback' | 'bad-release';
  readonly who: string;
  readonly target: 'aws' | 'local';
  readonly release?: string;
  readonly cell?: string;
  /** The operator's reason (rollbacks), or what the deployer saw (automatic rollbacks). */
  readonly why?: string;
  readonly result?: string;
  /** What went wrong (a failed drill, a halted release). */
  readonly detail?: string;
  readonly from?: Readonly<Record<string, string>>;
  readonly to?: Readonly<Record<string, string>>;
  readonly ok?: boolean;
  readonly ms?: number;
  /** A rollback the deployer decided (alarm, canary analysis), not an operator. */
  readonly automatic?: boolean;
}

export type NewLogEntry = Omit<ReleaseLogEntry, 'at' | 'id' | 'who' | 'target'> & { readonly who?: string };
