/**
 * Which installation a command acts on: `--target aws|local`, by default the local platform when one
 * runs, else AWS. The commands open their own kind of target (release or tenants) from this choice.
 */
import type { Fleet } from '../config/types';
import { type PlatformState, readState, stateFile } from '../local/platform/platform-state';

import { UsageError } from './io';

export const DEFAULT_FLEET_FILE = 'cells.config.ts';

export type TargetChoice =
  | { readonly kind: 'aws' }
  /** `state` is undefined when `--target local` was asked for and no platform runs in `home`. */
  | { readonly kind: 'local'; readonly state: PlatformState | undefined };

export function chooseTarget(requested: string | undefined, home: string): TargetChoice {
  if (requested !== undefined && requested !== 'aws' && requested !== 'local') {
    throw new UsageError(`--target must be aws or local, got '${requested}'`);
  }
  const state = requested === 'aws' ? undefined : readState(stateFile(home));
  return requested === 'local' || (requested === undefined && state)
    ? { kind: 'local', state }
    : { kind: 'aws' };
}

/*
 * Modules are loaded where they are needed, not at the top: each target pulls in only what it needs (the
 * AWS ones load SDK clients, the fleet loader compiles the fleet file), and require() because the CLI's
 * loader (tsx/cjs) compiles required modules only. The target openers do the same.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- see above */
export const loadFleet = (file: string): Fleet =>
  (require('../config/load') as typeof import('../config/load')).loadFleet(file);

/* eslint-enable @typescript-eslint/no-require-imports */
