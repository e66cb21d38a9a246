import { CfnElement, Duration, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';

import type { Cell } from '../../config/types';
import { cellApiFunctionName, ROUTER_ROLE, TAG_CELL, TAG_WAVE } from '../../contracts/names';
import { HouseFunction } from '../house-function';
import { acknowledge } from '../nag';
import { BlueGreenRelease } from '../release/blue-green-release';

import { CellRegistration } from './cell-registration';
import { CellTable } from './cell-table';
import { SyncQueues } from './sync-queues';

export interface CellStackProps extends StackProps {
  readonly cell: Cell;
  /** Where the router stack lives: the cell registers there and trusts the router's role. */
  readonly router: { readonly account: string; readonly region: string };
  /** Release label reported by the cell (`GET /health`) and recorded in the release log. */
  readonly release: string;
  /** Sync worker concurrency cap, so a drain never floods the compliance API. @default 5 */
  readonly syncMaxConcurrency?: number;
  /** How often the reconciler re-drives pending orders. @default Duration.minutes(5) */
  readonly reconcileEvery?: Duration;
}

/** One cell: an isolated copy of the whole application for its tenants. */
export class CellStack extends Stack {
  readonly key: kms.Key;
  readonly data: CellTable;
  readonly sync: SyncQueues;
  readonly api: BlueGreenRelease;
  readonly syncWorker: BlueGreenRelease;
  readonly reconciler: BlueGreenRelease;
  readonly functionUrl: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: CellStackProps) {
    super(scope, id, props);
    const { cell } = props;
    Tags.of(this).add(TAG_CELL, cell.id);
    Tags.of(this).add(TAG_WAVE, String(cell.wave));

    this.key = new kms.Key(this, 'Key', {
      alias: `alias/bulkhead/${cell.id}`,
      description: `Bulkhead cell ${cell.id}: table, queues and backups`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.data = new CellTable(this, 'Data', { key: this.key });
    this.sync = new SyncQueues(this, 'Sync', { key: this.key });
    const table = this.data.table;

    const integrations = Object.fromEntries(
      cell.tenants.filter((t) => t.integration).map((t) => [t.id, t.integration]),
    );
    const environment = {
      CELL_ID: cell.id,
      RELEASE: props.release,
      TABLE_NAME: table.tableName,
      QUEUE_URL: this.sync.queue.queueUrl,
      DLQ_URL: this.sync.deadLetterQueue.queueUrl,
      INTEGRATIONS: JSON.stringify(integrations),
    };

    const apiFn = new HouseFunction(this, 'Api', {
      entry: 'api/handler.ts',
      functionName: cellApiFunctionName(cell.id),
      description: `Bulkhead cell ${cell.id}: tenant API`,
      environment,
    });
    table.grantReadWriteData(apiFn);
    this.sync.queue.grantSendMessages(apiFn);

    const workerTimeout = Duration.seconds(30);
    const workerFn = new HouseFunction(this, 'SyncWorker', {
      entry: 'sync/handler.ts',
      description: `Bulkhead cell ${cell.id}: reports sales to the compliance API`,
      environment,
      timeout: workerTimeout,
    });
    table.grantReadWriteData(workerFn);
    this.sync.deadLetterQueue.grantSendMessages(workerFn);
    this.grantIntegrationSecrets(
      workerFn,
      Object.values(integrations).map((i) => i!.apiKeySecret),
    );

    const reconcilerFn = new HouseFunction(this, 'Reconciler', {
      entry: 'reconcile/handler.ts',
      description: `Bulkhead cell ${cell.id}: re-drives orders still pending after a grace period`,
      environment,
      timeout: Duration.seconds(60),
    });
    table.grantReadWriteData(reconcilerFn);
    this.sync.queue.grantSendMessages(reconcilerFn);

    const hookFn = new HouseFunction(this, 'PreTrafficHook', {
      entry: 'hooks/pre-traffic.ts',
      description: `Bulkhead cell ${cell.id}: smoke test of a new API version before it takes traffic`,
      environment: { CELL_ID: cell.id, TARGET_FUNCTION_ARN: apiFn.currentVersion.functionArn },
      timeout: Duration.seconds(60),
    });
    apiFn.currentVersion.grantInvoke(hookFn);

    const application = new codedeploy.LambdaApplication(this, 'Releases');
    const release = (fnId: string, fn: lambda.Function, preTrafficHook?: lambda.IFunction) =>
      new BlueGreenRelease(this, `${fnId}Release`, {
        function: fn,
        application,
        deployment: cell.deployment,
        preTrafficHook,
      });
    this.api = release('Api', apiFn, hookFn);
    this.syncWorker = release('SyncWorker', workerFn);
    this.reconciler = release('Reconciler', reconcilerFn);

    // The worker consumes through its alias, so a release shifts queue traffic like API traffic.
    this.syncWorker.alias.addEventSource(
      new SqsEventSource(this.sync.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: props.syncMaxConcurrency ?? 5,
      }),
    );
    new events.Rule(this, 'ReconcileSchedule', {
      description: `Bulkhead cell ${cell.id}: re-drive pending orders`,
      schedule: events.Schedule.rate(props.reconcileEvery ?? Duration.minutes(5)),
      targets: [new targets.LambdaFunction(this.reconciler.alias)],
    });

    this.functionUrl = this.api.alias.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    const routerRole = new iam.ArnPrincipal(
      `arn:${this.partition}:iam::${props.router.account}:role/${ROUTER_ROLE}`,
    );
    this.api.alias.addPermission('RouterInvokeUrl', {
      principal: routerRole,
      action: 'lambda:InvokeFunctionUrl',
      functionUrlAuthType: lambda.FunctionUrlAuthType.AWS_IAM,
    });

    new CellRegistration(this, 'Registration', {
      cellId: cell.id,
      wave: cell.wave,
      endpoint: this.functionUrl.url,
      router: props.router,
    });
    this.addOperationalAlarms(apiFn);
    const tableId = this.getLogicalId(table.node.defaultChild as CfnElement);
    for (const fn of [apiFn, workerFn, reconcilerFn]) {
      acknowledge(fn, {
        id: `AwsSolutions-IAM5[Resource::<${tableId}.Arn>/index/*]`,
        reason: 'Queries on the cell table’s own secondary indexes (by status, pending).',
      });
    }
  }

  private grantIntegrationSecrets(fn: lambda.Function, secretNames: readonly string[]): void {
    if (secretNames.length === 0) return;
    // Secrets Manager appends a random suffix to a secret's ARN; `-??????` matches exactly that.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...new Set(secretNames)].map(
          (name) =>
            `arn:${this.partition}:secretsmanager:${this.region}:${this.account}:secret:${name}-??????`,
        ),
      }),
    );
    for (const name of new Set(secretNames)) {
      acknowledge(fn, {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${this.region}:${this.account}:secret:${name}-??????]`,
        reason: 'Secret ARNs end in a random six-character suffix; `-??????` names exactly this one secret.',
      });
    }
  }

  private addOperationalAlarms(apiFn: HouseFunction): void {
    new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: 'Sync messages were rejected by the compliance API or failed every retry',
      metric: this.sync.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'SyncBacklogAlarm', {
      alarmDescription: 'The oldest sync message is over 20 minutes old: the integration is probably down',
      metric: this.sync.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5) }),
      threshold: 20 * 60,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    apiFn.addErrorsAlarm(this, 'ApiErrorsAlarm', { description: 'The tenant API is failing', threshold: 5 });
  }
}
