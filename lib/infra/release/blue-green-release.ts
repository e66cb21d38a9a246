import { CfnElement, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

import type { DeploymentSettings } from '../../config/types';
import { LIVE_ALIAS } from '../../contracts/names';
import { acknowledge } from '../nag';

export interface ReleaseAlarmThresholds {
  /** Errors per minute on the new version that stop a deployment. @default 1 */
  readonly errorsPerMinute?: number;
  /** p99 duration of the new version, in milliseconds, that stops a deployment. @default 3000 */
  readonly p99DurationMs?: number;
  /** Throttles per minute on the new version that stop a deployment. @default 1 */
  readonly throttlesPerMinute?: number;
}

export interface BlueGreenReleaseProps {
  /** The function released; its `currentVersion` becomes the candidate. */
  readonly function: lambda.Function;
  /** The CodeDeploy application the cell's deployment groups belong to. */
  readonly application: codedeploy.ILambdaApplication;
  /** How traffic shifts, from the fleet file. */
  readonly deployment: Required<DeploymentSettings>;
  /** Smoke test run against the new version before any traffic moves. @default - none */
  readonly preTrafficHook?: lambda.IFunction;
  /** @default - see {@link ReleaseAlarmThresholds} */
  readonly thresholds?: ReleaseAlarmThresholds;
}

/**
 * Blue/green release of one function: a version kept on removal, a `live` alias, a CodeDeploy
 * deployment group shifting traffic per the cell's settings, alarms on the *new* version
 * (the `ExecutedVersion` dimension, so the old version's health cannot mask the new one's), and
 * automatic rollback on a failed deployment, a stopped deployment, and an alarm.
 */
export class BlueGreenRelease extends Construct {
  readonly version: lambda.IVersion;
  readonly alias: lambda.Alias;
  readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: BlueGreenReleaseProps) {
    super(scope, id);
    const fn = props.function;
    this.version = fn.currentVersion;
    this.alias = new lambda.Alias(this, 'Alias', { aliasName: LIVE_ALIAS, version: this.version });

    const dimensions = {
      FunctionName: fn.functionName,
      Resource: `${fn.functionName}:${LIVE_ALIAS}`,
      ExecutedVersion: this.version.version,
    };
    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: dimensions,
        statistic,
        period: Duration.minutes(1),
      });
    const t = props.thresholds ?? {};
    const alarm = (alarmId: string, m: cloudwatch.Metric, threshold: number, what: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric: m,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${what} on the new version of ${id}: the deployment rolls back`,
      });
    this.alarms = [
      alarm('NewVersionErrors', metric('Errors', 'Sum'), t.errorsPerMinute ?? 1, 'Errors'),
      alarm('NewVersionP99Duration', metric('Duration', 'p99'), t.p99DurationMs ?? 3000, 'p99 duration'),
      alarm('NewVersionThrottles', metric('Throttles', 'Sum'), t.throttlesPerMinute ?? 1, 'Throttles'),
    ];

    this.deploymentGroup = new codedeploy.LambdaDeploymentGroup(this, 'Deployment', {
      application: props.application,
      alias: this.alias,
      deploymentConfig: this.deploymentConfig(props.deployment),
      alarms: [...this.alarms],
      preHook: props.preTrafficHook,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    acknowledge(this.deploymentGroup, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        'The service role CodeDeploy documents for Lambda deployments: it only shifts aliases and invokes hooks.',
    });
    if (props.preTrafficHook) {
      const hook = Stack.of(this).getLogicalId(props.preTrafficHook.node.defaultChild as CfnElement);
      acknowledge(this.deploymentGroup, {
        id: `AwsSolutions-IAM5[Resource::<${hook}.Arn>:*]`,
        reason:
          'CodeDeploy invokes the hook by version; the wildcard covers versions of this one hook function.',
      });
    }
  }

  private deploymentConfig(d: Required<DeploymentSettings>): codedeploy.ILambdaDeploymentConfig {
    switch (d.type) {
      case 'allAtOnce':
        return codedeploy.LambdaDeploymentConfig.ALL_AT_ONCE;
      case 'canary':
        return new codedeploy.LambdaDeploymentConfig(this, 'Config', {
          trafficRouting: new codedeploy.TimeBasedCanaryTrafficRouting({
            interval: Duration.minutes(d.intervalMinutes),
            percentage: d.percent,
          }),
        });
      case 'linear':
        return new codedeploy.LambdaDeploymentConfig(this, 'Config', {
          trafficRouting: new codedeploy.TimeBasedLinearTrafficRouting({
            interval: Duration.minutes(d.intervalMinutes),
            percentage: d.percent,
          }),
        });
    }
  }
}
