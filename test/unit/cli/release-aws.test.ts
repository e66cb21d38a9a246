import 'aws-sdk-client-mock-jest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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
  LambdaClient,
  ResourceNotFoundException,
  UpdateAliasCommand,
} from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import { type Io, rollbackCommand, runReleaseCommand, statusCommand } from '../../../lib/cli/release';
import type { Cell, Fleet } from '../../../lib/config/types';
import {
  appSpecVersions,
  AwsReleaseTarget,
  type CdkRun,
} from '../../../lib/targets/release/aws-release-target';

const cfn = mockClient(CloudFormationClient);
const codedeploy = mockClient(CodeDeployClient);
const lambda = mockClient(LambdaClient);
const cloudwatch = mockClient(CloudWatchClient);

const cell = (id: string, wave: number, region = 'us-east-1'): Cell => ({
  id,
  wave,
  maxTenants: 10,
  tenants: [],
  deployment: { type: 'canary', percent: 10, intervalMinutes: 5 },
  bakeMinutes: 10,
  account: '111111111111',
  region,
});
const FLEET: Fleet = {
  router: { account: '111111111111', region: 'us-east-1' },
  cells: [cell('a0', 0), cell('b1', 1), cell('c2', 2, 'us-west-2')],
};

const fnName = (id: string) => `bulkhead-${id}-api`;
const ALIAS = 'ApiReleaseAliasE44B3E05';
const VERSION_ID = 'ApiCurrentVersion8C3844613c';

/** The part of a cell stack's template the release target reads (one released function). */
const template = (version: unknown, policy = true) => ({
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
    ApiReleaseDeploymentF0972FDC: { Type: 'AWS::CodeDeploy::DeploymentGroup', Properties: {} },
    ApiReleaseNewVersionErrors: { Type: 'AWS::CloudWatch::Alarm', Properties: {} },
  },
});

/** The template after re-anchoring: the alias pinned to `version`, its update policy kept in Metadata. */
function anchored(version: string, from: string) {
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
}

/** A small AWS for the release target: stacks, aliases, CodeDeploy, alarms, and `cdk deploy` that drives them. */
class FakeAws {
  now = 1_000_000;
  readonly cells = new Map<string, CellWorld>();
  readonly cdkRuns: string[][] = [];
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
      for (const d of w.deployments.values()) {
        if (d.status !== 'InProgress') continue;
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

  install(): void {
    cfn.on(DescribeStacksCommand).callsFake((input) => {
      const [id, w] = this.cellOf(input);
      return {
        Stacks: [
          {
            StackName: `Bulkhead-Cell-${id}`,
            StackStatus: w.stackStatus,
            ...(w.statusReason && { StackStatusReason: w.statusReason }),
            CreationTime: new Date(0),
            LastUpdatedTime: new Date(w.lastUpdated),
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
        ],
      };
    });
    cfn
      .on(GetTemplateCommand)
      .callsFake((input) => ({ TemplateBody: JSON.stringify(this.cellOf(input)[1].template) }));
    cfn.on(UpdateStackCommand).callsFake((input) => {
      const [, w] = this.cellOf(input);
      w.template = JSON.parse(input.TemplateBody);
      const version = w.template.Resources[ALIAS].Properties.FunctionVersion;
      if (typeof version === 'string') w.alias = version;
      w.stackStatus = 'UPDATE_COMPLETE';
      w.lastUpdated = this.now;
      return { StackId: 'arn:stack' };
    });
    codedeploy.on(ListDeploymentsCommand).callsFake((input) => {
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
    cloudwatch.on(DescribeAlarmsCommand).callsFake((input) => {
      const id = /^([a-z0-9]+)-/.exec(input.AlarmNames[0])?.[1] ?? '';
      return { MetricAlarms: this.world(id).alarms.map((AlarmName) => ({ AlarmName, StateValue: 'ALARM' })) };
    });
  }
}

let aws: FakeAws;
let logFile: string;
let target: AwsReleaseTarget;
let out: string[];
let err: string[];
const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };

function deps() {
  return {
    open: () => ({ target, fleet: FLEET, timeScale: 1 }),
    sleep: aws.sleep,
    now: () => aws.now,
  };
}

beforeEach(() => {
  cfn.reset();
  codedeploy.reset();
  lambda.reset();
  cloudwatch.reset();
  aws = new FakeAws();
  aws.install();
  logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'release-aws-')), 'releases.jsonl');
  target = new AwsReleaseTarget({
    fleet: FLEET,
    root: '/project',
    runCdk: aws.runCdk,
    pollMs: 10_000,
    sleep: aws.sleep,
    now: () => aws.now,
    logFile,
  });
  out = [];
  err = [];
});

const passingDrill = (release: string) =>
  fs.writeFileSync(
    logFile,
    `${JSON.stringify({ at: '2025-01-01T00:00:00.000Z', kind: 'drill', drill: 'rollback', release, ok: true, cell: 'a0', summary: 'drill', who: 'test', target: 'aws' })}\n`,
  );
const inputs = <T>(calls: { args: [{ input: T }] }[]): T[] => calls.map((c) => c.args[0].input);

describe('AWS release target', () => {
  it('deploys wave by wave with `cdk deploy`, follows CodeDeploy, bakes while reading the wave’s alarms', async () => {
    passingDrill('r2');
    const started = aws.now;
    const run = await runReleaseCommand(['--version', 'r2'], io, deps());
    expect(err.filter((l) => l.includes('refused'))).toEqual([]);
    expect(run.code).toBe(0);
    expect(aws.cdkRuns).toEqual(
      ['a0', 'b1', 'c2'].map((id) => [
        'deploy',
        `Bulkhead-Cell-${id}`,
        '--exclusively',
        '--require-approval',
        'never',
        '--concurrency',
        '1',
        '-c',
        'release=r2',
        '-c',
        `cells=${id}`,
      ]),
    );
    expect(
      run.report?.waves.map((w) => [
        w.wave,
        w.state,
        w.outcomes.map((o) => [o.cellId, o.result, o.from, o.to]),
      ]),
    ).toEqual([
      [0, 'released', [['a0', 'succeeded', { 'bulkhead-a0-api': '4' }, { 'bulkhead-a0-api': '5' }]]],
      [1, 'released', [['b1', 'succeeded', { 'bulkhead-b1-api': '4' }, { 'bulkhead-b1-api': '5' }]]],
      [2, 'released', [['c2', 'succeeded', { 'bulkhead-c2-api': '4' }, { 'bulkhead-c2-api': '5' }]]],
    ]);
    // Each cell's deployment is found by its application and group, created since its wave started.
    const listed = inputs(codedeploy.commandCalls(ListDeploymentsCommand)).filter((i) => i.createTimeRange);
    expect([...new Map(listed.map((i) => [i.applicationName, i])).values()]).toEqual([
      {
        applicationName: 'a0-releases',
        deploymentGroupName: 'a0-api-group',
        createTimeRange: { start: new Date(started) },
      },
      {
        applicationName: 'b1-releases',
        deploymentGroupName: 'b1-api-group',
        createTimeRange: { start: new Date(started + 10_000 + 600_000) },
      },
      {
        applicationName: 'c2-releases',
        deploymentGroupName: 'c2-api-group',
        createTimeRange: { start: new Date(started + 2 * 610_000) },
      },
    ]);
    // Ten minutes of bake per wave, alarms read every 30 s from its start to its end: wave 0's, then wave 1's.
    expect(inputs(cloudwatch.commandCalls(DescribeAlarmsCommand))).toEqual([
      ...Array(21).fill({ AlarmNames: ['a0-api-errors'], StateValue: 'ALARM' }),
      ...Array(21).fill({ AlarmNames: ['b1-api-errors'], StateValue: 'ALARM' }),
    ]);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    expect(codedeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(cfn).not.toHaveReceivedCommand(UpdateStackCommand);
  });

  it('stops the line when a cell’s CodeDeploy deployment fails: later waves are never deployed', async () => {
    passingDrill('r2');
    aws.world('b1').next = 'fail';
    const run = await runReleaseCommand(['--version', 'r2'], io, deps());
    expect(run.code).toBe(1);
    expect(aws.cdkRuns.map((args) => args[1])).toEqual(['Bulkhead-Cell-a0', 'Bulkhead-Cell-b1']);
    expect(run.report?.haltReason).toBe(
      'wave 1: cell b1 rolled-back (bulkhead-b1-api: One or more alarms have been activated: a0-api-errors)',
    );
    expect(run.report?.waves.map((w) => w.state)).toEqual(['released', 'failed', 'skipped']);
    expect(out.at(-1)).toMatch(/^release r2 HALTED after .*: wave 1: cell b1 rolled-back/);
    const log = fs
      .readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((e) => [e.kind, e.cell ?? null, e.automatic ?? false])).toEqual([
      ['drill', 'a0', false],
      ['release', 'a0', false],
      ['rollback', 'b1', true],
      ['halt', null, false],
    ]);
  });

  it('refuses to start, with every reason, when cells are mid-deployment, split, or without their previous version', async () => {
    aws
      .world('a0')
      .deployments.set('d-live', { status: 'InProgress', current: '4', target: '5', created: 900 });
    aws.world('b1').split = { '5': 0.1 };
    aws.world('c2').versions.delete('4');
    const run = await runReleaseCommand(['--version', 'r2'], io, deps());
    expect(run.code).toBe(1);
    expect(err).toEqual([
      'bulkhead release: refused: cell a0 is mid-deployment (d-live InProgress)',
      "bulkhead release: refused: cell b1: bulkhead-b1-api's live alias is split between versions 4 (90%) and 5 (10%)",
      "bulkhead release: refused: cell c2: bulkhead-c2-api's previous version 4 (the one a rollback returns to) is gone",
    ]);
    expect(aws.cdkRuns).toEqual([]);
    expect(lambda).toHaveReceivedCommandWith(GetFunctionCommand, {
      FunctionName: 'bulkhead-c2-api',
      Qualifier: '4',
    });
  });

  it('rolls back a deployment under way by stopping it with rollback (CloudFormation follows by itself)', async () => {
    aws
      .world('a0')
      .deployments.set('d-live', { status: 'InProgress', current: '4', target: '5', created: 900 });
    aws.world('a0').split = { '5': 0.1 };
    const code = await rollbackCommand(['--cell', 'a0', '--reason', 'canary errors'], io, deps());
    expect(code).toBe(0);
    expect(inputs(codedeploy.commandCalls(StopDeploymentCommand))).toEqual([
      { deploymentId: 'd-live', autoRollbackEnabled: true },
    ]);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    expect(cfn).not.toHaveReceivedCommand(UpdateStackCommand);
    expect(out).toEqual([
      expect.stringMatching(
        /^a0: rolled back the deployment under way \(bulkhead-a0-api v5→v4\): traffic back in /,
      ),
    ]);
    expect(aws.world('a0').alias).toBe('4');
  });

  it('rolls back a finished deployment by moving the alias, then re-anchors CloudFormation on the real version', async () => {
    const code = await rollbackCommand(['--cell', 'a0', '--reason', 'orders slow'], io, deps());
    expect(code).toBe(0);
    // The previous version is the one the deployment that made v4 live started from, and it must exist.
    expect(codedeploy).toHaveReceivedCommandWith(ListDeploymentsCommand, {
      applicationName: 'a0-releases',
      deploymentGroupName: 'a0-api-group',
      includeOnlyStatuses: ['Succeeded'],
    });
    expect(lambda).toHaveReceivedCommandWith(GetFunctionCommand, {
      FunctionName: 'bulkhead-a0-api',
      Qualifier: '3',
    });
    expect(inputs(lambda.commandCalls(UpdateAliasCommand))).toEqual([
      {
        FunctionName: 'bulkhead-a0-api',
        Name: 'live',
        FunctionVersion: '3',
        RoutingConfig: { AdditionalVersionWeights: {} },
      },
    ]);
    const updates = inputs(cfn.commandCalls(UpdateStackCommand));
    expect(updates).toEqual([
      {
        StackName: 'Bulkhead-Cell-a0',
        TemplateBody: JSON.stringify(anchored('3', '4')),
        Parameters: [{ ParameterKey: 'BootstrapVersion', UsePreviousValue: true }],
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      },
    ]);
    expect(codedeploy).not.toHaveReceivedCommand(StopDeploymentCommand);
    expect(err).toContain('[a0] CloudFormation re-anchored on bulkhead-a0-api v3');
    const log = JSON.parse(fs.readFileSync(logFile, 'utf8').trim());
    expect(log).toMatchObject({
      kind: 'rollback',
      cell: 'a0',
      why: 'orders slow',
      from: { 'bulkhead-a0-api': '4' },
      to: { 'bulkhead-a0-api': '3' },
      target: 'aws',
    });
    expect(typeof log.who).toBe('string');

    // Anchored: alias and CloudFormation agree, so the next release may start (from v3).
    passingDrill('r3');
    err = [];
    const next = await runReleaseCommand(['--version', 'r3', '--cells', 'a0'], io, deps());
    expect(err.filter((l) => l.includes('refused'))).toEqual([]);
    expect(next.report?.waves[0].outcomes[0]).toMatchObject({ from: { 'bulkhead-a0-api': '3' } });
  });

  it('refuses to release a cell whose alias was moved outside CloudFormation and not re-anchored', async () => {
    cfn.on(UpdateStackCommand).rejects(new Error('Rate exceeded'));
    await rollbackCommand(['--cell', 'a0', '--reason', 'orders slow'], io, deps());
    expect(err.join('\n')).toContain('CloudFormation could not be re-anchored (Rate exceeded)');
    err = [];
    const run = await runReleaseCommand(['--version', 'r3', '--cells', 'a0'], io, deps());
    expect(run.code).toBe(1);
    expect(err).toEqual([
      "bulkhead release: refused: cell a0: bulkhead-a0-api's live alias is on version 3 but CloudFormation has version 4 (moved outside CloudFormation): re-anchor it with `bulkhead rollback --cell a0`",
    ]);
    expect(aws.cdkRuns).toEqual([]);

    // Rolling back again finishes the re-anchor, without moving the alias again; then the cell is ready.
    aws.install();
    lambda.resetHistory();
    cfn.resetHistory();
    err = [];
    expect(await rollbackCommand(['--cell', 'a0', '--reason', 'finish the rollback'], io, deps())).toBe(0);
    expect(lambda).not.toHaveReceivedCommand(UpdateAliasCommand);
    expect(inputs(cfn.commandCalls(UpdateStackCommand)).map((i) => i.TemplateBody)).toEqual([
      JSON.stringify(anchored('3', '4')),
    ]);
    expect(err).toContain(
      '[a0] the alias was already back (an earlier rollback): CloudFormation re-anchored on bulkhead-a0-api v3',
    );
  });

  it('rolls back every cell a release reached, latest wave first', async () => {
    aws.world('c2').versions.set('4', 'r0');
    const code = await rollbackCommand(['--all', '--release', 'r1', '--reason', 'bad pricing'], io, deps());
    expect(code).toBe(0);
    expect(
      inputs(lambda.commandCalls(UpdateAliasCommand)).map((i) => [i.FunctionName, i.FunctionVersion]),
    ).toEqual([
      ['bulkhead-b1-api', '3'],
      ['bulkhead-a0-api', '3'],
    ]);
    expect(err.filter((l) => l.startsWith('rolling back'))).toEqual([
      'rolling back b1 (wave 1)',
      'rolling back a0 (wave 0)',
    ]);
    expect(inputs(cfn.commandCalls(UpdateStackCommand)).map((i) => i.StackName)).toEqual([
      'Bulkhead-Cell-b1',
      'Bulkhead-Cell-a0',
    ]);
  });

  it('reports status with live versions, deployment state and firing alarms', async () => {
    aws.world('b1').alarms = ['b1-api-errors'];
    const code = await statusCommand(['--json'], io, deps());
    expect(code).toBe(0);
    const status = JSON.parse(out.join('\n')) as {
      cells: { cell: string; functions: unknown[]; alarms: string[] }[];
    };
    expect(status.cells.map((c) => [c.cell, c.functions, c.alarms])).toEqual([
      [
        'a0',
        [{ name: 'bulkhead-a0-api', weights: [{ version: '4', weight: 1 }], release: 'r1', previous: '3' }],
        [],
      ],
      [
        'b1',
        [{ name: 'bulkhead-b1-api', weights: [{ version: '4', weight: 1 }], release: 'r1', previous: '3' }],
        ['b1-api-errors'],
      ],
      [
        'c2',
        [{ name: 'bulkhead-c2-api', weights: [{ version: '4', weight: 1 }], release: 'r1', previous: '3' }],
        [],
      ],
    ]);
  });
});

describe('appSpecVersions', () => {
  it('reads the versions of a JSON or YAML AppSpec', () => {
    const json = '{"Resources":[{"api":{"Properties":{"CurrentVersion":"7","TargetVersion":"8"}}}]}';
    const yaml =
      'Resources:\n  - api:\n      Properties:\n        CurrentVersion: 7\n        TargetVersion: 8\n';
    expect(appSpecVersions({ revision: { appSpecContent: { content: json } } })).toEqual({
      current: '7',
      target: '8',
    });
    expect(appSpecVersions({ revision: { string: { content: yaml } } })).toEqual({
      current: '7',
      target: '8',
    });
    expect(appSpecVersions(undefined)).toEqual({ current: undefined, target: undefined });
  });
});
