/** How releases, rollbacks and drills are written in progress lines and the release log. */
import { functionRole } from '../contracts/names';
import type { ReleaseProgress } from '../domain/release';

type Versions = Readonly<Record<string, string>>;

/** A label's timestamp: `20250420T101500`. */
export const stamp = (at: number): string => new Date(at).toISOString().replace(/[-:]/g, '').slice(0, 15);

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

export const millis = (ms: number): string =>
  ms < 10 ? `${ms.toFixed(2)} ms` : ms < 10_000 ? `${Math.round(ms)} ms` : seconds(ms);

/** `fn v3, other v7` */
export const versions = (m: Versions | undefined): string =>
  Object.entries(m ?? {})
    .map(([fn, v]) => `${functionRole(fn)} v${v}`)
    .join(', ');

/** `fn v3→v4` for each function moved */
export const moves = (from: Versions, to: Versions): string =>
  Object.keys(to)
    .map((fn) => `${functionRole(fn)} v${from[fn] ?? '?'}→v${to[fn]}`)
    .join(', ');

/** The time scale in effect, said once before a command starts waiting. */
export function describeTimeScale(kind: 'aws' | 'local', timeScale: number): string {
  if (kind === 'aws') return 'real time (CodeDeploy and the bakes take the minutes the fleet file says)';
  if (timeScale === 1)
    return 'time scale 1: real time, waits take the minutes the fleet file says (--time-scale 60 makes a minute a second)';
  return `time scale ${timeScale}: a minute of canary, interval or bake takes ${seconds(60_000 / timeScale)}`;
}

/** `14:05:09` (UTC): when a wait is due to end. */
export const clockTime = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

export function describeProgress(e: ReleaseProgress): string {
  switch (e.type) {
    case 'wave-started':
      return `wave ${e.wave}: deploying ${e.cells.join(', ')}`;
    case 'wave-finished':
      return `wave ${e.wave}: ${e.outcomes.map((o) => `${o.cellId} ${o.result}`).join(', ')}`;
    case 'bake-started':
      return `wave ${e.wave}: baking ${seconds(e.ms)} while watching its alarms (done at about ${clockTime(e.until)})`;
    case 'bake-finished':
      return `wave ${e.wave}: baked, no alarm`;
    case 'alarm':
      return `wave ${e.wave}: ALARM in ${e.cellId}: ${e.alarms.join(', ')}`;
    case 'drill':
      return `wave ${e.wave}: rehearsing the rollback on ${e.cellId} (drill: roll back, verify, roll forward)`;
    case 'halted':
      return `STOP THE LINE: ${e.reason}`;
  }
}
