/** One local deployment of a release to a cell: its state, its event log, and the versions it moves between. */
import { randomBytes } from 'node:crypto';

import { METRIC_NAMESPACE, REQUEST_METRICS, VERSION_DIMENSION } from '../../contracts/metrics';
import type { CanaryMetrics } from '../../domain/release';
import type { ReleaseLimits } from '../assembly/model';
import type { LocalFunctionVersion } from '../lambda/function-version';
import type { AliasTarget, RuntimeAlias } from '../lambda/runtime-alias';

export type DeploymentStatus = 'Created' | 'InProgress' | 'Succeeded' | 'Failed' | 'Stopped';

export interface DeploymentView {
  readonly id: string;
  readonly cellId: string;
  readonly release: string;
  readonly status: DeploymentStatus;
  /** Events from index `since` on; `eventCount` is the next index. */
  readonly events: readonly { readonly at: string; readonly message: string }[];
  readonly eventCount: number;
  readonly functions: readonly { readonly name: string; readonly from: string; readonly to?: string }[];
  readonly result?: 'succeeded' | 'failed' | 'rolled-back';
  readonly reason?: string;
  /** Epoch ms: created, first traffic on the new version, traffic back on the previous one, end. */
  readonly timings: {
    readonly createdAt: number;
    readonly shiftStartedAt?: number;
    readonly rolledBackAt?: number;
    readonly endedAt?: number;
  };
}

/** A function of a cell whose `live` alias CodeDeploy shifts. */
export interface ReleasedFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly alias: RuntimeAlias;
  /** The function the pre-traffic smoke test checks (its alias has a hook). */
  readonly hooked: boolean;
  /** What its deployment group's alarms stop a new version at (the template's `releaseLimits`). */
  readonly limits: ReleaseLimits;
}

const TERMINAL: readonly DeploymentStatus[] = ['Succeeded', 'Failed', 'Stopped'];

/**
 * A version's window of metrics as the canary analysis judges it: invocations, function errors and p99
 * as its alias saw them, and the answers and server errors its handler counted in its own per-version
 * metrics (EMF), the signal its 5xx alarm reads on AWS.
 */
export function canaryMetrics(
  alias: RuntimeAlias,
  version: LocalFunctionVersion | undefined,
  v: string,
): CanaryMetrics {
  const m = alias.metricsOf(v).window;
  const emitted = (name: string) =>
    version?.emitted.statistics(METRIC_NAMESPACE, name, { [VERSION_DIMENSION]: v }).sum ?? 0;
  return {
    newVersion: v,
    versions: [
      {
        version: v,
        invocations: m.invocations,
        errors: m.errors,
        p99Ms: m.p99Ms,
        requests: emitted(REQUEST_METRICS.requests),
        serverErrors: emitted(REQUEST_METRICS.serverErrors),
      },
    ],
  };
}

export class Deployment {
  readonly id = `ld-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  status: DeploymentStatus = 'Created';
  readonly events: { at: string; message: string }[] = [];
  readonly from = new Map<string, AliasTarget>();
  readonly to = new Map<string, LocalFunctionVersion>();
  result?: DeploymentView['result'];
  reason?: string;
  readonly timings: { createdAt: number; shiftStartedAt?: number; rolledBackAt?: number; endedAt?: number };

  constructor(
    readonly cellId: string,
    readonly release: string,
    readonly functions: readonly ReleasedFunction[],
  ) {
    this.timings = { createdAt: Date.now() };
    for (const f of functions) this.from.set(f.logicalId, f.alias.primaryVersion!);
  }

  get done(): boolean {
    return TERMINAL.includes(this.status);
  }

  /** The new versions, in the order of the functions. */
  get newVersions(): LocalFunctionVersion[] {
    return [...this.to.values()];
  }

  note(message: string): void {
    this.events.push({ at: new Date().toISOString(), message });
  }

  end(status: DeploymentStatus, result: DeploymentView['result'], reason?: string): void {
    if (this.done) return;
    this.status = status;
    this.result = result;
    if (reason) this.reason = reason;
    this.timings.endedAt = Date.now();
  }

  /** Traffic back on the previous versions, every alias at once. */
  returnTraffic(): void {
    for (const f of this.functions) {
      const from = this.from.get(f.logicalId)!;
      if (f.alias.additionalVersion || f.alias.primaryVersion !== from) f.alias.point(from);
    }
    this.timings.rolledBackAt ??= Date.now();
  }

  view(since = 0): DeploymentView {
    return {
      id: this.id,
      cellId: this.cellId,
      release: this.release,
      status: this.status,
      events: this.events.slice(since),
      eventCount: this.events.length,
      functions: this.functions.map((f) => ({
        name: f.name,
        from: this.from.get(f.logicalId)!.version,
        ...(this.to.has(f.logicalId) && { to: this.to.get(f.logicalId)!.version }),
      })),
      ...(this.result && { result: this.result }),
      ...(this.reason && { reason: this.reason }),
      timings: { ...this.timings },
    };
  }
}
