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

import type { Fleet } from '../../config/types';
import {
  CELL_REGISTRAR_ROLE,
  CELL_REGISTRY_TABLE,
  cellApiFunctionName,
  LIVE_ALIAS,
  ROUTER_ROLE,
  ROUTES_TABLE,
} from '../../contracts/names';
import { REGISTRY_TABLE_KEYS, ROUTES_TABLE_KEYS } from '../../contracts/table-schema';
import { type BakedRouting, bakedRoutingOf } from '../../domain/route-cache';
import { HouseFunction } from '../house-function';
import { acknowledge } from '../nag';
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

/**
 * The one shared piece: routing table, cell registry, and the router function behind an HTTP API.
 * It may invoke the cells' Function URLs and nothing else.
 */
export class RouterStack extends Stack {
  readonly routes: dynamodb.Table;
  readonly registry: dynamodb.Table;
  readonly router: BlueGreenRelease;
  readonly httpApi: apigw.HttpApi;
  /** What is baked into the router bundle. */
  readonly bakedRouting: BakedRouting;

  constructor(scope: Construct, id: string, props: RouterStackProps) {
    super(scope, id, props);
    const { fleet } = props;

    const key = new kms.Key(this, 'Key', {
      alias: 'alias/bulkhead/router',
      description: 'Bulkhead router: routing table and cell registry',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const table = (tableId: string, tableName: string, partitionKey: string) =>
      new dynamodb.Table(this, tableId, {
        tableName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.routes = table('Routes', ROUTES_TABLE, ROUTES_TABLE_KEYS.partitionKey);
    this.registry = table('CellRegistry', CELL_REGISTRY_TABLE, REGISTRY_TABLE_KEYS.partitionKey);

    const role = new iam.Role(this, 'RouterRole', {
      roleName: ROUTER_ROLE,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
      ],
    });
    this.bakedRouting = bakedRoutingOf(fleet);
    const fn = new HouseFunction(this, 'Router', {
      entry: 'router/handler.ts',
      description: 'Bulkhead router: authenticates tenants and forwards to their cell',
      role,
      memorySize: 1024,
      timeout: Duration.seconds(29),
      environment: { ROUTES_TABLE: this.routes.tableName, REGISTRY_TABLE: this.registry.tableName },
      define: { [BAKED_ROUTES_DEFINE]: JSON.stringify(JSON.stringify(this.bakedRouting)) },
    });
    this.routes.grantReadData(fn);
    this.registry.grantReadData(fn);
    const cellApiAliases = fleet.cells.map(
      (c) =>
        `arn:${this.partition}:lambda:${c.region}:${c.account}:function:${cellApiFunctionName(c.id)}:${LIVE_ALIAS}`,
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunctionUrl'], resources: cellApiAliases }),
    );
    // A cold router with the store down finds a baked tenant's cell by its Function URL (`live` alias).
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:GetFunctionUrlConfig'], resources: cellApiAliases }),
    );

    const application = new codedeploy.LambdaApplication(this, 'Releases');
    this.router = new BlueGreenRelease(this, 'RouterRelease', {
      function: fn,
      application,
      deployment: { type: 'canary', percent: 10, intervalMinutes: 5 },
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

    this.addRegistrarRole(fleet);
    this.addAlarms(fn);
    acknowledge(this.httpApi, {
      id: 'AwsSolutions-APIG4',
      reason:
        'The router function authenticates every request itself (hashed tenant API keys); an authorizer would add a hop to the hot path.',
    });
    acknowledge(role, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWSLambdaBasicExecutionRole only grants writing to the function’s own log streams.',
    });
    acknowledge(role, {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray trace segments cannot be scoped to a resource (the X-Ray API has no resource ARNs).',
    });
  }

  /** The role cells assume at deploy time to write their endpoint into the registry. */
  private addRegistrarRole(fleet: Fleet): void {
    const accounts = [...new Set(fleet.cells.map((c) => c.account))];
    const registrar = new iam.Role(this, 'CellRegistrarRole', {
      roleName: CELL_REGISTRAR_ROLE,
      description: 'Assumed by Bulkhead cell stacks at deploy time to register their endpoint',
      assumedBy: new iam.CompositePrincipal(
        ...accounts.map(
          (account) =>
            new iam.PrincipalWithConditions(new iam.AccountPrincipal(account), {
              ArnLike: { 'aws:PrincipalArn': `arn:${this.partition}:iam::${account}:role/Bulkhead-Cell-*` },
            }),
        ),
      ),
    });
    registrar.addToPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [this.registry.tableArn] }),
    );
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
        namespace: 'Bulkhead/Router',
        metricName: 'FailStatic',
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
