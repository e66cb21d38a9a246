import { CfnElement, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

import type { DeploymentSettings } from '../../config/types';
import {
  METRIC_NAMESPACE,
  REQUEST_METRICS,
  SERVICE_DIMENSION,
  VERSION_DIMENSION,
} from '../../contracts/metrics';
import { LIVE_ALIAS } from '../../contracts/names';
import { DEFAULT_CANARY_THRESHOLDS } from '../../domain/release';
import { acknowledge } from '../nag';

export interface ReleaseAlarmThresholds {
  /** p99 duration of the new version, in milliseconds, that stops a deployment: what the function is built to answer in. */
  readonly p99DurationMs: number;
  /** Errors per minute on the new version that stop a deployment. @default 1 */
  readonly errorsPerMinute?: number;
  /** Throttles per minute on the new version that stop a deployment. @default 1 */
  readonly throttlesPerMinute?: number;
}

/** The per-version request metrics a request-serving function emits (`lambdas/shared/metrics.ts`). */
export interface RequestMetricsSource {
  /** Its `service` dimension. */
  readonly service: string;
  /** The further dimensions it emits them with (the cell). @default {} */
  readonly dimensions?: Readonly<Record<string, string>>;
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
  readonly thresholds: ReleaseAlarmThresholds;
  /**
   * For a function that answers requests: its per-version request metrics, watched as the new version's
   * 5xx rate. @default - no 5xx alarm (the function answers no requests)
   */
  readonly requestMetrics?: RequestMetricsSource;
}

/**
 * Blue/green release of one function: a version kept on removal, a `live` alias, a CodeDeploy
 * deployment group shifting traffic per the cell's settings, release-health alarms on the *new* version
 * only (the `ExecutedVersion` / `FunctionVersion` dimension, so the old version's health cannot mask the
 * new one's, nor the old one's failures roll the new one back), and automatic rollback on a failed
 * deployment, a stopped deployment, and an alarm.
 */
export class BlueGreenRelease extends Construct {
  readonly version: lambda.IVersion;
  readonly alias: lambda.Alias;
  readonly deploymentGroup: codedeploy.LambdaDeploymentGroup;
  /** The release-health alarms: what judges a release of this function, and nothing else. */
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: BlueGreenReleaseProps) {
    super(scope, id);
    const fn = props.function;
    this.version = fn.currentVersion;
    this.alias = new lambda.Alias(this, 'Alias', { aliasName: LIVE_ALIAS, version: this.version });

    const lambdaMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: {
          FunctionName: fn.functionName,
          Resource: `${fn.functionName}:${LIVE_ALIAS}`,
          ExecutedVersion: this.version.version,
        },
        statistic,
        period: Duration.minutes(1),
      });
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, what: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `${what} on the new version of ${id}: the deployment rolls back`,
      });
    const t = props.thresholds;
    this.alarms = [
      alarm('NewVersionErrors', lambdaMetric('Errors', 'Sum'), t.errorsPerMinute ?? 1, 'Errors'),
      alarm('NewVersionP99Duration', lambdaMetric('Duration', 'p99'), t.p99DurationMs, 'p99 duration'),
      alarm('NewVersionThrottles', lambdaMetric('Throttles', 'Sum'), t.throttlesPerMinute ?? 1, 'Throttles'),
      ...(props.requestMetrics ? [this.serverErrorsAlarm(id, props.requestMetrics)] : []),
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

  /**
   * The new version's share of 5xx answers, in percent, once it has answered enough requests to say
   * anything (the local canary analysis judges the same way: `lib/domain/release/canary.ts`). Metric math
   * `IF` keeps a single failed request of a quiet canary from rolling it back.
   */
  private serverErrorsAlarm(id: string, source: RequestMetricsSource): cloudwatch.Alarm {
    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: {
          [SERVICE_DIMENSION]: source.service,
          ...source.dimensions,
          [VERSION_DIMENSION]: this.version.version,
        },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
    const { minInvocations, maxServerErrorRate } = DEFAULT_CANARY_THRESHOLDS;
    return new cloudwatch.Alarm(this, 'NewVersion5xxRate', {
      metric: new cloudwatch.MathExpression({
        expression: `IF(requests >= ${minInvocations}, 100 * errors / requests, 0)`,
        usingMetrics: {
          requests: metric(REQUEST_METRICS.requests),
          errors: metric(REQUEST_METRICS.serverErrors),
        },
        label: '5xx answers of the new version (%)',
        period: Duration.minutes(1),
      }),
      threshold: maxServerErrorRate * 100,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `5xx answers on the new version of ${id} over ${maxServerErrorRate * 100}%: the deployment rolls back`,
    });
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
