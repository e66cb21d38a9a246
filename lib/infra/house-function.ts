import * as path from 'node:path';

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { acknowledge } from './nag';

/** The folder holding every handler's source. */
export const LAMBDAS_DIR = path.join(__dirname, '..', '..', 'lambdas');

export interface HouseFunctionProps {
  /** Handler file, relative to `lambdas/` (for example `api/handler.ts`). */
  readonly entry: string;
  readonly description: string;
  /** @default - a name chosen by CloudFormation */
  readonly functionName?: string;
  /** @default {} */
  readonly environment?: Record<string, string>;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** Values substituted at bundle time (esbuild `define`), for data too large for environment variables. @default {} */
  readonly define?: Record<string, string>;
  /** @default - a new role with basic execution rights */
  readonly role?: iam.IRole;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

export interface ErrorsAlarmProps {
  readonly description: string;
  /** Failed invocations a minute, two minutes running, that raise the alarm. */
  readonly threshold: number;
}

/**
 * The one way Bulkhead builds a Lambda function: Node 22 on arm64, active X-Ray tracing (the handlers'
 * Powertools Tracer records each invocation and SDK call and passes the trace on to the cell the router
 * forwards to; `lambdas/shared/tracing.ts`), a log group with
 * retention, versions kept on replacement (rollbacks need the old version), and one esbuild bundle
 * that carries every dependency, so the code the local platform runs is byte for byte what deploys.
 */
export class HouseFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: path.join(LAMBDAS_DIR, props.entry),
      handler: 'handler',
      description: props.description,
      functionName: props.functionName,
      role: props.role,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: id,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        externalModules: [],
        define: props.define,
        logLevel: LogLevel.ERROR,
      },
    });
    acknowledge(
      this,
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'AWSLambdaBasicExecutionRole only grants writing to the function’s own log streams.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray trace segments cannot be scoped to a resource (the X-Ray API has no resource ARNs).',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          'CDK’s KMS grant for encrypting with the cell’s own key; the statement is scoped to that one key.',
      },
      {
        id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
        reason: 'CDK’s KMS grant for the cell’s own key; the statement is scoped to that one key.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'Pinned to Node.js 22, the runtime the handlers are built and tested for; a runtime move is a release of its own.',
      },
    );
  }

  /** An alarm on this function's errors, made in `scope` as `id` (its logical id is the stack's). */
  addErrorsAlarm(scope: Construct, id: string, props: ErrorsAlarmProps): cloudwatch.Alarm {
    return new cloudwatch.Alarm(scope, id, {
      alarmDescription: props.description,
      metric: this.metricErrors({ period: Duration.minutes(1) }),
      threshold: props.threshold,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
