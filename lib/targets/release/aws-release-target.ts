/**
 * The AWS release target. A wave is deployed with the CDK CLI (`cdk deploy` of the wave's cell stacks,
 * `-c release=<label> -c cells=<ids>`); CloudFormation hands each changed `live` alias to CodeDeploy,
 * which shifts traffic, runs the pre-traffic hook and rolls back on the per-version alarms. This target
 * follows those deployments (`ListDeployments`/`GetDeployment`) and the stacks (`DescribeStacks`).
 *
 * Rollback: a deployment under way is stopped with `StopDeployment(autoRollbackEnabled)`, so CodeDeploy
 * moves the alias back and CloudFormation rolls the stack back with it: alias, CodeDeploy and
 * CloudFormation stay in agreement. A finished deployment is rolled back by moving the alias
 * (`UpdateAlias`, seconds) and then **re-anchoring** CloudFormation: the stack is updated with its own
 * deployed template in which that alias names the version it is now on and has no CodeDeploy update
 * policy, so CloudFormation records the real version without starting a deployment (an alias update
 * under the policy would shift traffic from the version CloudFormation last knew, i.e. back onto the
 * rolled-back one). The next release's CodeDeploy deployment then starts from the real alias version.
 * Until the re-anchor succeeds, the alias and CloudFormation's version differ, and `release` refuses the
 * cell (readiness compares `GetAlias` with the stack's record).
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type Parameter,
  type StackResourceSummary,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
  type DeploymentInfo,
  type DeploymentStatus,
  GetDeploymentCommand,
  ListDeploymentsCommand,
  StopDeploymentCommand,
} from '@aws-sdk/client-codedeploy';
import {
  GetAliasCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';

import type { Cell, Fleet } from '../../config/types';
import {
  type ApiRequest,
  type ApiResponse,
  functionUrlEvent,
  toApiResponse,
} from '../../contracts/api-event';
import { cellApiFunctionName, cellStackName, LIVE_ALIAS } from '../../contracts/names';
import type { FunctionReleaseState } from '../../domain/release';

import {
  type CellStatus,
  type DeployEvent,
  type DeploySpec,
  ReleaseLog,
  type ReleaseTarget,
  type RollbackResult,
} from './release-target';

/** A run of the CDK CLI: resolves with its exit code and the tail of its output. */
export interface CdkRun {
  readonly done: Promise<{ readonly code: number; readonly output: string }>;
}

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
  /** @default `<root>/.bulkhead/aws/releases.jsonl` */
  readonly logFile?: string;
}

/** CodeDeploy's statuses of a deployment that has not ended. */
export const ACTIVE_STATUSES: DeploymentStatus[] = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'];
const ENDED: readonly string[] = ['Succeeded', 'Failed', 'Stopped'];
/** UpdateStack's limit for an inline template. */
const MAX_TEMPLATE_BODY = 51_200;
const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  UpdatePolicy?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** Where a re-anchored alias keeps its CodeDeploy update policy (and the version it was rolled back from). */
const ANCHOR_METADATA = 'bulkhead:anchored';

interface AliasUpdatePolicy {
  readonly DeploymentGroupName?: { readonly Ref?: string };
}

/** The alias's CodeDeploy update policy, or where re-anchoring kept it. */
function policyOf(alias: TemplateResource): AliasUpdatePolicy | undefined {
  const kept = alias.Metadata?.[ANCHOR_METADATA] as { policy?: AliasUpdatePolicy } | undefined;
  return (alias.UpdatePolicy?.CodeDeployLambdaAliasUpdate as AliasUpdatePolicy | undefined) ?? kept?.policy;
}
interface Template {
  Resources: Record<string, TemplateResource>;
}

/** A released function of a cell stack, as CloudFormation describes it. */
interface ReleasedFunction {
  readonly logicalId: string;
  readonly aliasLogicalId: string;
  /** The function's physical name. */
  readonly name: string;
  /** The CodeDeploy deployment group that shifts its alias. */
  readonly deploymentGroup?: string;
  /** The version CloudFormation has the alias on. */
  readonly recordedVersion?: string;
}

interface CellStack {
  readonly stackName: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly lastUpdated?: Date;
  readonly parameters: readonly Parameter[];
  readonly application?: string;
  readonly functions: readonly ReleasedFunction[];
  readonly alarms: readonly string[];
  readonly template: Template;
}

interface RegionalClients {
  readonly cfn: CloudFormationClient;
  readonly codedeploy: CodeDeployClient;
  readonly lambda: LambdaClient;
  readonly cloudwatch: CloudWatchClient;
}

interface WaveRun {
  readonly startedAt: number;
  readonly release: string;
  readonly run: CdkRun;
  exit?: { readonly code: number; readonly output: string };
}

const versionOfArn = (arn: string | undefined): string | undefined => arn?.split(':').at(-1);
const isMissing = (err: unknown): boolean => (err as { name?: string }).name === 'ResourceNotFoundException';
const inProgress = (status: string): boolean => status.endsWith('_IN_PROGRESS');

/** The versions an AppSpec names (CloudFormation writes it as JSON; YAML is read the same way). */
export function appSpecVersions(info: DeploymentInfo | undefined): { current?: string; target?: string } {
  const content = info?.revision?.appSpecContent?.content ?? info?.revision?.string?.content ?? '';
  const pick = (key: string) => new RegExp(`"?${key}"?\\s*:\\s*"?([^",\\s}]+)`).exec(content)?.[1];
  return { current: pick('CurrentVersion'), target: pick('TargetVersion') };
}

function defaultRunCdk(root: string): (args: readonly string[]) => CdkRun {
  return (args) => {
    const cdk = path.join(root, 'node_modules', 'aws-cdk', 'bin', 'cdk');
    const child = spawn(process.execPath, [cdk, ...args], {
      cwd: root,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    return {
      done: new Promise((resolve) => {
        child.once('error', (err) => resolve({ code: 1, output: err.message }));
        child.once('close', (code) => resolve({ code: code ?? 1, output }));
      }),
    };
  };
}

export class AwsReleaseTarget implements ReleaseTarget {
  readonly kind = 'aws';
  readonly description: string;
  readonly log: ReleaseLog;
  private readonly regional = new Map<string, RegionalClients>();
  private readonly waves = new Map<string, WaveRun>();
  private readonly described = new Map<string, CellStack>();
  private readonly runCdk: (args: readonly string[]) => CdkRun;
  private readonly pollMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: AwsReleaseTargetOptions) {
    this.description = `aws (${new Set(options.fleet.cells.map((c) => `${c.account}/${c.region}`)).size} account/region(s))`;
    this.log = new ReleaseLog(
      options.logFile ?? path.join(options.root, '.bulkhead', 'aws', 'releases.jsonl'),
      'aws',
    );
    this.runCdk = options.runCdk ?? defaultRunCdk(options.root);
    this.pollMs = options.pollMs ?? 10_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
  }

  private clients(region: string): RegionalClients {
    let clients = this.regional.get(region);
    if (!clients) {
      clients = {
        cfn: new CloudFormationClient({ region }),
        codedeploy: new CodeDeployClient({ region }),
        lambda: new LambdaClient({ region }),
        cloudwatch: new CloudWatchClient({ region }),
      };
      this.regional.set(region, clients);
    }
    return clients;
  }

  /** The cell's stack: status, released functions (alias, deployment group, recorded version), alarms. */
  private async describe(cell: Cell): Promise<CellStack> {
    const { cfn } = this.clients(cell.region);
    const StackName = cellStackName(cell.id);
    const stacks = await cfn.send(new DescribeStacksCommand({ StackName }));
    const stack = stacks.Stacks?.[0];
    if (!stack) throw new Error(`stack ${StackName} not found in ${cell.region}`);
    const resources: StackResourceSummary[] = [];
    let NextToken: string | undefined;
    do {
      const page = await cfn.send(
        new ListStackResourcesCommand({ StackName, ...(NextToken && { NextToken }) }),
      );
      resources.push(...(page.StackResourceSummaries ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    const body = (await cfn.send(new GetTemplateCommand({ StackName, TemplateStage: 'Original' })))
      .TemplateBody;
    const template = JSON.parse(body ?? '{"Resources":{}}') as Template;
    const physical = (logicalId: string | undefined) =>
      resources.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId;
    const functions = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Alias' && r.Properties?.Name === LIVE_ALIAS)
      .map(([aliasLogicalId, r]) => ({ aliasLogicalId, r, policy: policyOf(r) }))
      .filter(({ policy }) => policy !== undefined)
      .map(({ aliasLogicalId, r, policy }): ReleasedFunction => {
        const fnRef = (r.Properties!.FunctionName as { Ref?: string }).Ref!;
        const version = r.Properties!.FunctionVersion as string | { 'Fn::GetAtt'?: [string, string] };
        const groupLogicalId = policy?.DeploymentGroupName?.Ref;
        const recorded =
          typeof version === 'string' ? version : versionOfArn(physical(version['Fn::GetAtt']?.[0]));
        return {
          logicalId: fnRef,
          aliasLogicalId,
          name: physical(fnRef) ?? fnRef,
          ...(groupLogicalId && physical(groupLogicalId) && { deploymentGroup: physical(groupLogicalId) }),
          ...(recorded && { recordedVersion: recorded }),
        };
      });
    const described: CellStack = {
      stackName: StackName,
      status: stack.StackStatus ?? 'UNKNOWN',
      ...(stack.StackStatusReason && { statusReason: stack.StackStatusReason }),
      ...(stack.LastUpdatedTime && { lastUpdated: stack.LastUpdatedTime }),
      parameters: stack.Parameters ?? [],
      ...(resources.find((r) => r.ResourceType === 'AWS::CodeDeploy::Application') && {
        application: resources.find((r) => r.ResourceType === 'AWS::CodeDeploy::Application')!
          .PhysicalResourceId,
      }),
      functions,
      alarms: resources
        .filter((r) => r.ResourceType === 'AWS::CloudWatch::Alarm')
        .map((r) => r.PhysicalResourceId!),
      template,
    };
    this.described.set(cell.id, described);
    return described;
  }

  private async deploymentsOf(
    cell: Cell,
    stack: CellStack,
    fn: ReleasedFunction,
    filter: { statuses?: DeploymentStatus[]; since?: number },
  ): Promise<string[]> {
    if (!stack.application || !fn.deploymentGroup) return [];
    const out = await this.clients(cell.region).codedeploy.send(
      new ListDeploymentsCommand({
        applicationName: stack.application,
        deploymentGroupName: fn.deploymentGroup,
        ...(filter.statuses && { includeOnlyStatuses: filter.statuses }),
        ...(filter.since !== undefined && { createTimeRange: { start: new Date(filter.since) } }),
      }),
    );
    return out.deployments ?? [];
  }

  private async deployment(cell: Cell, id: string): Promise<DeploymentInfo | undefined> {
    return (await this.clients(cell.region).codedeploy.send(new GetDeploymentCommand({ deploymentId: id })))
      .deploymentInfo;
  }

  private async versionExists(
    cell: Cell,
    name: string,
    version: string,
  ): Promise<{ exists: boolean; release?: string }> {
    try {
      const out = await this.clients(cell.region).lambda.send(
        new GetFunctionCommand({ FunctionName: name, Qualifier: version }),
      );
      const release = out.Configuration?.Environment?.Variables?.RELEASE;
      return { exists: true, ...(release && { release }) };
    } catch (err) {
      if (isMissing(err)) return { exists: false };
      throw err;
    }
  }

  /** The version the live version replaced: from the deployment that made it live. */
  private async previousOf(
    cell: Cell,
    stack: CellStack,
    fn: ReleasedFunction,
    live: string,
  ): Promise<string | undefined> {
    const ids = await this.deploymentsOf(cell, stack, fn, { statuses: ['Succeeded'] });
    for (const id of ids.slice(0, 10)) {
      const versions = appSpecVersions(await this.deployment(cell, id));
      if (versions.target === live && versions.current) return versions.current;
    }
    return undefined;
  }

  async status(cell: Cell, options: { previous?: boolean } = {}): Promise<CellStatus> {
    let stack: CellStack;
    try {
      stack = await this.describe(cell);
    } catch (err) {
      return { cellId: cell.id, wave: cell.wave, unavailable: (err as Error).message, functions: [] };
    }
    const { lambda } = this.clients(cell.region);
    let deployment: CellStatus['deployment'];
    const functions: FunctionReleaseState[] = [];
    for (const fn of stack.functions) {
      const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn.name, Name: LIVE_ALIAS }));
      const primary = alias.FunctionVersion ?? '$LATEST';
      const extra = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
      const weights = [
        { version: primary, weight: Math.round((1 - extra.reduce((s, [, w]) => s + w, 0)) * 1e6) / 1e6 },
        ...extra.map(([version, weight]) => ({ version, weight })),
      ];
      const live = /^\d+$/.test(primary)
        ? await this.versionExists(cell, fn.name, primary)
        : { exists: false };
      const active = await this.deploymentsOf(cell, stack, fn, { statuses: ACTIVE_STATUSES });
      if (active[0] && !deployment) {
        const info = await this.deployment(cell, active[0]);
        deployment = { id: active[0], status: info?.status ?? 'InProgress' };
      }
      let previous: FunctionReleaseState['previous'];
      if (options.previous && /^\d+$/.test(primary)) {
        const prev = await this.previousOf(cell, stack, fn, primary);
        if (prev)
          previous = { version: prev, exists: (await this.versionExists(cell, fn.name, prev)).exists };
      }
      functions.push({
        name: fn.name,
        weights,
        liveExists: live.exists,
        ...(live.release && { release: live.release }),
        ...(previous && { previous }),
        ...(fn.recordedVersion && { recordedVersion: fn.recordedVersion }),
      });
    }
    if (!deployment && inProgress(stack.status)) deployment = { id: stack.stackName, status: stack.status };
    return { cellId: cell.id, wave: cell.wave, functions, ...(deployment && { deployment }) };
  }

  async deploy(cells: readonly Cell[], spec: DeploySpec): Promise<void> {
    if (spec.extraEnv)
      throw new Error('the AWS target deploys what the CDK app builds: no extra environment');
    const ids = cells.map((c) => c.id);
    const args = [
      'deploy',
      ...ids.map(cellStackName),
      '--exclusively',
      '--require-approval',
      'never',
      '--concurrency',
      String(cells.length),
      '-c',
      `release=${spec.release}`,
      '-c',
      `cells=${ids.join(',')}`,
      ...(this.options.configFile ? ['-c', `config=${this.options.configFile}`] : []),
    ];
    const wave: WaveRun = { startedAt: this.now(), release: spec.release, run: this.runCdk(args) };
    void wave.run.done.then((exit) => (wave.exit = exit));
    for (const id of ids) this.waves.set(id, wave);
  }

  async *follow(cell: Cell): AsyncGenerator<DeployEvent> {
    const wave = this.waves.get(cell.id);
    if (!wave) throw new Error(`no deployment was started on cell ${cell.id}`);
    const seen = new Map<string, string>();
    const infos = new Map<string, { fn: string; info: DeploymentInfo }>();
    for (;;) {
      const exited = wave.exit;
      let stack: CellStack;
      try {
        stack = await this.describe(cell);
      } catch (err) {
        if (!exited) {
          await this.sleep(this.pollMs);
          continue;
        }
        yield this.done(
          cell,
          wave,
          'failed',
          `${(err as Error).message}; cdk: ${tail(exited.output)}`,
          infos,
        );
        return;
      }
      for (const fn of stack.functions) {
        for (const id of await this.deploymentsOf(cell, stack, fn, { since: wave.startedAt })) {
          if (seen.has(id) && ENDED.includes(seen.get(id)!)) continue;
          const info = await this.deployment(cell, id);
          if (!info) continue;
          infos.set(id, { fn: fn.name, info });
          const status = info.status ?? 'Unknown';
          if (seen.get(id) !== status) {
            seen.set(id, status);
            const why = info.errorInformation?.message ? `: ${info.errorInformation.message}` : '';
            yield {
              type: 'progress',
              cellId: cell.id,
              message: `${fn.name}: CodeDeploy ${id} ${status}${why}`,
            };
          }
        }
      }
      const updated = stack.lastUpdated !== undefined && stack.lastUpdated.getTime() >= wave.startedAt;
      if (updated && !inProgress(stack.status)) {
        if (stack.status === 'UPDATE_COMPLETE') yield this.done(cell, wave, 'succeeded', undefined, infos);
        else if (stack.status === 'UPDATE_ROLLBACK_COMPLETE') {
          const failed = [...infos.values()].find(
            (d) => d.info.status === 'Failed' || d.info.status === 'Stopped',
          );
          const reason = failed
            ? `${failed.fn}: ${failed.info.errorInformation?.message ?? failed.info.status}`
            : (stack.statusReason ?? 'the stack update was rolled back');
          yield this.done(cell, wave, 'rolled-back', reason, infos);
        } else
          yield this.done(cell, wave, 'failed', `${stack.status}: ${stack.statusReason ?? ''}`.trim(), infos);
        return;
      }
      if (exited && !inProgress(stack.status)) {
        yield exited.code === 0
          ? this.done(cell, wave, 'unchanged', undefined, infos)
          : this.done(
              cell,
              wave,
              'failed',
              `cdk deploy exited with ${exited.code}: ${tail(exited.output)}`,
              infos,
            );
        return;
      }
      await this.sleep(this.pollMs);
    }
  }

  private done(
    cell: Cell,
    wave: WaveRun,
    result: Extract<DeployEvent, { type: 'done' }>['result'],
    reason: string | undefined,
    infos: Map<string, { fn: string; info: DeploymentInfo }>,
  ): Extract<DeployEvent, { type: 'done' }> {
    const from: Record<string, string> = {};
    const to: Record<string, string> = {};
    for (const { fn, info } of infos.values()) {
      const v = appSpecVersions(info);
      if (v.current) from[fn] = v.current;
      if (v.target) to[fn] = v.target;
    }
    return {
      type: 'done',
      cellId: cell.id,
      result,
      ...(reason && { reason }),
      ...(Object.keys(from).length > 0 && { from }),
      ...(Object.keys(to).length > 0 && { to }),
      durationMs: this.now() - wave.startedAt,
    };
  }

  async rollback(cell: Cell, _reason: string): Promise<RollbackResult> {
    const started = this.now();
    const state = await this.status(cell, { previous: true });
    const stack = this.described.get(cell.id)!;
    const { codedeploy } = this.clients(cell.region);
    const active = (
      await Promise.all(
        stack.functions.map((fn) => this.deploymentsOf(cell, stack, fn, { statuses: ACTIVE_STATUSES })),
      )
    ).flat();
    if (active.length > 0) {
      const from: Record<string, string> = {};
      const to: Record<string, string> = {};
      for (const id of active) {
        await codedeploy.send(new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true }));
      }
      // Stopped with rollback: CodeDeploy moves the alias back; wait until it has.
      for (const id of active) {
        for (;;) {
          const info = await this.deployment(cell, id);
          if (ENDED.includes(info?.status ?? 'Stopped')) {
            const fn =
              stack.functions.find((f) => f.deploymentGroup === info?.deploymentGroupName)?.name ?? id;
            const v = appSpecVersions(info);
            if (v.target) from[fn] = v.target;
            if (v.current) to[fn] = v.current;
            break;
          }
          await this.sleep(Math.min(this.pollMs, 2000));
        }
      }
      return {
        cellId: cell.id,
        kind: 'stopped-deployment',
        from,
        to,
        ms: this.now() - started,
        notes: ['CodeDeploy moved the alias back; CloudFormation rolls the stack update back with it'],
      };
    }
    if (inProgress(stack.status)) {
      throw new Error(`stack ${stack.stackName} is ${stack.status} with no CodeDeploy deployment to stop`);
    }
    // An earlier rollback moved the alias but could not re-anchor CloudFormation: finish that only.
    const drifted = state.functions.filter(
      (f) =>
        f.recordedVersion !== undefined &&
        f.weights.length === 1 &&
        f.recordedVersion !== f.weights[0].version,
    );
    if (drifted.length > 0) {
      const versions = Object.fromEntries(drifted.map((f) => [f.name, f.weights[0].version]));
      const note = await this.anchor(cell, stack, versions);
      return {
        cellId: cell.id,
        kind: 'alias',
        from: Object.fromEntries(drifted.map((f) => [f.name, f.recordedVersion!])),
        to: versions,
        ms: 0,
        notes: [`the alias was already back (an earlier rollback): ${note}`],
      };
    }
    const targets = Object.fromEntries(
      state.functions.flatMap((f) => (f.previous ? [[f.name, f.previous.version]] : [])),
    );
    return this.moveAliases(cell, stack, targets, started);
  }

  async pointTo(cell: Cell, versions: Readonly<Record<string, string>>): Promise<RollbackResult> {
    const started = this.now();
    const stack = await this.describe(cell);
    return this.moveAliases(cell, stack, versions, started);
  }

  /** Moves each alias (by function name) to its version, then re-anchors CloudFormation on them. */
  private async moveAliases(
    cell: Cell,
    stack: CellStack,
    versions: Readonly<Record<string, string>>,
    started: number,
  ): Promise<RollbackResult> {
    const { lambda } = this.clients(cell.region);
    const from: Record<string, string> = {};
    const to: Record<string, string> = {};
    for (const fn of stack.functions) {
      const version = versions[fn.name];
      if (version === undefined) continue;
      const before = await lambda.send(
        new UpdateAliasCommand({
          FunctionName: fn.name,
          Name: LIVE_ALIAS,
          FunctionVersion: version,
          RoutingConfig: { AdditionalVersionWeights: {} },
        }),
      );
      from[fn.name] = fn.recordedVersion ?? before.FunctionVersion ?? '?';
      to[fn.name] = version;
    }
    const ms = this.now() - started;
    const notes: string[] = [];
    try {
      notes.push(await this.anchor(cell, stack, versions));
    } catch (err) {
      notes.push(
        `the alias is back, but CloudFormation could not be re-anchored (${(err as Error).message}): ` +
          `\`release\` refuses this cell until \`bulkhead rollback --cell ${cell.id}\` succeeds`,
      );
    }
    return { cellId: cell.id, kind: 'alias', from, to, ms, notes };
  }

  /**
   * Updates the stack with its own deployed template, each moved alias pinned to its version and without
   * the CodeDeploy update policy: CloudFormation then records the alias's real version, and sets it
   * (a no-op, the alias is already there) instead of starting a traffic shift.
   */
  private async anchor(
    cell: Cell,
    stack: CellStack,
    versions: Readonly<Record<string, string>>,
  ): Promise<string> {
    const template = JSON.parse(JSON.stringify(stack.template)) as Template;
    const pinned: string[] = [];
    for (const fn of stack.functions) {
      const version = versions[fn.name];
      if (version === undefined || fn.recordedVersion === version) continue;
      const alias = template.Resources[fn.aliasLogicalId];
      alias.Metadata = {
        ...alias.Metadata,
        [ANCHOR_METADATA]: { policy: policyOf(alias), from: fn.recordedVersion ?? null },
      };
      alias.Properties!.FunctionVersion = version;
      delete alias.UpdatePolicy;
      pinned.push(`${fn.name} v${version}`);
    }
    if (pinned.length === 0) return 'CloudFormation already has these versions';
    const body = JSON.stringify(template);
    if (Buffer.byteLength(body) > MAX_TEMPLATE_BODY) {
      throw new Error(
        `the template is ${Buffer.byteLength(body)} bytes, over UpdateStack's ${MAX_TEMPLATE_BODY}`,
      );
    }
    const { cfn } = this.clients(cell.region);
    await cfn.send(
      new UpdateStackCommand({
        StackName: stack.stackName,
        TemplateBody: body,
        Parameters: stack.parameters.map((p) => ({ ParameterKey: p.ParameterKey, UsePreviousValue: true })),
        Capabilities: [...CAPABILITIES],
      }),
    );
    for (;;) {
      await this.sleep(Math.min(this.pollMs, 5000));
      const s = (await cfn.send(new DescribeStacksCommand({ StackName: stack.stackName }))).Stacks?.[0];
      const status = s?.StackStatus ?? 'UNKNOWN';
      if (inProgress(status)) continue;
      if (status !== 'UPDATE_COMPLETE') throw new Error(`${status}: ${s?.StackStatusReason ?? ''}`.trim());
      return `CloudFormation re-anchored on ${pinned.join(', ')}`;
    }
  }

  async alarms(cell: Cell): Promise<string[]> {
    const stack = this.described.get(cell.id) ?? (await this.describe(cell));
    const names = [...stack.alarms];
    const firing: string[] = [];
    for (let i = 0; i < names.length; i += 100) {
      const out = await this.clients(cell.region).cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), StateValue: 'ALARM' }),
      );
      for (const a of out.MetricAlarms ?? [])
        firing.push(`${a.AlarmName}${a.StateReason ? `: ${a.StateReason}` : ''}`);
    }
    return firing;
  }

  async invoke(cell: Cell, qualifier: string, request: ApiRequest): Promise<ApiResponse> {
    const out = await this.clients(cell.region).lambda.send(
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
    for (const c of this.regional.values()) {
      c.cfn.destroy();
      c.codedeploy.destroy();
      c.lambda.destroy();
      c.cloudwatch.destroy();
    }
  }
}

const tail = (output: string): string => output.trim().split('\n').slice(-3).join(' / ');
