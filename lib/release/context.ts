import type { Fleet } from '../config/types';
import type { ReleaseTarget } from '../targets/release/release-target';

/** What release orchestration runs on: a target, the fleet, a clock, and where progress goes. */
export interface ReleaseContext {
  readonly target: ReleaseTarget;
  readonly fleet: Fleet;
  /** Deployment minutes per real minute (local: the flag, else the platform's own). */
  readonly timeScale: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** Progress lines, for the operator (the CLI's stderr). */
  readonly progress: (line: string) => void;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
