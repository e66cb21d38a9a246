/**
 * The bad-release drill's verdict: a version that fails a share of its requests went to one cell; the
 * drill passes only if the deployer rolled it back by itself, every alias is whole on the version it was
 * on before, no failure was served by that previous version, and no other cell saw a failure.
 */
import { functionRole } from '../../contracts/names';

import type { CellResult } from './outcomes';
import type { VersionWeight } from './readiness';

/** One synthetic request of the drill's traffic. */
export interface TrafficSample {
  readonly cellId: string;
  /** 0: no answer. */
  readonly status: number;
  /** The version that served it (`ExecutedVersion`), when known. */
  readonly version?: string;
  readonly at: number;
}

export interface BadReleaseEvidence {
  readonly cellId: string;
  /** How the faulty release ended. */
  readonly result: CellResult;
  /** Each function's live version before the release, by name. */
  readonly previous: Readonly<Record<string, string>>;
  /** The function the traffic calls: failures it served are attributed by its versions. */
  readonly apiFunction: string;
  /** Each function's alias once the drill is over. */
  readonly after: readonly { readonly name: string; readonly weights: readonly VersionWeight[] }[];
  readonly samples: readonly TrafficSample[];
}

export interface BadReleaseVerdict {
  readonly ok: boolean;
  /** Requests to the drilled cell, and how many of them failed. */
  readonly requests: number;
  readonly failures: number;
  readonly failureShare: number;
  readonly failuresOnPrevious: number;
  readonly otherCells: { readonly requests: number; readonly failures: number };
  readonly problems: readonly string[];
}

export const failedRequest = (s: TrafficSample): boolean => s.status === 0 || s.status >= 500;

export function judgeBadRelease(e: BadReleaseEvidence): BadReleaseVerdict {
  const mine = e.samples.filter((s) => s.cellId === e.cellId);
  const failures = mine.filter(failedRequest);
  const onPrevious = failures.filter((s) => s.version === e.previous[e.apiFunction]);
  const other = e.samples.filter((s) => s.cellId !== e.cellId);
  const otherFailures = other.filter(failedRequest).length;
  const problems: string[] = [];
  if (e.result !== 'rolled-back')
    problems.push(`the release was not rolled back automatically (${e.result})`);
  for (const f of e.after) {
    if (f.weights.length !== 1 || f.weights[0].version !== e.previous[f.name]) {
      problems.push(
        `${functionRole(f.name)} is on ${JSON.stringify(f.weights)}, not 100% on v${e.previous[f.name]}`,
      );
    }
  }
  if (onPrevious.length > 0) problems.push(`${onPrevious.length} failures on the previous version`);
  if (otherFailures > 0) problems.push(`${otherFailures} failures in other cells`);
  return {
    ok: problems.length === 0,
    requests: mine.length,
    failures: failures.length,
    failureShare: mine.length === 0 ? 0 : failures.length / mine.length,
    failuresOnPrevious: onPrevious.length,
    otherCells: { requests: other.length, failures: otherFailures },
    problems,
  };
}
