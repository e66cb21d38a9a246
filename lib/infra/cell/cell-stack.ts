import { CfnElement, CfnResource, Duration, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';

import { cellSecretNames, secretArnPattern, secretPolicyGroups } from '../../config/integrations';
import type { Cell } from '../../config/types';
import { INTEGRATIONS_FILE, SYNC_EVENT_SOURCE } from '../../contracts/integrations';
import { CELL_DIMENSION, SERVICES } from '../../contracts/metrics';
import { cellApiFunctionName, ROUTER_ROLE, TAG_CELL, TAG_WAVE } from '../../contracts/names';
import { HouseFunction } from '../house-function';
import { acknowledge } from '../nag';
import { BlueGreenRelease, type BlueGreenReleaseProps } from '../release/blue-green-release';

import { CellOperatorRole } from './cell-operator-role';
import { CellRegistration } from './cell-registration';
import { CellTable } from './cell-table';
import { cellIntegrationSettings } from './integration-settings';
import { SyncQueues } from './sync-queues';

export interface CellStackProps extends StackProps {
  readonly cell: Cell;
  /** Where the router stack lives: the cell registers there and trusts the router's role. */
  readonly router: { readonly account: string; readonly region: string };
  /** The account release managers work from: the cell's operator role trusts it. */
  readonly operatorAccount: string;
  /** Release label reported by the cell (`GET /health`) and recorded in the release log. */
  readonly release: string;
  /**
   * This deploy's own id (the release CLI gives one per `cdk deploy`). A stopped release leaves its Lambda
   * versions behind (CDK retains them) while CloudFormation rolls the function back; deploying the same
   * release again would publish the very code and configuration of such a version, and Lambda refuses
   * that ("A version for this Lambda function exists"). The id in the environment makes each deploy's
   * configuration its own. @default - none: `cdk synth` stays deterministic
   */
  readonly deployId?: string;
  /** Sync worker concurrency cap, so a drain never floods the compliance API. @default 5 */
  readonly syncMaxConcurrency?: number;
  /** How often the reconciler re-drives pending orders and reconciles with the state system. @default Duration.minutes(5) */
  readonly reconcileEvery?: Duration;
  /**
   * Facilities of the whole fleet sharing each integrator's GET limit (`integratorOf` → count), so each
   * tenant gets its share of it.
   * @default - this cell's integrations only
   */
  readonly integratorFacilities?: Readonly<Record<string, number>>;
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
    this.data = new CellTable(this, 'Data', { key: this.key, vaultNamePrefix: `bulkhead-${cell.id}` });
    this.sync = new SyncQueues(this, 'Sync', { key: this.key });
    const table = this.data.table;

    // The tenants' integration settings grow with the cell (about 160 bytes a tenant), so they cannot
    // live in the environment, which Lambda caps at 4 KB in all. They are a file bundled with each
    // function that reads them, not items in the cell table: integration settings change only with a
    // deploy, from the fleet file, and a bundled file does exactly that (a new bundle, a new version,
    // released by waves like code), where the table would need a write path and its own rollout.
    const integrations = cellIntegrationSettings(cell, props.integratorFacilities);
    const files = { [INTEGRATIONS_FILE]: JSON.stringify(integrations) };
    const environment = {
      CELL_ID: cell.id,
      RELEASE: props.release,
      ...(props.deployId && { DEPLOY_ID: props.deployId }),
      TABLE_NAME: table.tableName,
      QUEUE_URL: this.sync.queue.queueUrl,
      DLQ_URL: this.sync.deadLetterQueue.queueUrl,
    };

    const apiFn = new HouseFunction(this, 'Api', {
      entry: 'api/handler.ts',
      functionName: cellApiFunctionName(cell.id),
      description: `Bulkhead cell ${cell.id}: tenant API`,
      // The router's account: its `bulkhead-router` role's sessions are the one function URL caller whose
      // tenant header the API trusts.
      environment: { ...environment, ROUTER_ACCOUNT: props.router.account },
      files,
    });
    table.grantReadWriteData(apiFn);
    this.sync.queue.grantSendMessages(apiFn);

    const workerTimeout = Duration.seconds(30);
    const workerFn = new HouseFunction(this, 'SyncWorker', {
      entry: 'sync/handler.ts',
      description: `Bulkhead cell ${cell.id}: reports sales to the compliance API`,
      environment,
      files,
      timeout: workerTimeout,
    });
    table.grantReadWriteData(workerFn);
    this.sync.deadLetterQueue.grantSendMessages(workerFn);
    // The probe that ends a cool-down and the drain after it are messages the worker sends itself.
    this.sync.queue.grantSendMessages(workerFn);

    const reconcilerTimeout = Duration.seconds(60);
    const reconcilerFn = new HouseFunction(this, 'Reconciler', {
      entry: 'reconcile/handler.ts',
      description: `Bulkhead cell ${cell.id}: re-drives pending orders, reconciles with the state system`,
      environment,
      files,
      timeout: reconcilerTimeout,
    });
    table.grantReadWriteData(reconcilerFn);
    this.sync.queue.grantSendMessages(reconcilerFn);
    // The worker posts receipts; the reconciler reads them and voids duplicates: both with the tenants' keys.
    this.grantIntegrationSecrets([workerFn, reconcilerFn], cell);

    const hookFn = new HouseFunction(this, 'PreTrafficHook', {
      entry: 'hooks/pre-traffic.ts',
      description: `Bulkhead cell ${cell.id}: smoke test of a new API version before it takes traffic`,
      environment: { CELL_ID: cell.id, TARGET_FUNCTION_ARN: apiFn.currentVersion.functionArn },
      timeout: Duration.seconds(60),
    });
    apiFn.currentVersion.grantInvoke(hookFn);

    const application = new codedeploy.LambdaApplication(this, 'Releases');
    const release = (
      fnId: string,
      fn: lambda.Function,
      p99DurationMs: number,
      more: Pick<BlueGreenReleaseProps, 'preTrafficHook' | 'requestMetrics'> = {},
    ) =>
      new BlueGreenRelease(this, `${fnId}Release`, {
        function: fn,
        application,
        deployment: cell.deployment,
        thresholds: { p99DurationMs },
        ...more,
      });
    // p99 over what each function is built to take: the API answers tenants interactively; the worker
    // waits for the integration's rate-limit tokens, and the reconciler walks pending orders for up to
    // its timeout, so only nearing that timeout says a version is slow.
    this.api = release('Api', apiFn, 3000, {
      preTrafficHook: hookFn,
      requestMetrics: { service: SERVICES.api, dimensions: { [CELL_DIMENSION]: cell.id } },
    });
    this.syncWorker = release('SyncWorker', workerFn, workerTimeout.toMilliseconds() * 0.8);
    this.reconciler = release('Reconciler', reconcilerFn, reconcilerTimeout.toMilliseconds() * 0.9);

    // The worker consumes through its alias, so a release shifts queue traffic like API traffic.
    this.syncWorker.alias.addEventSource(
      new SqsEventSource(this.sync.queue, {
        batchSize: SYNC_EVENT_SOURCE.batchSize,
        maxBatchingWindow: Duration.seconds(SYNC_EVENT_SOURCE.maxBatchingWindowSeconds),
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
    // Since October 2025 a function URL call also needs InvokeFunction, granted for URL calls only
    // (Lambda: "Control access to function URLs").
    this.api.alias.addPermission('RouterInvokeViaUrl', {
      principal: routerRole,
      action: 'lambda:InvokeFunction',
      invokedViaFunctionUrl: true,
    });
    // A cold router with the routing store down finds this cell by its URL (`GetFunctionUrlConfig` on the
    // alias). From another account its role policy is not enough: the function's resource policy must
    // allow it too (Lambda: "Granting Lambda function access to other accounts" — most actions on an
    // existing function can be granted so).
    this.api.alias.addPermission('RouterReadsUrl', {
      principal: routerRole,
      action: 'lambda:GetFunctionUrlConfig',
    });

    new CellRegistration(this, 'Registration', {
      cellId: cell.id,
      wave: cell.wave,
      endpoint: this.functionUrl.url,
      router: props.router,
    });
    new CellOperatorRole(this, 'OperatorRole', {
      cellId: cell.id,
      operatorAccount: props.operatorAccount,
      releases: [this.api, this.syncWorker, this.reconciler],
      data: this.data,
      sync: this.sync,
      key: this.key,
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

  /**
   * The worker may read each integrated tenant's API key secret, and no other. One ARN per tenant would
   * outgrow the role's inline policies (10,240 characters in all) at a few dozen tenants, and a statement
   * cannot be split across policies: the ARNs go into managed policies cut to fit (`secretPolicyGroups`).
   */
  private grantIntegrationSecrets(fns: readonly lambda.Function[], cell: Cell): void {
    const arn = (name: string) => secretArnPattern(this, name);
    secretPolicyGroups(cell, cellSecretNames(cell)).forEach((names, i) => {
      const policy = new iam.ManagedPolicy(this, `IntegrationSecrets${i + 1}`, {
        description: `Bulkhead cell ${cell.id}: the sync worker and reconciler read these compliance API keys`,
        roles: fns.map((fn) => fn.role!),
        statements: [
          new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: names.map(arn) }),
        ],
      });
      // Attached beside the role, not in it: the worker must not start before it may read the keys.
      // Only the function resource waits; its role is what the policy attaches to.
      for (const fn of fns)
        (fn.node.defaultChild as CfnResource).addResourceDependency(policy.node.defaultChild as CfnResource);
      for (const name of names) {
        acknowledge(policy, {
          id: `AwsSolutions-IAM5[Resource::${arn(name).replace(this.partition, '<AWS::Partition>')}]`,
          reason:
            'Secret ARNs end in a random six-character suffix; `-??????` names exactly this one secret.',
        });
      }
    });
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
