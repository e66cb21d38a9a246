/** Canary analysis: whether the version being shifted to is healthy enough to go on. */
import { percent } from './percent';

/** One version's recent health, as an alias sees it (CloudWatch's `ExecutedVersion` dimension). */
export interface VersionHealth {
  readonly version: string;
  readonly invocations: number;
  readonly errors: number;
  readonly p99Ms: number;
}

export interface CanaryMetrics {
  /** The version being shifted to: the only one judged. */
  readonly newVersion: string;
  readonly versions: readonly VersionHealth[];
}

export interface CanaryThresholds {
  /** Share of failed invocations (errors and 5xx) of the new version that rolls it back. */
  readonly maxErrorRate: number;
  /** p99 duration of the new version, in ms, that rolls it back. */
  readonly maxP99Ms: number;
  /** Fewer invocations than this say nothing yet (as missing data does not breach an alarm). */
  readonly minInvocations: number;
}

/** The release construct's p99 alarm (3000 ms); an error share a single unlucky request cannot reach. */
export const DEFAULT_CANARY_THRESHOLDS: CanaryThresholds = {
  maxErrorRate: 0.05,
  maxP99Ms: 3000,
  minInvocations: 5,
};

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Canary analysis: rolls back when the NEW version's error rate or p99 is over its threshold. The
 * previous version's health is not looked at: its errors are not the new version's fault, and a healthy
 * old version must not hide a failing new one.
 */
export function judge(
  metrics: CanaryMetrics,
  thresholds: CanaryThresholds = DEFAULT_CANARY_THRESHOLDS,
): Verdict {
  const m = metrics.versions.find((v) => v.version === metrics.newVersion);
  if (!m || m.invocations < thresholds.minInvocations) return { ok: true };
  const rate = m.errors / m.invocations;
  if (rate > thresholds.maxErrorRate) {
    return {
      ok: false,
      reason:
        `version ${m.version}: error rate ${percent(rate)} (${m.errors} of ${m.invocations}) ` +
        `is over ${percent(thresholds.maxErrorRate)}`,
    };
  }
  if (m.p99Ms > thresholds.maxP99Ms) {
    return {
      ok: false,
      reason: `version ${m.version}: p99 ${Math.round(m.p99Ms)} ms is over ${thresholds.maxP99Ms} ms`,
    };
  }
  return { ok: true };
}
