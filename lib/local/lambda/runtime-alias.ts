import { performance } from 'node:perf_hooks';

import type { VersionWeight } from '../../domain/release';

import { type InvokeResult, type InvokeTarget, isFailure, round } from './invocation';

/** What an alias routes to: a `LocalFunctionVersion`, or anything with its name, version and invoke. */
export interface AliasTarget extends InvokeTarget {
  readonly name: string;
  readonly version: string;
}

/** What an alias invocation returns: the version's outcome and which version ran it. */
export interface AliasInvokeResult extends InvokeResult {
  readonly executedVersion: string;
}

/** A version's metrics as the alias saw them, like CloudWatch's `ExecutedVersion` dimension. */
export interface VersionMetrics {
  readonly version: string;
  /** Since the version was first invoked through the alias (or the last `resetMetrics`). */
  readonly invocations: number;
  readonly errors: number;
  /** Over the sliding window: the last `windowSize` invocations within the last `windowSeconds`. */
  readonly window: {
    readonly invocations: number;
    readonly errors: number;
    /** errors / invocations; 0 with no invocations. */
    readonly errorRate: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
  };
}

export interface RuntimeAliasOptions {
  /** @default 100 */
  readonly windowSize?: number;
  /** @default 60 */
  readonly windowSeconds?: number;
  /** The clock of the sliding window. @default Date.now */
  readonly now?: () => number;
}

interface Sample {
  readonly at: number;
  readonly durationMs: number;
  readonly error: boolean;
}

class VersionTally {
  invocations = 0;
  errors = 0;
  readonly samples: Sample[] = [];
}

/**
 * A Lambda alias (`live`) as it runs: a primary version and at most one additional version with a
 * weight. Traffic is split by a deterministic sequence: after n invocations since the last
 * `point`/`shift`, exactly ⌈n·weight⌉ went to the additional version, spread evenly.
 */
export class RuntimeAlias implements InvokeTarget {
  private primary?: AliasTarget;
  private additional?: { readonly version: AliasTarget; readonly weight: number };
  private sequence = 0;
  private readonly tallies = new Map<string, VersionTally>();
  private readonly windowSize: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(
    readonly name: string,
    options: RuntimeAliasOptions = {},
  ) {
    this.windowSize = options.windowSize ?? 100;
    this.windowMs = (options.windowSeconds ?? 60) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** The version with the rest of the traffic. */
  get primaryVersion(): AliasTarget | undefined {
    return this.primary;
  }

  /** The version being shifted to, if the alias is split. */
  get additionalVersion(): AliasTarget | undefined {
    return this.additional?.version;
  }

  /** Sends all traffic to `version` and ends any split. */
  point(version: AliasTarget): void {
    this.primary = version;
    this.additional = undefined;
    this.sequence = 0;
  }

  /** Gives `version` the share `weight` (0..1) of the traffic, the primary version the rest. */
  shift(version: AliasTarget, weight: number): void {
    const primary = this.primary;
    if (!primary) throw new Error(`alias ${this.name} points to no version: point() it first`);
    if (!(weight >= 0 && weight <= 1))
      throw new Error(`alias ${this.name}: weight must be within 0..1, got ${weight}`);
    if (version.name !== primary.name) {
      throw new Error(
        `alias ${this.name}: version ${version.version} is of ${version.name}, not ${primary.name}`,
      );
    }
    if (version === primary || version.version === primary.version) {
      throw new Error(
        `alias ${this.name}: the additional version must differ from the primary (${primary.version})`,
      );
    }
    if (this.additional?.version !== version) this.sequence = 0;
    this.additional = { version, weight };
  }

  weights(): VersionWeight[] {
    if (!this.primary) return [];
    if (!this.additional) return [{ version: this.primary.version, weight: 1 }];
    const { version, weight } = this.additional;
    return [
      { version: this.primary.version, weight: round(1 - weight, 6) },
      { version: version.version, weight },
    ];
  }

  async invoke(event: unknown): Promise<AliasInvokeResult> {
    const target = this.pick();
    const started = performance.now();
    let outcome: InvokeResult;
    try {
      outcome = await target.invoke(event);
    } catch (error) {
      this.record(target.version, performance.now() - started, true);
      throw error;
    }
    this.record(target.version, outcome.durationMs, isFailure(outcome));
    return { ...outcome, executedVersion: target.version };
  }

  /** Metrics of the versions the alias routes to now (primary first). */
  metrics(): VersionMetrics[] {
    return this.weights().map(({ version }) => this.metricsOf(version));
  }

  /** Metrics of one version (zeros if it was never invoked through this alias). */
  metricsOf(version: string): VersionMetrics {
    const tally = this.tallies.get(version) ?? new VersionTally();
    this.prune(tally);
    const durations = tally.samples.map((s) => s.durationMs).sort((a, b) => a - b);
    const errors = tally.samples.filter((s) => s.error).length;
    return {
      version,
      invocations: tally.invocations,
      errors: tally.errors,
      window: {
        invocations: durations.length,
        errors,
        errorRate: durations.length === 0 ? 0 : errors / durations.length,
        p50Ms: percentile(durations, 0.5),
        p99Ms: percentile(durations, 0.99),
      },
    };
  }

  /** Forgets the metrics of one version, or of all. */
  resetMetrics(version?: string): void {
    if (version === undefined) this.tallies.clear();
    else this.tallies.delete(version);
  }

  private pick(): AliasTarget {
    if (!this.primary) throw new Error(`alias ${this.name} points to no version`);
    const n = this.sequence++;
    if (!this.additional) return this.primary;
    const { version, weight } = this.additional;
    // Invocation n goes to the additional version when ⌈(n+1)·w⌉ steps past ⌈n·w⌉ (epsilon: 0.7·10 ≠ 7).
    const share = (k: number): number => Math.ceil(k * weight - 1e-9);
    return share(n + 1) > share(n) ? version : this.primary;
  }

  private record(version: string, durationMs: number, error: boolean): void {
    let tally = this.tallies.get(version);
    if (!tally) {
      tally = new VersionTally();
      this.tallies.set(version, tally);
    }
    tally.invocations += 1;
    if (error) tally.errors += 1;
    tally.samples.push({ at: this.now(), durationMs, error });
    this.prune(tally);
  }

  private prune(tally: VersionTally): void {
    const oldest = this.now() - this.windowMs;
    let drop = Math.max(0, tally.samples.length - this.windowSize);
    while (drop < tally.samples.length && tally.samples[drop].at < oldest) drop += 1;
    if (drop > 0) tally.samples.splice(0, drop);
  }
}

/** Nearest-rank percentile of sorted values; 0 for none. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}
