/**
 * What the status page charts: per cell, samples of the API alias's versions (requests, errors, p99 and
 * weight per version) every couple of seconds for the last minutes, release and rollback markers, and the
 * incident list (cell down, integration red, fail-static, rollback). Kept in memory by the platform process.
 */
import { type Condition, type Incident, observe, withRollback } from '../../domain/incidents';
import type { VersionWeight } from '../../domain/release';
import type { DeploymentView } from '../codedeploy/deployment';
import type { VersionMetrics } from '../lambda/runtime-alias';

import type { PlatformStatus, ReleaseEvent } from './status-page';

/** One version's figures over one sample interval. */
export interface VersionSample {
  readonly version: string;
  /** Requests per second over the interval. */
  readonly rps: number;
  /** Errors / requests over the interval, %; null without requests. */
  readonly errorPct: number | null;
  /** p99 of the alias's sliding window, ms; null without requests in it. */
  readonly p99Ms: number | null;
  /** % of the alias's traffic. */
  readonly weightPct: number;
}

export interface CellSample {
  /** Epoch ms. */
  readonly at: number;
  readonly versions: readonly VersionSample[];
}

export interface Marker {
  readonly at: number;
  readonly cell: string;
  readonly kind: 'release' | 'rollback' | 'end';
  readonly label: string;
}

export interface StatusHistoryView {
  readonly now: number;
  readonly cells: Readonly<Record<string, readonly CellSample[]>>;
  readonly markers: readonly Marker[];
  readonly incidents: readonly Incident[];
}

/** What the history reads of an alias. */
export interface AliasReading {
  weights(): VersionWeight[];
  metricsOf(version: string): VersionMetrics;
}

export interface SampleInput {
  readonly at: number;
  readonly cells: readonly { readonly id: string; readonly alias?: AliasReading; readonly down?: string }[];
  /** The latest deployment of each cell. */
  readonly deployments: readonly DeploymentView[];
  /** The release log, any order. */
  readonly log: readonly (ReleaseEvent & { readonly cell?: string; readonly drill?: string })[];
  /** The last status the page collected, for integration colours and the routing store. */
  readonly status?: PlatformStatus;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export class StatusHistory {
  private readonly samples = new Map<string, CellSample[]>();
  /** Per cell and version: the cumulative invocations and errors at the last sample. */
  private readonly last = new Map<string, { at: number; invocations: number; errors: number }>();
  private readonly markers = new Map<string, Marker>();
  private incidents: Incident[] = [];

  constructor(
    /** How far back the charts go. */
    private readonly windowMs = 10 * 60_000,
  ) {}

  sample(input: SampleInput): void {
    for (const cell of input.cells) this.sampleCell(cell.id, cell.alias, input.at);
    for (const d of input.deployments) this.mark(d);
    for (const entry of input.log) {
      if (entry.kind !== 'rollback' || !entry.cell) continue;
      const at = Date.parse(entry.at);
      const label = entry.drill ? `${entry.drill} drill: rollback` : 'rollback';
      this.markers.set(`log ${entry.at} ${entry.cell}`, { at, cell: entry.cell, kind: 'rollback', label });
      // A drill's rollback is a rehearsal: a marker on the charts, not an incident.
      if (!entry.drill)
        this.incidents = withRollback(this.incidents, { subject: entry.cell, at, detail: entry.summary });
    }
    this.incidents = observe(this.incidents, conditionsOf(input), input.at);
    const since = input.at - this.windowMs;
    for (const [key, m] of this.markers) if (m.at < since) this.markers.delete(key);
  }

  view(now: number): StatusHistoryView {
    return {
      now,
      cells: Object.fromEntries(this.samples),
      markers: [...this.markers.values()].sort((a, b) => a.at - b.at),
      incidents: [...this.incidents].reverse(),
    };
  }

  private sampleCell(cellId: string, alias: AliasReading | undefined, at: number): void {
    const versions = (alias?.weights() ?? []).map(({ version, weight }): VersionSample => {
      const m = alias!.metricsOf(version);
      const key = `${cellId} ${version}`;
      const before = this.last.get(key);
      this.last.set(key, { at, invocations: m.invocations, errors: m.errors });
      const requests = before ? Math.max(0, m.invocations - before.invocations) : 0;
      const errors = before ? Math.max(0, m.errors - before.errors) : 0;
      const seconds = before ? Math.max(0.001, (at - before.at) / 1000) : 1;
      return {
        version,
        rps: round(requests / seconds),
        errorPct: requests === 0 ? null : round((100 * errors) / requests),
        p99Ms: m.window.invocations === 0 ? null : round(m.window.p99Ms),
        weightPct: round(weight * 100),
      };
    });
    const kept = (this.samples.get(cellId) ?? []).filter((s) => s.at >= at - this.windowMs);
    kept.push({ at, versions });
    this.samples.set(cellId, kept);
  }

  private mark(d: DeploymentView): void {
    const { createdAt, rolledBackAt, endedAt } = d.timings;
    const put = (kind: Marker['kind'], at: number | undefined, label: string) => {
      if (at !== undefined) this.markers.set(`${d.id} ${kind}`, { at, cell: d.cellId, kind, label });
    };
    put('release', createdAt, `release ${d.release}`);
    put('rollback', rolledBackAt, `rollback of ${d.release}`);
    put('end', endedAt, `${d.release} ${d.result ?? d.status}`);
    if (rolledBackAt !== undefined)
      this.incidents = withRollback(this.incidents, {
        subject: d.cellId,
        at: rolledBackAt,
        detail: `${d.release}: ${d.reason ?? 'rolled back'}`,
      });
  }
}

/** The conditions that hold now: cells down, integrations red, the router serving fail-static. */
function conditionsOf(input: SampleInput): Condition[] {
  const conditions: Condition[] = input.cells
    .filter((c) => c.down !== undefined)
    .map((c) => ({ kind: 'cell-down', subject: c.id, detail: c.down }));
  for (const cell of input.status?.cells ?? []) {
    for (const t of cell.tenants)
      if (t.integration === 'red')
        conditions.push({ kind: 'integration-red', subject: `${cell.id}/${t.id}` });
  }
  if (input.status?.routingStore === 'down')
    conditions.push({
      kind: 'fail-static',
      subject: 'router',
      detail: 'routing store down: the router serves the routes it knows',
    });
  return conditions;
}
