/** Traffic shifting inside one cell: the steps of a deployment config, and release time compressed locally. */
import type { DeploymentSettings } from '../../config/types';

export interface ShiftStep {
  /** The new version's share of the traffic, 0..1. */
  readonly weight: number;
  /** Minutes to hold this share (watching the new version) before the next step. */
  readonly holdMinutes: number;
}

/**
 * The steps CodeDeploy takes for a deployment config: canary (`percent` for `intervalMinutes`, then
 * all), linear (`percent` more every `intervalMinutes` until all), or all at once.
 */
export function trafficSteps(d: Required<DeploymentSettings>): ShiftStep[] {
  if (d.type === 'allAtOnce' || d.percent >= 100) return [{ weight: 1, holdMinutes: 0 }];
  if (d.type === 'canary') {
    return [
      { weight: d.percent / 100, holdMinutes: d.intervalMinutes },
      { weight: 1, holdMinutes: 0 },
    ];
  }
  const steps: ShiftStep[] = [];
  for (let p = d.percent; p < 100; p += d.percent) {
    steps.push({ weight: Math.round(p * 100) / 10_000, holdMinutes: d.intervalMinutes });
  }
  steps.push({ weight: 1, holdMinutes: 0 });
  return steps;
}

/** Minutes of a whole shift, first step to all traffic (the holds added up), in release time. */
export const shiftMinutes = (d: Required<DeploymentSettings>): number =>
  trafficSteps(d).reduce((sum, step) => sum + step.holdMinutes, 0);

/** Real milliseconds for `minutes` of release time, compressed by `timeScale` (60: a minute takes a second). */
export const scaledMs = (minutes: number, timeScale: number): number =>
  Math.round((minutes * 60_000) / timeScale);
