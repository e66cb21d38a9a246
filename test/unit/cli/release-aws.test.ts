import 'aws-sdk-client-mock-jest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ListDeploymentsCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { GetFunctionCommand, UpdateAliasCommand } from '@aws-sdk/client-lambda';

import type { Io } from '../../../lib/cli/io';
import { main } from '../../../lib/cli/main';
import { runRelease } from '../../../lib/cli/release';
import { appSpecVersions, type AwsReleaseTarget } from '../../../lib/targets/release/aws-release-target';
import { anchored, cfn, cloudwatch, codedeploy, FakeAws, FLEET, lambda } from '../targets/fake-release-aws';

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
  target = aws.releaseTarget(logFile);
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
    const run = await runRelease({ version: 'r2' }, io, deps());
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
        expect.stringMatching(/^deployId=\d{4}-\d\d-\d\dT[\d:.]+Z$/),
        '-c',
        `cells=${id}`,
      ]),
    );
    // Each deploy has an id of its own, even the same release again (see the CDK test of DEPLOY_ID).
    expect(new Set(aws.cdkRuns.map((args) => args[10])).size).toBe(3);
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

  it('says when a cell’s traffic shift should be done: its start plus the canary’s minutes', async () => {
    passingDrill('r2');
    const started = aws.now;
    await runRelease({ version: 'r2', waves: '0' }, io, deps());
    const clock = new Date(started + 5 * 60_000).toISOString().slice(11, 19);
    expect(err).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^\\[a0\\] bulkhead-a0-api: CodeDeploy d-\\d+ InProgress; canary over 5 min: all traffic at about ${clock} UTC unless an alarm stops it$`,
        ),
      ),
    );
  });

  it('stops the line when a cell’s CodeDeploy deployment fails: later waves are never deployed', async () => {
    passingDrill('r2');
    aws.world('b1').next = 'fail';
    const run = await runRelease({ version: 'r2' }, io, deps());
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
    const run = await runRelease({ version: 'r2' }, io, deps());
    expect(run.code).toBe(1);
    expect(err).toEqual([
      'aws (2 account/region(s)): real time (CodeDeploy and the bakes take the minutes the fleet file says)',
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
    const code = await main(['rollback', '--cell', 'a0', '--reason', 'canary errors'], io, deps());
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
    const code = await main(['rollback', '--cell', 'a0', '--reason', 'orders slow'], io, deps());
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
    const next = await runRelease({ version: 'r3', cells: ['a0'] }, io, deps());
    expect(err.filter((l) => l.includes('refused'))).toEqual([]);
    expect(next.report?.waves[0].outcomes[0]).toMatchObject({ from: { 'bulkhead-a0-api': '3' } });
  });

  it('refuses to release a cell whose alias was moved outside CloudFormation and not re-anchored', async () => {
    cfn.on(UpdateStackCommand).rejects(new Error('Rate exceeded'));
    await main(['rollback', '--cell', 'a0', '--reason', 'orders slow'], io, deps());
    expect(err.join('\n')).toContain('CloudFormation could not be re-anchored (Rate exceeded)');
    err = [];
    const run = await runRelease({ version: 'r3', cells: ['a0'] }, io, deps());
    expect(run.code).toBe(1);
    expect(err).toEqual([
      'aws (2 account/region(s)): real time (CodeDeploy and the bakes take the minutes the fleet file says)',
      "bulkhead release: refused: cell a0: bulkhead-a0-api's live alias is on version 3 but CloudFormation has version 4 (moved outside CloudFormation): re-anchor it with `bulkhead rollback --cell a0`",
    ]);
    expect(aws.cdkRuns).toEqual([]);

    // Rolling back again finishes the re-anchor, without moving the alias again; then the cell is ready.
    aws.install();
    lambda.resetHistory();
    cfn.resetHistory();
    err = [];
    expect(await main(['rollback', '--cell', 'a0', '--reason', 'finish the rollback'], io, deps())).toBe(0);
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
    const code = await main(['rollback', '--all', '--release', 'r1', '--reason', 'bad pricing'], io, deps());
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
    const code = await main(['status', '--json'], io, deps());
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
