/** Canary analysis: whether the version being shifted to is healthy enough to go on. */
import { percent } from './percent';

/**
 * One version's recent health: its invocations, function errors and p99 as its alias sees them
 * (CloudWatch's `ExecutedVersion` dimension), and the answers it counted in its own per-version request
 * metrics (`Requests`, `ServerErrors`: what a handler that answers 500 reports, where Lambda sees a success).
 */
export interface VersionHealth {
  readonly version: string;
  readonly invocations: number;
  /** Function errors: thrown, timed out, crashed (Lambda's `Errors`). */
  readonly errors: number;
  readonly p99Ms: number;
  /** Answers the version counted. @default 0 */
  readonly requests?: number;
  /** Of those, server errors (5xx). @default 0 */
  readonly serverErrors?: number;
}

export interface CanaryMetrics {
  /** The version being shifted to: the only one judged. */
  readonly newVersion: string;
  readonly versions: readonly VersionHealth[];
}

export interface CanaryThresholds {
  /** Share of invocations of the new version that failed with a function error that rolls it back. */
  readonly maxErrorRate: number;
  /** Share of the new version's answers that were server errors (5xx) that rolls it back. */
  readonly maxServerErrorRate: number;
  /** p99 duration of the new version, in ms, that rolls it back. */
  readonly maxP99Ms: number;
  /** Fewer invocations (or answers) than this say nothing yet (as missing data does not breach an alarm). */
  readonly minInvocations: number;
}

/**
 * An error share a single unlucky request cannot reach; the 5xx alarm of the release construct uses the
 * same share and minimum (`lib/infra/release/blue-green-release.ts`).
 */
export const DEFAULT_CANARY_THRESHOLDS: CanaryThresholds = {
  maxErrorRate: 0.05,
  maxServerErrorRate: 0.05,
  maxP99Ms: 3000,
  minInvocations: 5,
};

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const overShare = (
  what: string,
  version: string,
  count: number,
  total: number,
  max: number,
): string | undefined =>
  count / total > max
    ? `version ${version}: ${what} ${percent(count / total)} (${count} of ${total}) is over ${percent(max)}`
    : undefined;

/**
 * Canary analysis: rolls back when the NEW version's function error rate, 5xx rate or p99 is over its
 * threshold. The previous version's health is not looked at: its errors are not the new version's fault,
 * and a healthy old version must not hide a failing new one.
 */
export function judge(
  metrics: CanaryMetrics,
  thresholds: CanaryThresholds = DEFAULT_CANARY_THRESHOLDS,
): Verdict {
  const m = metrics.versions.find((v) => v.version === metrics.newVersion);
  if (!m) return { ok: true };
  const { minInvocations: min } = thresholds;
  const requests = m.requests ?? 0;
  const reason =
    (m.invocations >= min
      ? overShare('error rate', m.version, m.errors, m.invocations, thresholds.maxErrorRate)
      : undefined) ??
    (requests >= min
      ? overShare('5xx rate', m.version, m.serverErrors ?? 0, requests, thresholds.maxServerErrorRate)
      : undefined) ??
    (m.invocations >= min && m.p99Ms > thresholds.maxP99Ms
      ? `version ${m.version}: p99 ${Math.round(m.p99Ms)} ms is over ${thresholds.maxP99Ms} ms`
      : undefined);
  return reason ? { ok: false, reason } : { ok: true };
}
