/**
 * The AWS release target. A wave is deployed with the CDK CLI (`cdk deploy` of the wave's cell stacks);
 * CloudFormation hands each changed `live` alias to CodeDeploy, which shifts traffic, runs the pre-traffic
 * hook and rolls back on the per-version alarms. This target follows those deployments and the stacks
 * (`aws/cdk-deploy.ts`, `aws/cell-stack.ts`), and rolls back by stopping a deployment under way or by
 * moving the alias and re-anchoring CloudFormation (`aws/rollback.ts`).
 */
import * as path from 'node:path';

import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import type { Cell, Fleet } from '../../config/types';
import {
  type ApiRequest,
  type ApiResponse,
  functionUrlEvent,
  toApiResponse,
} from '../../contracts/api-event';
import { cellApiFunctionName, RELEASES_TABLE } from '../../contracts/names';
import { driftedAliases, stackInProgress } from '../../domain/release';
import { AccountCredentials } from '../account-credentials';
import { cellPlace, RegionalClients, routerPlace } from '../aws-clients';

import {
  cdkDeployArgs,
  type CdkRun,
  followCellDeployment,
  projectCdk,
  type RunCdk,
  type WaveRun,
} from './aws/cdk-deploy';
import { ACTIVE_STATUSES, CellStackReader } from './aws/cell-stack';
import { anchor, moveAliases, type RollbackContext, stopDeployments } from './aws/rollback';
import { retryThrottled } from './aws/throttle';
import { DynamoReleaseStore, type LockStore } from './release-store';
import {
  type CellStatus,
  type DeployEvent,
  type DeploySpec,
  ReleaseLog,
  type ReleaseTarget,
  type RollbackResult,
} from './release-target';

export type { CdkRun } from './aws/cdk-deploy';
export { appSpecVersions } from './aws/cell-stack';

export interface AwsReleaseTargetOptions {
  readonly fleet: Fleet;
  /** The project root: where `cdk deploy` runs. */
  readonly root: string;
  /** Passed to the CDK app as `-c config=<file>`. @default - the app's default fleet file */
  readonly configFile?: string;
  /** Runs the CDK CLI with these arguments. @default the project's `aws-cdk` */
  readonly runCdk?: (args: readonly string[]) => CdkRun;
  /** Between reads of a deployment under way (ms). @default 10000 */
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** The shared release log's local cache. @default `<root>/.bulkhead/aws/releases.jsonl` */
  readonly logFile?: string;
  /**
   * Credentials per account: the operator's own, or the account's Bulkhead operator role.
   * @default STS in the router's region, the SDK's default chain
   */
  readonly credentials?: AccountCredentials;
}

export class AwsReleaseTarget implements ReleaseTarget {
  readonly kind = 'aws';
  readonly description: string;
  readonly log: ReleaseLog;
  readonly locks: LockStore;
  private readonly credentials: AccountCredentials;
  private readonly clients: RegionalClients;
  private readonly reader: CellStackReader;
  private readonly waves = new Map<string, WaveRun>();
  private readonly runCdk: RunCdk;
  private readonly ctx: RollbackContext;

  constructor(private readonly options: AwsReleaseTargetOptions) {
    this.description = `aws (${new Set(options.fleet.cells.map((c) => `${c.account}/${c.region}`)).size} account/region(s))`;
    this.credentials = options.credentials ?? new AccountCredentials(options.fleet.router.region);
    this.clients = new RegionalClients((place) => this.credentials.for(place));
    // The release log and the locks live in the router's account, where every operator reads them.
    const store = new DynamoReleaseStore(
      DynamoDBDocumentClient.from(this.clients.get(DynamoDBClient, routerPlace(options.fleet))),
      RELEASES_TABLE,
    );
    this.locks = store;
    this.log = new ReleaseLog(
      options.logFile ?? path.join(options.root, '.bulkhead', 'aws', 'releases.jsonl'),
      'aws',
      undefined,
      store,
    );
    this.runCdk = options.runCdk ?? projectCdk(options.root);
    this.reader = new CellStackReader(this.clients, (cellId) =>
      this.log.entries().filter((e) => e.cell === cellId),
    );
    this.ctx = {
      clients: this.clients,
      reader: this.reader,
      pollMs: options.pollMs ?? 10_000,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: options.now ?? Date.now,
    };
  }

  status(cell: Cell, options: { previous?: boolean } = {}): Promise<CellStatus> {
    return this.reader.status(cell, options);
  }

  async deploy(cells: readonly Cell[], spec: DeploySpec): Promise<void> {
    if (spec.extraEnv)
      throw new Error('the AWS target deploys what the CDK app builds: no extra environment');
    const args = cdkDeployArgs(cells, spec, this.options.configFile, new Date(this.ctx.now()).toISOString());
    const wave: WaveRun = { startedAt: this.ctx.now(), release: spec.release, run: this.runCdk(args) };
    void wave.run.done.then((exit) => (wave.exit = exit));
    for (const c of cells) this.waves.set(c.id, wave);
  }

  async *follow(cell: Cell): AsyncGenerator<DeployEvent> {
    const wave = this.waves.get(cell.id);
    if (!wave) throw new Error(`no deployment was started on cell ${cell.id}`);
    yield* followCellDeployment(this.ctx, cell, wave);
  }

  async rollback(cell: Cell, _reason: string): Promise<RollbackResult> {
    const started = this.ctx.now();
    const state = await this.status(cell, { previous: true });
    const stack = await this.reader.lastDescribed(cell);
    const active = (
      await Promise.all(
        stack.functions.map((fn) =>
          this.reader.deploymentsOf(cell, stack, fn, { statuses: ACTIVE_STATUSES }),
        ),
      )
    ).flat();
    if (active.length > 0) return stopDeployments(this.ctx, cell, stack, active, started);
    if (stackInProgress(stack.status)) {
      throw new Error(`stack ${stack.stackName} is ${stack.status} with no CodeDeploy deployment to stop`);
    }
    const drifted = driftedAliases(state.functions);
    if (Object.keys(drifted.to).length > 0) {
      const note = await anchor(this.ctx, cell, stack, drifted.to);
      return {
        cellId: cell.id,
        kind: 'alias',
        from: drifted.from,
        to: drifted.to,
        ms: 0,
        notes: [`the alias was already back (an earlier rollback): ${note}`],
      };
    }
    const unknown = state.functions.filter((f) => !f.previous).map((f) => f.name);
    if (unknown.length > 0) {
      throw new Error(
        `no version to roll back to for ${unknown.join(', ')}: neither CodeDeploy nor the release log ` +
          'shows what its live version replaced; nothing was moved',
      );
    }
    const previous = Object.fromEntries(state.functions.map((f) => [f.name, f.previous!.version]));
    return moveAliases(this.ctx, cell, stack, previous, started);
  }

  async pointTo(cell: Cell, versions: Readonly<Record<string, string>>): Promise<RollbackResult> {
    const started = this.ctx.now();
    return moveAliases(this.ctx, cell, await this.reader.describe(cell), versions, started);
  }

  async alarms(cell: Cell): Promise<string[]> {
    const stack = await this.reader.lastDescribed(cell);
    const cloudwatch = this.clients.get(CloudWatchClient, cellPlace(cell));
    const names = [...stack.alarms];
    const firing: string[] = [];
    for (let i = 0; i < names.length; i += 100) {
      const out = await retryThrottled(this.ctx, () =>
        cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), StateValue: 'ALARM' }),
        ),
      );
      for (const a of out.MetricAlarms ?? [])
        firing.push(`${a.AlarmName}${a.StateReason ? `: ${a.StateReason}` : ''}`);
    }
    return firing;
  }

  async invoke(cell: Cell, qualifier: string, request: ApiRequest): Promise<ApiResponse> {
    const out = await this.clients.get(LambdaClient, cellPlace(cell)).send(
      new InvokeCommand({
        FunctionName: cellApiFunctionName(cell.id),
        Qualifier: qualifier,
        Payload: Buffer.from(JSON.stringify(functionUrlEvent(request))),
      }),
    );
    const text = Buffer.from(out.Payload ?? []).toString('utf8');
    const executed = out.ExecutedVersion ?? qualifier;
    if (out.FunctionError)
      return {
        statusCode: 0,
        body: undefined,
        executedVersion: executed,
        error: `${out.FunctionError}: ${text}`,
      };
    return toApiResponse(text ? JSON.parse(text) : undefined, executed);
  }

  close(): void {
    this.clients.close();
    this.credentials.close();
  }
}
