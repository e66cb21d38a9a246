import * as path from 'node:path';

import { CfnResource, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { LAMBDA_ENVIRONMENT_MAX_BYTES } from '../contracts/aws-limits';

import { deployedEnvironmentBytes } from './environment-size';
import { acknowledge, acknowledgeRolePolicy, BASIC_EXECUTION_ROLE } from './nag';

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
  /**
   * Files written beside the handler in the bundle (name → content), for configuration too large for
   * environment variables; the handler reads them from its own directory. @default {}
   */
  readonly files?: Readonly<Record<string, string>>;
  /** @default - a new role with basic execution rights */
  readonly role?: iam.IRole;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Concurrent executions kept for this function alone, and the most it may run. @default - none */
  readonly reservedConcurrentExecutions?: number;
}

export interface ErrorsAlarmProps {
  readonly description: string;
  /** Failed invocations a minute, two minutes running, that raise the alarm. */
  readonly threshold: number;
}

const FILE_NAME = /^[\w][\w.-]*$/;

/**
 * Bundles `files` beside the handler. Their contents travel in the bundling environment, which is part
 * of the asset's cache key: two functions of the same code with different files never share a bundle.
 */
function bundledFiles(files: Readonly<Record<string, string>>) {
  const entries = Object.entries(files);
  const bad = entries.map(([name]) => name).filter((name) => !FILE_NAME.test(name));
  if (bad.length > 0) throw new Error(`bundled file names must be plain file names, got ${bad.join(', ')}`);
  if (entries.length === 0) return {};
  const variable = (i: number) => `BULKHEAD_BUNDLED_FILE_${i}`;
  return {
    environment: Object.fromEntries(entries.map(([, content], i) => [variable(i), content])),
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) =>
        entries.map(([name], i) => `printf '%s' "$${variable(i)}" > "${outputDir}/${name}"`),
    },
  };
}

/**
 * The one way Bulkhead builds a Lambda function: Node 22 on arm64, active X-Ray tracing (the handlers'
 * Powertools Tracer records each invocation and SDK call and passes the trace on to the cell the router
 * forwards to; `lambdas/shared/tracing.ts`), a log group with
 * retention, versions kept on replacement (rollbacks need the old version), and one esbuild bundle
 * that carries every dependency, so the code the local platform runs is byte for byte what deploys.
 * `cdk synth` fails for a function whose environment would be over Lambda's 4 KB once deployed.
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
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
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
        ...bundledFiles(props.files ?? {}),
      },
    });
    this.node.addValidation({ validate: () => this.validateEnvironment() });
    acknowledge(this, BASIC_EXECUTION_ROLE, {
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22, the runtime the handlers are built and tested for; a runtime move is a release of its own.',
    });
    // Tracing has created the role's policy by now; later grants land in the same one.
    if (this.role) acknowledgeRolePolicy(this.role);
  }

  /**
   * The environment as synthesized, each reference counted at the longest value CloudFormation can put
   * there, against Lambda's 4 KB (LAMBDA_ENVIRONMENT_MAX_BYTES): past it, the deploy fails.
   */
  private validateEnvironment(): string[] {
    const stack = Stack.of(this);
    const cfn = this.node.defaultChild as lambda.CfnFunction;
    const resolved = stack.resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined;
    const types = new Map(
      stack.node
        .findAll()
        .filter(CfnResource.isCfnResource)
        .map((r) => [stack.resolve(r.logicalId) as string, r.cfnResourceType]),
    );
    const region = Token.isUnresolved(stack.region) ? undefined : stack.region;
    const bytes = deployedEnvironmentBytes(resolved?.variables ?? {}, (id) => types.get(id), region);
    if (bytes <= LAMBDA_ENVIRONMENT_MAX_BYTES) return [];
    return [
      `the environment of ${this.node.path} would be ${bytes} bytes once deployed, over Lambda's ` +
        `${LAMBDA_ENVIRONMENT_MAX_BYTES}-byte (4 KB) limit on environment variables`,
    ];
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
