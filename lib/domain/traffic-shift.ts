/**
 * The traffic shift of one cell's deployment, as CodeDeploy runs it: step by step the new versions get
 * more of the traffic, and during each step's hold their own metrics are watched. The first new version
 * over the thresholds ends the shift; the caller then puts the traffic back. Pure: the aliases, the
 * metrics and time come through ports.
 */
import {
  type CanaryMetrics,
  type CanaryThresholds,
  DEFAULT_CANARY_THRESHOLDS,
  judge,
  scaledMs,
  type ShiftStep,
} from './release';

/** One released function's metrics, as its alias sees them. */
export interface FunctionHealth {
  readonly name: string;
  readonly metrics: CanaryMetrics;
  /**
   * The function's own limits (on AWS, its deployment group's alarms): a reconciler built to run for a
   * minute is not judged by an interactive API's p99. @default the shift's thresholds
   */
  readonly thresholds?: CanaryThresholds;
}

export interface TrafficShiftPorts {
  /** Gives the new versions `step.weight` of the traffic (1: all of it); `first` on the first step. */
  shift(step: ShiftStep, first: boolean): void;
  /** The metrics of every released function, judged on its new version. */
  health(): readonly FunctionHealth[];
  /** Whether the deployment was ended from outside meanwhile (a rollback, the platform stopping). */
  stopped(): boolean;
  sleep(ms: number): Promise<void>;
  now(): number;
}

export interface TrafficShiftOptions {
  /** Deployment minutes per real minute. */
  readonly timeScale: number;
  /** How often the new versions' metrics are looked at during a hold (real ms). */
  readonly watchMs: number;
  /** @default DEFAULT_CANARY_THRESHOLDS */
  readonly thresholds?: CanaryThresholds;
}

export type TrafficShiftOutcome =
  | { readonly result: 'shifted' }
  | { readonly result: 'rolled-back'; readonly reason: string; readonly weight: number }
  | { readonly result: 'stopped' };

/** Every function whose new version is over a threshold, as `<name> <reason>`. */
export function overThresholds(
  health: readonly FunctionHealth[],
  thresholds: CanaryThresholds = DEFAULT_CANARY_THRESHOLDS,
): string[] {
  return health.flatMap(({ name, metrics, thresholds: own }) => {
    const verdict = judge(metrics, own ?? thresholds);
    return verdict.ok ? [] : [`${name} ${verdict.reason}`];
  });
}

/**
 * Runs the steps: each shifts the traffic, then holds for its (time-scaled) minutes while the new
 * versions are judged every `watchMs`; the last step (all of the traffic) is judged once.
 */
export async function runTrafficShift(
  steps: readonly ShiftStep[],
  ports: TrafficShiftPorts,
  options: TrafficShiftOptions,
): Promise<TrafficShiftOutcome> {
  for (const [i, step] of steps.entries()) {
    ports.shift(step, i === 0);
    const deadline = ports.now() + scaledMs(step.holdMinutes, options.timeScale);
    do {
      if (ports.stopped()) return { result: 'stopped' };
      const [reason] = overThresholds(ports.health(), options.thresholds);
      if (reason) return { result: 'rolled-back', reason, weight: step.weight };
      if (step.weight >= 1) break;
      await ports.sleep(Math.min(options.watchMs, Math.max(0, deadline - ports.now())));
    } while (ports.now() < deadline);
  }
  return { result: 'shifted' };
}
