import { Match, Template } from 'aws-cdk-lib/assertions';

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
    const alarms = alarmsOf(canary, 'ApiReleaseNewVersion').filter((a) => a.MetricName);
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

  test('the API’s and the router’s deployments also watch the new version’s 5xx rate, which Lambda’s Errors cannot see', () => {
    const router = built.template('Bulkhead-Router');
    for (const [t, prefix, service, dims] of [
      [canary, 'ApiRelease', 'api', [{ Name: 'cellId', Value: 'use1-a' }]],
      [router, 'RouterRelease', 'router', []],
    ] as const) {
      const [alarmId, alarm] = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).find(([id]) =>
        id.startsWith(`${prefix}NewVersion5xxRate`),
      )!;
      expect(alarm.Properties).toMatchObject({
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 5,
        TreatMissingData: 'notBreaching',
      });
      const queries = alarm.Properties.Metrics as {
        Id: string;
        Expression?: string;
        MetricStat?: {
          Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] };
          Stat: string;
        };
      }[];
      expect(queries.find((q) => q.Expression)?.Expression).toBe(
        'IF(requests >= 5, 100 * errors / requests, 0)',
      );
      const versionRef = {
        'Fn::GetAtt': [
          expect.stringMatching(new RegExp(`^${prefix.replace('Release', '')}CurrentVersion`)),
          'Version',
        ],
      };
      for (const [id, metricName] of [
        ['requests', 'Requests'],
        ['errors', 'ServerErrors'],
      ]) {
        expect(queries.find((q) => q.Id === id)?.MetricStat).toEqual({
          Metric: {
            Namespace: 'Bulkhead',
            MetricName: metricName,
            Dimensions: expect.arrayContaining([
              { Name: 'service', Value: service },
              { Name: 'FunctionVersion', Value: versionRef },
              ...dims,
            ]),
          },
          Period: 60,
          Stat: 'Sum',
        });
      }
      const group = Object.entries(t.findResources('AWS::CodeDeploy::DeploymentGroup')).find(([id]) =>
        id.startsWith(prefix),
      )![1];
      expect(group.Properties.AlarmConfiguration.Alarms).toContainEqual({ Name: { Ref: alarmId } });
      expect(group.Properties.AlarmConfiguration.Alarms).toHaveLength(4);
    }
  });

  test('the router gets a pre-traffic smoke test of its new version too', () => {
    const router = built.template('Bulkhead-Router');
    const [hookId] = Object.keys(
      router.findResources('AWS::Lambda::Function', {
        Properties: { Description: Match.stringLikeRegexp('smoke test of a new router version') },
      }),
    );
    router.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('smoke test of a new router version'),
      Environment: {
        Variables: Match.objectLike({
          TARGET_FUNCTION_ARN: { Ref: Match.stringLikeRegexp('^RouterCurrentVersion') },
        }),
      },
    });
    const alias = Object.entries(router.findResources('AWS::Lambda::Alias')).find(([id]) =>
      id.startsWith('RouterRelease'),
    )![1];
    expect(alias.UpdatePolicy.CodeDeployLambdaAliasUpdate.BeforeAllowTrafficHook).toEqual({ Ref: hookId });
  });

  test('each function’s p99 alarm is set by what it is built to take, not one 3 s for all', () => {
    const p99 = (prefix: string) =>
      alarmsOf(canary, `${prefix}ReleaseNewVersionP99Duration`).map((a) => a.Threshold);
    expect(p99('Api')).toEqual([3000]);
    // The worker waits for rate-limit tokens (30 s timeout); the reconciler walks orders for up to a minute.
    expect(p99('SyncWorker')).toEqual([24_000]);
    expect(p99('Reconciler')).toEqual([54_000]);
  });

  test('only release-health alarms are in the deployment groups: never the dead-letter or backlog alarm', () => {
    const inGroups = Object.values(canary.findResources('AWS::CodeDeploy::DeploymentGroup')).flatMap((g) =>
      (g.Properties.AlarmConfiguration.Alarms as { Name: { Ref: string } }[]).map((a) => a.Name.Ref),
    );
    const operational = Object.keys(canary.findResources('AWS::CloudWatch::Alarm')).filter(
      (id) => !/Release/.test(id),
    );
    expect(operational.length).toBeGreaterThan(0);
    for (const id of operational) expect(inGroups).not.toContain(id);
    expect(inGroups.every((id) => /ReleaseNewVersion/.test(id))).toBe(true);
  });

  test('deployments roll back automatically on failure, on a stop and on an alarm', () => {
    const groups = Object.entries(canary.findResources('AWS::CodeDeploy::DeploymentGroup'));
    expect(groups).toHaveLength(3);
    for (const [id, g] of groups) {
      expect(g.Properties.AutoRollbackConfiguration).toEqual({
        Enabled: true,
        Events: expect.arrayContaining([
          'DEPLOYMENT_FAILURE',
          'DEPLOYMENT_STOP_ON_ALARM',
          'DEPLOYMENT_STOP_ON_REQUEST',
        ]),
      });
      expect(g.Properties.AlarmConfiguration.Enabled).toBe(true);
      // Errors, p99 and throttles; the API answers requests, so its 5xx rate too.
      expect(g.Properties.AlarmConfiguration.Alarms).toHaveLength(id.startsWith('ApiRelease') ? 4 : 3);
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
