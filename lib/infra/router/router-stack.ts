import { Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codedeploy from 'aws-cdk-lib/aws-codedeploy';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

import { DEFAULT_ROUTER_RESERVED_CONCURRENCY, type Fleet, operatorAccountOf } from '../../config/types';
import { METRIC_NAMESPACE, ROUTER_METRICS, SERVICE_DIMENSION, SERVICES } from '../../contracts/metrics';
import {
  CELL_REGISTRY_TABLE,
  cellApiFunctionName,
  cellRegistrarRole,
  cellRegistrationRole,
  LIVE_ALIAS,
  RELEASES_TABLE,
  ROUTER_LIMITS_TABLE,
  ROUTER_OPERATOR_ROLE,
  ROUTER_ROLE,
  ROUTES_TABLE,
} from '../../contracts/names';
import {
  REGISTRY_TABLE_KEYS,
  RELEASES_TABLE_KEYS,
  ROUTER_LIMITS_TABLE_KEYS,
  ROUTES_TABLE_KEYS,
} from '../../contracts/table-schema';
import { type BakedRouting, bakedRoutingOf } from '../../domain/route-cache';
import { DEFAULT_FLEET_LIMITS, type FleetLimits } from '../../domain/tenant-limits';
import { HouseFunction } from '../house-function';
import { acknowledge, BASIC_EXECUTION_ROLE } from '../nag';
import { BlueGreenRelease } from '../release/blue-green-release';

export interface RouterStackProps extends StackProps {
  /**
   * The whole fleet: its tenant → cell and cell → account/region maps are baked into the router for a
   * cold start with the store down.
   */
  readonly fleet: Fleet;
  /** Steady-state requests per second the HTTP API admits. @default 2000 */
  readonly rateLimit?: number;
  /** Burst the HTTP API admits. @default 4000 */
  readonly burstLimit?: number;
}

/** Name of the bundle-time constant holding the fleet file's routing ({@link BakedRouting}, as JSON text). */
export const BAKED_ROUTES_DEFINE = '__BULKHEAD_BAKED_ROUTES__';
/** Name of the bundle-time constant holding the fleet's tenant limits (`FleetLimits`, as JSON text). */
export const TENANT_LIMITS_DEFINE = '__BULKHEAD_TENANT_LIMITS__';

/**
 * The one shared piece: routing table, cell registry, and the router function behind an HTTP API.
 * It may invoke the cells' Function URLs and nothing else.
 */
export class RouterStack extends Stack {
  readonly routes: dynamodb.Table;
  readonly registry: dynamodb.Table;
  /** The shared release log and the cells' release locks (lib/targets/release/release-store.ts). */
  readonly releases: dynamodb.Table;
  readonly router: BlueGreenRelease;
  readonly httpApi: apigw.HttpApi;
  /** What is baked into the router bundle. */
  readonly bakedRouting: BakedRouting;
  /** The per-tenant counters behind the router's tenant limits (regional: each router region its own). */
  readonly limits: dynamodb.Table;
  /** The tenant limits baked into the router bundle. */
  readonly tenantLimits: FleetLimits;

  constructor(scope: Construct, id: string, props: RouterStackProps) {
    super(scope, id, props);
    const { fleet } = props;

    const key = new kms.Key(this, 'Key', {
      alias: 'alias/bulkhead/router',
      description: 'Bulkhead router: routing table and cell registry',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const table = (tableId: string, tableName: string, partitionKey: string, sortKey?: string) =>
      new dynamodb.Table(this, tableId, {
        tableName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        ...(sortKey && { sortKey: { name: sortKey, type: dynamodb.AttributeType.STRING } }),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.routes = table('Routes', ROUTES_TABLE, ROUTES_TABLE_KEYS.partitionKey);
    this.registry = table('CellRegistry', CELL_REGISTRY_TABLE, REGISTRY_TABLE_KEYS.partitionKey);
    const { partitionKey, sortKey } = RELEASES_TABLE_KEYS;
    this.releases = table('ReleaseLog', RELEASES_TABLE, partitionKey, sortKey);
    this.limits = table('TenantLimits', ROUTER_LIMITS_TABLE, ROUTER_LIMITS_TABLE_KEYS.partitionKey);

    const role = new iam.Role(this, 'RouterRole', {
      roleName: ROUTER_ROLE,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
      ],
    });
    this.bakedRouting = bakedRoutingOf(fleet);
    this.tenantLimits = fleet.router.tenantLimits ?? DEFAULT_FLEET_LIMITS;
    const fn = new HouseFunction(this, 'Router', {
      entry: 'router/handler.ts',
      description: 'Bulkhead router: authenticates tenants and forwards to their cell',
      role,
      memorySize: 1024,
      timeout: Duration.seconds(29),
      environment: {
        ROUTES_TABLE: this.routes.tableName,
        REGISTRY_TABLE: this.registry.tableName,
        LIMITS_TABLE: this.limits.tableName,
      },
      define: {
        [BAKED_ROUTES_DEFINE]: JSON.stringify(JSON.stringify(this.bakedRouting)),
        [TENANT_LIMITS_DEFINE]: JSON.stringify(JSON.stringify(this.tenantLimits)),
      },
      // The router's own capacity: a cell's function in this account and region cannot take it, and a
      // flood the tenant limits let through cannot take more than this from the cells.
      reservedConcurrentExecutions: fleet.router.reservedConcurrency ?? DEFAULT_ROUTER_RESERVED_CONCURRENCY,
    });
    this.routes.grantReadData(fn);
    this.registry.grantReadData(fn);
    // A place in a tenant's counters: UpdateItem to take and give back, GetItem to tell a leaked count.
    this.limits.grant(fn, 'dynamodb:UpdateItem', 'dynamodb:GetItem');
    // Encrypted with the router's key: a write needs GenerateDataKey, reading the old item Decrypt.
    this.limits.encryptionKey?.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
    const cellApiAliases = fleet.cells.map(
      (c) =>
        `arn:${this.partition}:lambda:${c.region}:${c.account}:function:${cellApiFunctionName(c.id)}:${LIVE_ALIAS}`,
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunctionUrl'], resources: cellApiAliases }),
    );
    // Function URL calls also need InvokeFunction since October 2025; only through the URL.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: cellApiAliases,
        conditions: { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } },
      }),
    );
    // A cold router with the store down finds a baked tenant's cell by its Function URL (`live` alias).
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:GetFunctionUrlConfig'], resources: cellApiAliases }),
    );

    const hookFn = new HouseFunction(this, 'RouterPreTrafficHook', {
      entry: 'hooks/router-pre-traffic.ts',
      description: 'Bulkhead router: smoke test of a new router version before it takes traffic',
      environment: { TARGET_FUNCTION_ARN: fn.currentVersion.functionArn },
      timeout: Duration.seconds(30),
    });
    fn.currentVersion.grantInvoke(hookFn);
    const application = new codedeploy.LambdaApplication(this, 'Releases');
    this.router = new BlueGreenRelease(this, 'RouterRelease', {
      function: fn,
      application,
      deployment: { type: 'canary', percent: 10, intervalMinutes: 5 },
      preTrafficHook: hookFn,
      thresholds: { p99DurationMs: 3000 },
      requestMetrics: { service: SERVICES.router },
    });

    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Bulkhead public entry: every tenant request',
      defaultIntegration: new HttpLambdaIntegration('Router', this.router.alias),
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit ?? 2000, burstLimit: props.burstLimit ?? 4000 },
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });

    this.addRegistrarRoles(fleet);
    this.addOperatorRole(fleet);
    this.addAlarms(fn);
    acknowledge(this.httpApi, {
      id: 'AwsSolutions-APIG4',
      reason:
        'The router function authenticates every request itself (hashed tenant API keys); an authorizer would add a hop to the hot path.',
    });
    acknowledge(role, BASIC_EXECUTION_ROLE);
  }

  /**
   * One registrar role per cell, which the cell stack assumes at deploy time to write its endpoint. Only
   * that cell's registration role may assume it (`aws:PrincipalArn` "returns the ARN of the role" for an
   * assumed-role caller, so an exact ARN match), and it may update only the cell's own row
   * (`dynamodb:LeadingKeys`, the partition key values a request touches; ForAllValues because the key is
   * multivalued). A cell taken out of the fleet loses its role: delete the cell stack (which marks the row
   * retired) before the router is deployed without it.
   */
  private addRegistrarRoles(fleet: Fleet): void {
    for (const cell of fleet.cells) {
      const registrar = new iam.Role(this, `CellRegistrarRole-${cell.id}`, {
        roleName: cellRegistrarRole(cell.id),
        description: `Assumed by the Bulkhead cell stack ${cell.id} at deploy time to register its endpoint`,
        assumedBy: new iam.PrincipalWithConditions(new iam.AccountPrincipal(cell.account), {
          ArnEquals: {
            'aws:PrincipalArn': `arn:${this.partition}:iam::${cell.account}:role/${cellRegistrationRole(cell.id)}`,
          },
        }),
      });
      registrar.addToPolicy(
        new iam.PolicyStatement({
          actions: ['dynamodb:UpdateItem'],
          resources: [this.registry.tableArn],
          conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [cell.id] } },
        }),
      );
      // The registry is encrypted with the router's key: a write needs GenerateDataKey, reading the old item Decrypt.
      this.registry.encryptionKey?.grant(registrar, 'kms:GenerateDataKey', 'kms:Decrypt');
    }
  }

  /**
   * The role release managers of the operator account assume when the router is in another account: the
   * release log and locks, and the routing store as the tenants CLI uses it (lib/targets/*: aws-*).
   */
  private addOperatorRole(fleet: Fleet): void {
    const operatorAccount = operatorAccountOf(fleet);
    const role = new iam.Role(this, 'OperatorRole', {
      roleName: ROUTER_OPERATOR_ROLE,
      description: `Bulkhead router: release managers of account ${operatorAccount}`,
      assumedBy: new iam.AccountPrincipal(operatorAccount),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
        resources: [this.releases.tableArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Scan'],
        resources: [this.routes.tableArn, this.registry.tableArn],
      }),
    );
    // The tables are encrypted with the router's key: writes need a data key, reads Decrypt.
    this.releases.encryptionKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
  }

  private addAlarms(fn: HouseFunction): void {
    new cloudwatch.Alarm(this, 'Router5xxAlarm', {
      alarmDescription: 'The router answers 5xx: tenants of every cell may be affected',
      metric: this.httpApi.metricServerError({ period: Duration.minutes(1) }),
      threshold: 10,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    fn.addErrorsAlarm(this, 'RouterErrorsAlarm', {
      description: 'The router function is failing',
      threshold: 1,
    });
    new cloudwatch.Alarm(this, 'FailStaticAlarm', {
      alarmDescription: 'The router is serving cached routes because the routing store is failing',
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: ROUTER_METRICS.failStatic,
        dimensionsMap: { [SERVICE_DIMENSION]: SERVICES.router },
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
