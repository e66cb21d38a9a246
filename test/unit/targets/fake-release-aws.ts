/**
 * A small AWS for the release target, behind `aws-sdk-client-mock`: cell stacks, aliases and versions,
 * CodeDeploy deployments, alarms, Lambda invocations, and a `cdk deploy` that drives them. Time is the
 * fake's own: it passes only when the target sleeps.
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  CodeDeployClient,
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
  ResourceNotFoundException,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

import type { Cell, Fleet } from '../../../lib/config/types';
import { AccountCredentials } from '../../../lib/targets/account-credentials';
import { AwsReleaseTarget, type CdkRun } from '../../../lib/targets/release/aws-release-target';

import { doc, FakeReleasesTable } from './fake-releases-table';

export { doc } from './fake-releases-table';

export const cfn = mockClient(CloudFormationClient);
export const codedeploy = mockClient(CodeDeployClient);
export const lambda = mockClient(LambdaClient);
export const cloudwatch = mockClient(CloudWatchClient);
export const s3 = mockClient(S3Client);

export const cell = (id: string, wave: number, region = 'us-east-1'): Cell => ({
  id,
  wave,
  maxTenants: 10,
  tenants: [],
  deployment: { type: 'canary', percent: 10, intervalMinutes: 5 },
  bakeMinutes: 10,
  account: '111111111111',
  region,
});
export const FLEET: Fleet = {
  router: { account: '111111111111', region: 'us-east-1' },
  cells: [cell('a0', 0), cell('b1', 1), cell('c2', 2, 'us-west-2')],
};

export const fnName = (id: string) => `bulkhead-${id}-api`;
export const ALIAS = 'ApiReleaseAliasE44B3E05';
export const VERSION_ID = 'ApiCurrentVersion8C3844613c';

/** The part of a cell stack's template the release target reads (one released function). */
export const template = (version: unknown, policy = true) => ({
  Resources: {
    ApiF70053CD: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'fixed-name' } },
    [VERSION_ID]: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'ApiF70053CD' } } },
    [ALIAS]: {
      Type: 'AWS::Lambda::Alias',
      Properties: { FunctionName: { Ref: 'ApiF70053CD' }, FunctionVersion: version, Name: 'live' },
      ...(policy && {
        UpdatePolicy: {
          CodeDeployLambdaAliasUpdate: {
            ApplicationName: { Ref: 'ReleasesE6BA3EBF' },
            DeploymentGroupName: { Ref: 'ApiReleaseDeploymentF0972FDC' },
            BeforeAllowTrafficHook: { Ref: 'PreTrafficHook5CE97F1D' },
          },
        },
      }),
    },
    ReleasesE6BA3EBF: { Type: 'AWS::CodeDeploy::Application', Properties: { ComputePlatform: 'Lambda' } },
    ApiReleaseDeploymentF0972FDC: {
      Type: 'AWS::CodeDeploy::DeploymentGroup',
      Properties: {
        AlarmConfiguration: { Enabled: true, Alarms: [{ Name: { Ref: 'ApiReleaseNewVersionErrors' } }] },
      },
    },
    ApiReleaseNewVersionErrors: { Type: 'AWS::CloudWatch::Alarm', Properties: {} },
    DeadLetterAlarm: { Type: 'AWS::CloudWatch::Alarm', Properties: {} },
  },
});

/** The template after re-anchoring: the alias pinned to `version`, its update policy kept in Metadata. */
export function anchored(version: string, from: string) {
  const t = template(version, false);
  const policy = template('', true).Resources[ALIAS].UpdatePolicy!.CodeDeployLambdaAliasUpdate;
  return {
    Resources: {
      ...t.Resources,
      [ALIAS]: { ...t.Resources[ALIAS], Metadata: { 'bulkhead:anchored': { policy, from } } },
    },
  };
}

interface FakeDeployment {
  status: DeploymentStatus;
  current: string;
  target: string;
  created: number;
  error?: string;
}

interface CellWorld {
  stackStatus: string;
  statusReason?: string;
  lastUpdated: number;
  alias: string;
  split?: Record<string, number>;
  /** The version of the stack's Version resource. */
  recorded: string;
  template: ReturnType<typeof template>;
  versions: Map<string, string>;
  deployments: Map<string, FakeDeployment>;
  /** What the next deployment does. */
  next: 'succeed' | 'fail';
  alarms: string[];
  /** A stack just created (no `LastUpdatedTime`, created at `lastUpdated`). */
  fresh?: boolean;
}

export class FakeAws {
  now = 1_000_000;
  /** The router account's releases table: the shared release log and the cells' locks. */
  readonly releases = new FakeReleasesTable();
  readonly cells = new Map<string, CellWorld>();
  readonly cdkRuns: string[][] = [];
  /** Calls still to be throttled, by command name (`DescribeStacks`, `ListDeployments`). */
  readonly throttles = new Map<string, number>();
  /** Objects put in S3, by `https://<bucket>.s3.<region>.amazonaws.com/<key>`. */
  readonly objects = new Map<string, string>();
  private runs: { cells: string[]; resolve: (r: { code: number; output: string }) => void }[] = [];
  private ids = 0;

  constructor() {
    for (const c of FLEET.cells) {
      this.cells.set(c.id, {
        stackStatus: 'UPDATE_COMPLETE',
        lastUpdated: 1000,
        alias: '4',
        recorded: '4',
        template: template({ 'Fn::GetAtt': [VERSION_ID, 'Version'] }),
        versions: new Map([
          ['3', 'r0'],
          ['4', 'r1'],
        ]),
        deployments: new Map([
          ['d-old-' + c.id, { status: 'Succeeded', current: '3', target: '4', created: 500 }],
        ]),
        next: 'succeed',
        alarms: [],
      });
    }
  }

  world(id: string): CellWorld {
    return this.cells.get(id)!;
  }

  private cellOf(input: {
    StackName?: string;
    FunctionName?: string;
    applicationName?: string;
  }): [string, CellWorld] {
    const name = input.StackName ?? input.FunctionName ?? input.applicationName ?? '';
    const id = /(?:Bulkhead-Cell-|bulkhead-|^)([a-z0-9]+)/.exec(name)?.[1] ?? '';
    const world = this.cells.get(id);
    if (!world) throw new Error(`no such cell in ${name}`);
    return [id, world];
  }

  private deploymentById(id: string): [string, FakeDeployment] {
    for (const [cellId, w] of this.cells) {
      const d = w.deployments.get(id);
      if (d) return [cellId, d];
    }
    throw new Error(`no deployment ${id}`);
  }

  /** `cdk deploy`: each named stack starts updating and hands its alias to CodeDeploy. */
  runCdk = (args: readonly string[]): CdkRun => {
    this.cdkRuns.push([...args]);
    const cells = args
      .filter((a) => a.startsWith('Bulkhead-Cell-'))
      .map((a) => a.slice('Bulkhead-Cell-'.length));
    for (const id of cells) {
      const w = this.world(id);
      const target = String(Math.max(...[...w.versions.keys()].map(Number)) + 1);
      w.versions.set(target, args.find((a) => a.startsWith('release='))!.slice('release='.length));
      // A fresh synth: the alias on the new Version resource, under CodeDeploy's update policy again.
      w.template = template({ 'Fn::GetAtt': [VERSION_ID, 'Version'] });
      w.stackStatus = 'UPDATE_IN_PROGRESS';
      w.lastUpdated = this.now;
      // The canary's share on the new version until the deployment ends.
      w.split = { [target]: 0.1 };
      w.deployments.set(`d-${++this.ids}`, {
        status: 'InProgress',
        current: w.alias,
        target,
        created: this.now,
      });
    }
    return { done: new Promise((resolve) => this.runs.push({ cells, resolve })) };
  };

  /** Time passes: deployments under way end as planned, and `cdk deploy` exits when its stacks have. */
  tick(ms: number): void {
    this.now += ms;
    for (const w of this.cells.values()) {
      // A stopped deployment's stack update finishes rolling back.
      if (w.stackStatus === 'UPDATE_ROLLBACK_IN_PROGRESS') w.stackStatus = 'UPDATE_ROLLBACK_COMPLETE';
      for (const d of w.deployments.values()) {
        if (d.status !== 'InProgress') continue;
        w.split = undefined;
        if (w.next === 'succeed') {
          d.status = 'Succeeded';
          w.alias = d.target;
          w.recorded = d.target;
          w.stackStatus = 'UPDATE_COMPLETE';
        } else {
          d.status = 'Failed';
          d.error = 'One or more alarms have been activated: a0-api-errors';
          w.stackStatus = 'UPDATE_ROLLBACK_COMPLETE';
        }
      }
    }
    this.runs = this.runs.filter((run) => {
      if (run.cells.some((id) => this.world(id).stackStatus.endsWith('_IN_PROGRESS'))) return true;
      const failed = run.cells.some((id) => this.world(id).stackStatus !== 'UPDATE_COMPLETE');
      run.resolve({ code: failed ? 1 : 0, output: failed ? 'deployment failed' : 'done' });
      return false;
    });
  }

  sleep = async (ms: number): Promise<void> => {
    this.tick(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };

  /** The AWS release target on this fake: its `cdk deploy`, its clock, its sleep; a CodeDeploy poll every 10 s. */
  releaseTarget(logFile: string): AwsReleaseTarget {
    return new AwsReleaseTarget({
      fleet: FLEET,
      root: '/project',
      runCdk: this.runCdk,
      pollMs: 10_000,
      sleep: this.sleep,
      now: () => this.now,
      logFile,
      // The operator's own account is the fleet's: no role is assumed.
      credentials: new AccountCredentials(FLEET.router.region, {
        own: async () => ({ accessKeyId: 'operator', secretAccessKey: 'operator' }),
      }),
    });
  }

  /** Throws AWS's throttling error for the command while throttles for it are left. */
  private throttled(command: string): void {
    const left = this.throttles.get(command) ?? 0;
    if (left === 0) return;
    this.throttles.set(command, left - 1);
    throw Object.assign(new Error('Rate exceeded'), {
      name: command === 'DescribeStacks' ? 'Throttling' : 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
  }

  install(): void {
    doc.reset();
    this.releases.install();
    cfn.on(DescribeStacksCommand).callsFake((input) => {
      this.throttled('DescribeStacks');
      const [id, w] = this.cellOf(input);
      return {
        Stacks: [
          {
            StackName: `Bulkhead-Cell-${id}`,
            StackStatus: w.fresh ? w.stackStatus.replace('UPDATE_', 'CREATE_') : w.stackStatus,
            ...(w.statusReason && { StackStatusReason: w.statusReason }),
            CreationTime: new Date(w.fresh ? w.lastUpdated : 0),
            ...(!w.fresh && { LastUpdatedTime: new Date(w.lastUpdated) }),
            Parameters: [
              { ParameterKey: 'BootstrapVersion', ParameterValue: '/cdk-bootstrap/hnb659fds/version' },
            ],
          },
        ],
      };
    });
    cfn.on(ListStackResourcesCommand).callsFake((input) => {
      const [id, w] = this.cellOf(input);
      const summary = (LogicalResourceId: string, ResourceType: string, PhysicalResourceId: string) => ({
        LogicalResourceId,
        ResourceType,
        PhysicalResourceId,
        ResourceStatus: 'UPDATE_COMPLETE',
        LastUpdatedTimestamp: new Date(0),
      });
      return {
        StackResourceSummaries: [
          summary('ApiF70053CD', 'AWS::Lambda::Function', fnName(id)),
          summary(
            VERSION_ID,
            'AWS::Lambda::Version',
            `arn:aws:lambda:us-east-1:111111111111:function:${fnName(id)}:${w.recorded}`,
          ),
          summary(
            ALIAS,
            'AWS::Lambda::Alias',
            `arn:aws:lambda:us-east-1:111111111111:function:${fnName(id)}:live`,
          ),
          summary('ReleasesE6BA3EBF', 'AWS::CodeDeploy::Application', `${id}-releases`),
          summary('ApiReleaseDeploymentF0972FDC', 'AWS::CodeDeploy::DeploymentGroup', `${id}-api-group`),
          summary('ApiReleaseNewVersionErrors', 'AWS::CloudWatch::Alarm', `${id}-api-errors`),
          summary('DeadLetterAlarm', 'AWS::CloudWatch::Alarm', `${id}-dead-letters`),
        ],
      };
    });
    cfn
      .on(GetTemplateCommand)
      .callsFake((input) => ({ TemplateBody: JSON.stringify(this.cellOf(input)[1].template) }));
    cfn.on(UpdateStackCommand).callsFake((input) => {
      const [, w] = this.cellOf(input);
      w.template = JSON.parse(input.TemplateBody ?? this.objects.get(input.TemplateURL!)!);
      const version = w.template.Resources[ALIAS].Properties.FunctionVersion;
      if (typeof version === 'string') w.alias = version;
      w.stackStatus = 'UPDATE_COMPLETE';
      w.lastUpdated = this.now;
      return { StackId: 'arn:stack' };
    });
    codedeploy.on(ListDeploymentsCommand).callsFake((input) => {
      this.throttled('ListDeployments');
      const [, w] = this.cellOf(input);
      const since = input.createTimeRange?.start?.getTime() ?? 0;
      return {
        deployments: [...w.deployments.entries()]
          .filter(([, d]) => !input.includeOnlyStatuses || input.includeOnlyStatuses.includes(d.status))
          .filter(([, d]) => d.created >= since)
          .sort(([, a], [, b]) => b.created - a.created)
          .map(([id]) => id),
      };
    });
    codedeploy.on(GetDeploymentCommand).callsFake((input) => {
      const [cellId, d] = this.deploymentById(input.deploymentId);
      const appSpec = {
        version: 0.0,
        Resources: [
          {
            api: {
              Type: 'AWS::Lambda::Function',
              Properties: {
                Name: fnName(cellId),
                Alias: 'live',
                CurrentVersion: d.current,
                TargetVersion: d.target,
              },
            },
          },
        ],
      };
      return {
        deploymentInfo: {
          deploymentId: input.deploymentId,
          deploymentGroupName: `${cellId}-api-group`,
          status: d.status,
          createTime: new Date(d.created),
          ...(d.error && { errorInformation: { code: 'ALARM_ACTIVE', message: d.error } }),
          revision: { revisionType: 'AppSpecContent', appSpecContent: { content: JSON.stringify(appSpec) } },
        },
      };
    });
    codedeploy.on(StopDeploymentCommand).callsFake((input) => {
      const [cellId, d] = this.deploymentById(input.deploymentId);
      d.status = 'Stopped';
      const w = this.world(cellId);
      w.split = undefined;
      w.alias = d.current;
      w.stackStatus = 'UPDATE_ROLLBACK_IN_PROGRESS';
      return { status: 'Pending' };
    });
    lambda.on(GetAliasCommand).callsFake((input) => {
      const [, w] = this.cellOf(input);
      return {
        Name: 'live',
        FunctionVersion: w.alias,
        ...(w.split && { RoutingConfig: { AdditionalVersionWeights: w.split } }),
      };
    });
    lambda.on(GetFunctionCommand).callsFake((input) => {
      const [, w] = this.cellOf(input);
      const release = w.versions.get(input.Qualifier);
      if (!release) throw new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });
      return {
        Configuration: { Version: input.Qualifier, Environment: { Variables: { RELEASE: release } } },
      };
    });
    lambda.on(UpdateAliasCommand).callsFake((input) => {
      const [, w] = this.cellOf(input);
      const before = w.alias;
      w.alias = input.FunctionVersion;
      w.split = undefined;
      return { FunctionVersion: input.FunctionVersion, Description: `was ${before}` };
    });
    // The cell API answers with the version and release that ran the request.
    lambda.on(InvokeCommand).callsFake((input) => {
      const [, w] = this.cellOf(input);
      const version = input.Qualifier === 'live' ? w.alias : input.Qualifier;
      const release = w.versions.get(version);
      if (!release) throw new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });
      const answer = { statusCode: 200, body: JSON.stringify({ version, release }) };
      return { StatusCode: 200, ExecutedVersion: version, Payload: Buffer.from(JSON.stringify(answer)) };
    });
    s3.on(PutObjectCommand).callsFake((input) => {
      this.objects.set(`https://${input.Bucket}.s3.us-east-1.amazonaws.com/${input.Key}`, String(input.Body));
      return {};
    });
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input) => {
      const id = /^([a-z0-9]+)-/.exec(input.AlarmNames[0])?.[1] ?? '';
      const firing = this.world(id).alarms.filter((name) => input.AlarmNames.includes(name));
      return { MetricAlarms: firing.map((AlarmName) => ({ AlarmName, StateValue: 'ALARM' })) };
    });
  }
}
