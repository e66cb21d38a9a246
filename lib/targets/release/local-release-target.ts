/**
 * The local release target: the running local platform, through its control API. The platform does
 * the work (`lib/local/codedeploy/local-releases.ts`: build, new versions, smoke test, time-scaled shifting with
 * canary analysis, rollback); this side starts it and follows it. The release log and the cells' locks are
 * in the routing store's releases table, as on AWS; the home's `releases.jsonl` caches the log for the
 * status page.
 */
import * as path from 'node:path';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import type { Cell } from '../../config/types';
import type { ApiRequest, ApiResponse } from '../../contracts/api-event';
import { RELEASES_TABLE } from '../../contracts/names';
import type { CellReleaseView, DeploymentView } from '../../local/codedeploy/local-releases';
import { controlCall } from '../../local/platform/control-client';
import type { PlatformState } from '../../local/platform/platform-state';

import { DynamoReleaseStore, type LockStore } from './release-store';
import {
  type CellStatus,
  type DeployEvent,
  type DeploySpec,
  ReleaseLog,
  type ReleaseTarget,
  type RollbackResult,
} from './release-target';

export interface LocalReleaseTargetOptions {
  /** How often a deployment's progress is read (ms). @default 50 */
  readonly pollMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LocalReleaseTarget implements ReleaseTarget {
  readonly kind = 'local';
  readonly description: string;
  readonly log: ReleaseLog;
  readonly locks: LockStore;
  private readonly routingClient: DynamoDBClient;
  private readonly deployments = new Map<string, string>();
  private readonly pollMs: number;

  constructor(
    private readonly state: PlatformState,
    home: string,
    options: LocalReleaseTargetOptions = {},
  ) {
    this.description = `local (platform pid ${state.pid}, home ${home})`;
    // The routing store holds the releases table as the router's account does on AWS; DynamoDB Local
    // checks no credentials, but the SDK signs every request and needs some.
    this.routingClient = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: state.routingStore.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const store = new DynamoReleaseStore(DynamoDBDocumentClient.from(this.routingClient), RELEASES_TABLE);
    this.locks = store;
    this.log = new ReleaseLog(path.join(home, 'releases.jsonl'), 'local', undefined, store);
    this.pollMs = options.pollMs ?? 50;
  }

  private call<T>(action: string, body: Record<string, unknown>): Promise<T> {
    return controlCall<T>(this.state, action, body);
  }

  private async view(cell: Cell): Promise<CellReleaseView> {
    const { cells } = await this.call<{ cells: CellReleaseView[] }>('release-status', { cells: [cell.id] });
    if (!cells[0]) throw new Error(`cell ${cell.id} is not part of the running local platform`);
    return cells[0];
  }

  async status(cell: Cell): Promise<CellStatus> {
    const v = await this.view(cell);
    const last = v.lastDeployment;
    return {
      cellId: v.cellId,
      wave: v.wave,
      ...(v.unavailable && { unavailable: v.unavailable }),
      functions: v.functions,
      ...(v.deployment && { deployment: v.deployment }),
      ...(last && {
        lastDeployment: {
          id: last.id,
          status: last.status,
          release: last.release,
          ...(last.result && { result: last.result }),
          ...(last.reason && { reason: last.reason }),
        },
      }),
    };
  }

  async deploy(cells: readonly Cell[], spec: DeploySpec): Promise<void> {
    const { deployments } = await this.call<{ deployments: Record<string, string> }>('release-deploy', {
      release: spec.release,
      cells: cells.map((c) => c.id),
      ...(spec.timeScale !== undefined && { timeScale: spec.timeScale }),
      ...(spec.extraEnv && { extraEnv: spec.extraEnv }),
    });
    for (const [cellId, id] of Object.entries(deployments)) this.deployments.set(cellId, id);
  }

  async *follow(cell: Cell): AsyncGenerator<DeployEvent> {
    const id = this.deployments.get(cell.id);
    if (!id) throw new Error(`no deployment was started on cell ${cell.id}`);
    let since = 0;
    for (;;) {
      const d = await this.call<DeploymentView>('release-deployment', { id, since });
      for (const e of d.events) yield { type: 'progress', cellId: cell.id, message: e.message };
      since = d.eventCount;
      if (d.result) {
        const versions = (pick: 'from' | 'to') =>
          Object.fromEntries(d.functions.flatMap((f) => (f[pick] === undefined ? [] : [[f.name, f[pick]!]])));
        yield {
          type: 'done',
          cellId: cell.id,
          result: d.result,
          ...(d.reason && { reason: d.reason }),
          from: versions('from'),
          to: versions('to'),
          durationMs: (d.timings.endedAt ?? Date.now()) - d.timings.createdAt,
          ...(d.timings.shiftStartedAt !== undefined && { shiftStartedAt: d.timings.shiftStartedAt }),
          ...(d.timings.rolledBackAt !== undefined && { rolledBackAt: d.timings.rolledBackAt }),
        };
        return;
      }
      await sleep(this.pollMs);
    }
  }

  rollback(cell: Cell, reason: string): Promise<RollbackResult> {
    return this.call<RollbackResult>('release-rollback', { cell: cell.id, reason });
  }

  pointTo(cell: Cell, versions: Readonly<Record<string, string>>): Promise<RollbackResult> {
    return this.call<RollbackResult>('release-point', { cell: cell.id, versions });
  }

  async alarms(cell: Cell): Promise<string[]> {
    return [...(await this.view(cell)).alarms];
  }

  invoke(cell: Cell, qualifier: string, request: ApiRequest): Promise<ApiResponse> {
    return this.call<ApiResponse>('release-invoke', { cell: cell.id, qualifier, request });
  }

  close(): void {
    this.routingClient.destroy();
  }
}
