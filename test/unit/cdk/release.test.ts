import { Template } from 'aws-cdk-lib/assertions';

import { buildFleet, BuiltFleet, exampleFleet } from './fixtures';

let built: BuiltFleet;
let canary: Template;

beforeAll(() => {
  built = buildFleet();
  canary = built.template('Bulkhead-Cell-use1-a');
});

const alarmsOf = (t: Template, prefix: string) =>
  Object.entries(t.findResources('AWS::CloudWatch::Alarm'))
    .filter(([id]) => id.startsWith(prefix))
    .map(([, a]) => a.Properties);

describe('blue/green release of each cell function', () => {
  test('each released function has a version kept on removal and a live alias pointing at it', () => {
    for (const fn of ['Api', 'SyncWorker', 'Reconciler']) {
      const versions = Object.entries(canary.findResources('AWS::Lambda::Version')).filter(([id]) =>
        id.startsWith(`${fn}CurrentVersion`),
      );
      expect(versions).toHaveLength(1);
      expect(versions[0][1].DeletionPolicy).toBe('Retain');
      canary.hasResourceProperties('AWS::Lambda::Alias', {
        Name: 'live',
        FunctionVersion: { 'Fn::GetAtt': [versions[0][0], 'Version'] },
      });
    }
  });

  test('alarms watch the new version (ExecutedVersion), not only the alias: errors, p99 duration, throttles', () => {
    const alarms = alarmsOf(canary, 'ApiReleaseNewVersion');
    expect(alarms.map((a) => [a.MetricName, a.ExtendedStatistic ?? a.Statistic]).sort()).toEqual([
      ['Duration', 'p99'],
      ['Errors', 'Sum'],
      ['Throttles', 'Sum'],
    ]);
    for (const a of alarms) {
      expect(a.Dimensions).toEqual(
        expect.arrayContaining([
          {
            Name: 'ExecutedVersion',
            Value: { 'Fn::GetAtt': [expect.stringMatching(/^ApiCurrentVersion/), 'Version'] },
          },
          { Name: 'Resource', Value: { 'Fn::Join': ['', [{ Ref: 'ApiF70053CD' }, ':live']] } },
        ]),
      );
    }
  });

  test('deployments roll back automatically on failure, on a stop and on an alarm', () => {
    const groups = Object.values(canary.findResources('AWS::CodeDeploy::DeploymentGroup'));
    expect(groups).toHaveLength(3);
    for (const g of groups) {
      expect(g.Properties.AutoRollbackConfiguration).toEqual({
        Enabled: true,
        Events: expect.arrayContaining([
          'DEPLOYMENT_FAILURE',
          'DEPLOYMENT_STOP_ON_ALARM',
          'DEPLOYMENT_STOP_ON_REQUEST',
        ]),
      });
      expect(g.Properties.AlarmConfiguration.Enabled).toBe(true);
      expect(g.Properties.AlarmConfiguration.Alarms).toHaveLength(3);
      expect(g.Properties.DeploymentStyle).toEqual({
        DeploymentOption: 'WITH_TRAFFIC_CONTROL',
        DeploymentType: 'BLUE_GREEN',
      });
    }
  });

  test('traffic shifts per the cell’s settings in the fleet file', () => {
    canary.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      ComputePlatform: 'Lambda',
      TrafficRoutingConfig: {
        Type: 'TimeBasedCanary',
        TimeBasedCanary: { CanaryInterval: 10, CanaryPercentage: 10 },
      },
    });
    built.template('Bulkhead-Cell-use1-b').hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      TrafficRoutingConfig: {
        Type: 'TimeBasedLinear',
        TimeBasedLinear: { LinearInterval: 2, LinearPercentage: 25 },
      },
    });
    built.template('Bulkhead-Cell-usw2-a').hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
      TrafficRoutingConfig: {
        Type: 'TimeBasedCanary',
        TimeBasedCanary: { CanaryInterval: 5, CanaryPercentage: 20 },
      },
    });
  });

  test('allAtOnce uses CodeDeploy’s predefined configuration', () => {
    const fleet = exampleFleet();
    const allAtOnce = {
      ...fleet,
      cells: fleet.cells.map((c) => ({
        ...c,
        deployment: { type: 'allAtOnce' as const, percent: 100, intervalMinutes: 0 },
      })),
    };
    const t = buildFleet(allAtOnce, ['use1-a']).template('Bulkhead-Cell-use1-a');
    t.resourceCountIs('AWS::CodeDeploy::DeploymentConfig', 0);
    t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
      DeploymentConfigName: 'CodeDeployDefault.LambdaAllAtOnce',
    });
  });

  test('the pre-traffic smoke test runs before API traffic moves', () => {
    const api = Object.entries(canary.findResources('AWS::CodeDeploy::DeploymentGroup')).find(([id]) =>
      id.startsWith('ApiRelease'),
    )![0];
    const alias = canary.findResources('AWS::Lambda::Alias', { Properties: { Name: 'live' } });
    const apiAlias = Object.entries(alias).find(([id]) => id.startsWith('ApiRelease'))![1];
    expect(apiAlias.UpdatePolicy.CodeDeployLambdaAliasUpdate).toEqual({
      ApplicationName: { Ref: 'ReleasesE6BA3EBF' },
      DeploymentGroupName: { Ref: api },
      BeforeAllowTrafficHook: { Ref: 'PreTrafficHook5CE97F1D' },
    });
  });

  test('every released alias is updated through CodeDeploy', () => {
    const aliases = Object.values(canary.findResources('AWS::Lambda::Alias'));
    expect(aliases).toHaveLength(3);
    for (const a of aliases) {
      expect(a.UpdatePolicy.CodeDeployLambdaAliasUpdate).toMatchObject({
        ApplicationName: { Ref: 'ReleasesE6BA3EBF' },
      });
    }
    canary.hasResourceProperties('AWS::CodeDeploy::Application', { ComputePlatform: 'Lambda' });
  });
});
