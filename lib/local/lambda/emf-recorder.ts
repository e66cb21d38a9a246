/**
 * What CloudWatch extracts from a function's log lines in the embedded metric format: on Lambda, writing
 * an EMF document to stdout is all it takes to publish metrics (EMF spec: "Writing JSON to standard out
 * in the embedded metric format is sufficient"). Locally each version keeps the datapoints its handler
 * printed, so the local canary analysis judges a release on the very metrics its alarms read on AWS: a
 * handler that stops emitting one is not judged on it here either.
 */

/** One value of one metric, with the dimensions of its dimension set. */
export interface EmfDatapoint {
  readonly at: number;
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
}

interface MetricDirective {
  readonly Namespace?: unknown;
  readonly Dimensions?: unknown;
  readonly Metrics?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The datapoints of one log line: none when it is not an EMF document (spec: the whole line is the JSON object). */
export function parseEmf(line: string, at: number): EmfDatapoint[] {
  if (!line.startsWith('{') || !line.includes('"_aws"')) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return [];
  }
  if (!isObject(doc) || !isObject(doc._aws) || !Array.isArray(doc._aws.CloudWatchMetrics)) return [];
  const root = doc;
  return (doc._aws.CloudWatchMetrics as MetricDirective[]).flatMap((directive) => {
    if (typeof directive.Namespace !== 'string' || !Array.isArray(directive.Metrics)) return [];
    const sets = Array.isArray(directive.Dimensions) ? (directive.Dimensions as unknown[][]) : [[]];
    const names = (directive.Metrics as { Name?: unknown }[]).flatMap((m) =>
      typeof m.Name === 'string' ? [m.Name] : [],
    );
    // Every dimension set makes a metric of its own (spec: "Every DimensionSet used creates a new metric").
    return sets.flatMap((set) => {
      const dimensions = Object.fromEntries(set.map((key) => [String(key), String(root[String(key)])]));
      return names.flatMap((name) => {
        const raw = root[name];
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        return values.map((value) => ({
          at,
          namespace: directive.Namespace as string,
          name,
          dimensions,
          value,
        }));
      });
    });
  });
}

export interface EmfRecorderOptions {
  /** How long a datapoint is kept. @default 60 (a CloudWatch alarm's one-minute period) */
  readonly windowSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The metrics one version emitted over a sliding window. */
export class EmfRecorder {
  private points: EmfDatapoint[] = [];
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: EmfRecorderOptions = {}) {
    this.windowMs = (options.windowSeconds ?? 60) * 1000;
    this.now = options.now ?? Date.now;
  }

  /** Records a log line's datapoints, if it carries any. */
  observe(line: string): void {
    const found = parseEmf(line, this.now());
    if (found.length === 0) return;
    this.points.push(...found);
    this.prune();
  }

  /** Datapoints arrive in time order: the old ones are at the front. */
  private prune(): void {
    const oldest = this.now() - this.windowMs;
    let drop = 0;
    while (drop < this.points.length && this.points[drop].at < oldest) drop += 1;
    if (drop > 0) this.points.splice(0, drop);
  }

  /**
   * The sum and count of a metric over the window, over the datapoints that have (at least) the
   * dimensions `where`: one version's recorder holds only its own function's metrics, so the version's
   * dimension is enough to pick its per-version metrics out.
   */
  statistics(
    namespace: string,
    name: string,
    where: Readonly<Record<string, string>>,
  ): { readonly sum: number; readonly count: number } {
    this.prune();
    const matches = this.points.filter(
      (p) =>
        p.namespace === namespace &&
        p.name === name &&
        Object.entries(where).every(([k, v]) => p.dimensions[k] === v),
    );
    return { sum: matches.reduce((s, p) => s + p.value, 0), count: matches.length };
  }
}
