/**
 * Reading a cell on AWS: its stack (`DescribeStacks`, `ListStackResources`, the deployed template), its
 * CodeDeploy deployments, its function versions, and from those its release state.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type Parameter,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import {
  CodeDeployClient,
  type DeploymentInfo,
  type DeploymentStatus,
  GetDeploymentCommand,
  ListDeploymentsCommand,
} from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';

import type { Cell } from '../../../config/types';
import { cellStackName, LIVE_ALIAS } from '../../../contracts/names';
import {
  type CellTemplate,
  type FunctionReleaseState,
  previousInLog,
  type ReleaseHistoryEntry,
  type ReleasedFunction,
  releaseAlarmIds,
  releasedFunctions,
  stackInProgress,
} from '../../../domain/release';
import { cellPlace, type RegionalClients } from '../../aws-clients';
import type { CellStatus } from '../release-target';

/** CodeDeploy's statuses of a deployment that has not ended. */
export const ACTIVE_STATUSES: DeploymentStatus[] = ['Created', 'Queued', 'InProgress', 'Baking', 'Ready'];

export interface CellStack {
  readonly stackName: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly lastUpdated?: Date;
  readonly created: Date;
  readonly parameters: readonly Parameter[];
  readonly application?: string;
  readonly functions: readonly ReleasedFunction[];
  /** The release-health alarms (those of its deployment groups): what judges a release and its bake. */
  readonly alarms: readonly string[];
  /** Every other alarm: operational, shown but never judging a release. */
  readonly operationalAlarms: readonly string[];
  readonly template: CellTemplate;
}

const isMissing = (err: unknown): boolean => (err as { name?: string }).name === 'ResourceNotFoundException';

/** The versions an AppSpec names (CloudFormation writes it as JSON; YAML is read the same way). */
export function appSpecVersions(info: DeploymentInfo | undefined): { current?: string; target?: string } {
  const content = info?.revision?.appSpecContent?.content ?? info?.revision?.string?.content ?? '';
  const pick = (key: string) => new RegExp(`"?${key}"?\\s*:\\s*"?([^",\\s}]+)`).exec(content)?.[1];
  return { current: pick('CurrentVersion'), target: pick('TargetVersion') };
}

export class CellStackReader {
  private readonly latest = new Map<string, CellStack>();

  /**
   * @param history the release log's entries of a cell, oldest first (where a rollback target is looked
   *   up when CodeDeploy has no deployment that made the live version live)
   */
  constructor(
    private readonly clients: RegionalClients,
    private readonly history: (cellId: string) => readonly ReleaseHistoryEntry[] = () => [],
  ) {}

  /** The stack as last described, else described now. */
  async lastDescribed(cell: Cell): Promise<CellStack> {
    return this.latest.get(cell.id) ?? (await this.describe(cell));
  }

  /** The cell's stack: status, released functions (alias, deployment group, recorded version), alarms. */
  async describe(cell: Cell): Promise<CellStack> {
    const stack = await this.read(cell);
    this.latest.set(cell.id, stack);
    return stack;
  }

  private async read(cell: Cell): Promise<CellStack> {
    const cfn = this.clients.get(CloudFormationClient, cellPlace(cell));
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
    const template = JSON.parse(body ?? '{"Resources":{}}') as CellTemplate;
    const physical = (logicalId: string | undefined) =>
      resources.find((r) => r.LogicalResourceId === logicalId)?.PhysicalResourceId;
    const application = resources.find((r) => r.ResourceType === 'AWS::CodeDeploy::Application');
    const judging = releaseAlarmIds(template);
    const alarms = resources.filter((r) => r.ResourceType === 'AWS::CloudWatch::Alarm');
    const names = (release: boolean) =>
      alarms.filter((r) => judging.has(r.LogicalResourceId!) === release).map((r) => r.PhysicalResourceId!);
    return {
      stackName: StackName,
      status: stack.StackStatus ?? 'UNKNOWN',
      ...(stack.StackStatusReason && { statusReason: stack.StackStatusReason }),
      ...(stack.LastUpdatedTime && { lastUpdated: stack.LastUpdatedTime }),
      created: stack.CreationTime ?? new Date(0),
      parameters: stack.Parameters ?? [],
      ...(application && { application: application.PhysicalResourceId }),
      functions: releasedFunctions(template, LIVE_ALIAS, physical),
      alarms: names(true),
      operationalAlarms: names(false),
      template,
    };
  }

  /** The function's CodeDeploy deployments, every page, in no documented order. */
  async deploymentsOf(
    cell: Cell,
    stack: CellStack,
    fn: ReleasedFunction,
    filter: { statuses?: DeploymentStatus[]; since?: number },
  ): Promise<string[]> {
    if (!stack.application || !fn.deploymentGroup) return [];
    const codedeploy = this.clients.get(CodeDeployClient, cellPlace(cell));
    const ids: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await codedeploy.send(
        new ListDeploymentsCommand({
          applicationName: stack.application,
          deploymentGroupName: fn.deploymentGroup,
          ...(filter.statuses && { includeOnlyStatuses: filter.statuses }),
          ...(filter.since !== undefined && { createTimeRange: { start: new Date(filter.since) } }),
          ...(nextToken && { nextToken }),
        }),
      );
      ids.push(...(out.deployments ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    return ids;
  }

  async deployment(cell: Cell, id: string): Promise<DeploymentInfo | undefined> {
    const codedeploy = this.clients.get(CodeDeployClient, cellPlace(cell));
    return (await codedeploy.send(new GetDeploymentCommand({ deploymentId: id }))).deploymentInfo;
  }

  private async versionExists(
    cell: Cell,
    name: string,
    version: string,
  ): Promise<{ exists: boolean; release?: string }> {
    try {
      const out = await this.clients
        .get(LambdaClient, cellPlace(cell))
        .send(new GetFunctionCommand({ FunctionName: name, Qualifier: version }));
      const release = out.Configuration?.Environment?.Variables?.RELEASE;
      return { exists: true, ...(release && { release }) };
    } catch (err) {
      if (isMissing(err)) return { exists: false };
      throw err;
    }
  }

  /**
   * The version the live version replaced: from the newest deployment that made it live (every page of
   * `ListDeployments`, whose order AWS does not document, compared by `createTime`), else from the release
   * log's newest release of the cell that moved this function onto it.
   */
  private async previousOf(
    cell: Cell,
    stack: CellStack,
    fn: ReleasedFunction,
    live: string,
  ): Promise<string | undefined> {
    let best: { at: number; version: string } | undefined;
    for (const id of await this.deploymentsOf(cell, stack, fn, { statuses: ['Succeeded'] })) {
      const info = await this.deployment(cell, id);
      const versions = appSpecVersions(info);
      const at = info?.createTime?.getTime() ?? 0;
      if (versions.target === live && versions.current && (!best || at > best.at))
        best = { at, version: versions.current };
    }
    return best?.version ?? previousInLog(this.history(cell.id), fn.name, live);
  }

  /**
   * One function's `live` alias (weights, whether its version exists, its release, its previous version)
   * and its deployments under way.
   */
  private async functionState(
    cell: Cell,
    stack: CellStack,
    fn: ReleasedFunction,
    withPrevious: boolean,
  ): Promise<{ state: FunctionReleaseState; active: string[] }> {
    const lambda = this.clients.get(LambdaClient, cellPlace(cell));
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn.name, Name: LIVE_ALIAS }));
    const primary = alias.FunctionVersion ?? '$LATEST';
    const extra = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
    const weights = [
      { version: primary, weight: Math.round((1 - extra.reduce((s, [, w]) => s + w, 0)) * 1e6) / 1e6 },
      ...extra.map(([version, weight]) => ({ version, weight })),
    ];
    const numbered = /^\d+$/.test(primary);
    const live = numbered ? await this.versionExists(cell, fn.name, primary) : { exists: false };
    const active = await this.deploymentsOf(cell, stack, fn, { statuses: ACTIVE_STATUSES });
    let previous: FunctionReleaseState['previous'];
    if (withPrevious && numbered) {
      const prev = await this.previousOf(cell, stack, fn, primary);
      if (prev) previous = { version: prev, exists: (await this.versionExists(cell, fn.name, prev)).exists };
    }
    const state: FunctionReleaseState = {
      name: fn.name,
      weights,
      liveExists: live.exists,
      ...(live.release && { release: live.release }),
      ...(previous && { previous }),
      ...(fn.recordedVersion && { recordedVersion: fn.recordedVersion }),
    };
    return { state, active };
  }

  /** The cell's release state (`unavailable` when its stack cannot be read). */
  async status(cell: Cell, options: { previous?: boolean }): Promise<CellStatus> {
    let stack: CellStack;
    try {
      stack = await this.describe(cell);
    } catch (err) {
      return { cellId: cell.id, wave: cell.wave, unavailable: (err as Error).message, functions: [] };
    }
    let deployment: CellStatus['deployment'];
    const functions: FunctionReleaseState[] = [];
    for (const fn of stack.functions) {
      const { state, active } = await this.functionState(cell, stack, fn, options.previous === true);
      functions.push(state);
      if (active[0] && !deployment) {
        const info = await this.deployment(cell, active[0]);
        deployment = { id: active[0], status: info?.status ?? 'InProgress' };
      }
    }
    if (!deployment && stackInProgress(stack.status)) {
      deployment = { id: stack.stackName, status: stack.status };
    }
    return { cellId: cell.id, wave: cell.wave, functions, ...(deployment && { deployment }) };
  }
}
