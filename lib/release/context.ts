import type { Fleet } from '../config/types';
import type { Clock } from '../domain/clock';
import type { ReleaseTarget } from '../targets/release/release-target';

import type { LockSettings } from './cell-locks';

/** What release orchestration runs on: a target, the fleet, a clock, and where progress goes. */
export interface ReleaseContext extends Clock {
  readonly target: ReleaseTarget;
  readonly fleet: Fleet;
  /** Deployment minutes per real minute (local: the flag, else the platform's own). */
  readonly timeScale: number;
  /** Progress lines, for the operator (the CLI's stderr). */
  readonly progress: (line: string) => void;
  /** How the cells' release locks are held. @default the operator, a 5-minute lease, a real heartbeat */
  readonly locking?: LockSettings;
}
