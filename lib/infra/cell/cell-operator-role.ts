import { type CfnElement, DefaultStackSynthesizer, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

import { cellOperatorRole } from '../../contracts/names';
import { CELL_TABLE_KEYS } from '../../contracts/table-schema';
import { acknowledge } from '../nag';
import type { BlueGreenRelease } from '../release/blue-green-release';

import type { CellTable } from './cell-table';
import type { SyncQueues } from './sync-queues';

export interface CellOperatorRoleProps {
  readonly cellId: string;
  /** The account release managers work from (the fleet's `operatorAccount`). */
  readonly operatorAccount: string;
  /** The cell's released functions; the first is its API (invoked by drills, read by the tenants CLI). */
  readonly releases: readonly [BlueGreenRelease, ...BlueGreenRelease[]];
  readonly data: CellTable;
  readonly sync: SyncQueues;
  readonly key: kms.IKey;
}

/**
 * The role the release and tenants CLIs assume in the cell's account (`bulkhead-<cell>-operator`), trusting
 * the operator account: exactly the calls `lib/targets/release/aws*` and `lib/targets/tenants/aws*` make on
 * this cell, on this cell's resources.
 */
export class CellOperatorRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: CellOperatorRoleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Resource', {
      roleName: cellOperatorRole(props.cellId),
      description: `Bulkhead cell ${props.cellId}: release managers of account ${props.operatorAccount}`,
      assumedBy: new iam.AccountPrincipal(props.operatorAccount),
    });
    const allow = (actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
      this.role.addToPolicy(
        new iam.PolicyStatement({ actions, resources, ...(conditions && { conditions }) }),
      );

    // The cell stack: read while following a release, updated by a rollback's re-anchoring.
    const stackArn = stack.formatArn({
      service: 'cloudformation',
      resource: 'stack',
      resourceName: `${stack.stackName}/*`,
    });
    allow(
      [
        'cloudformation:DescribeStacks',
        'cloudformation:GetTemplate',
        'cloudformation:ListStackResources',
        'cloudformation:UpdateStack',
      ],
      [stackArn],
    );
    // UpdateStack runs as the stack's service role (the CDK execution role it was deployed with), which
    // the caller must be allowed to pass (CloudFormation: "Service role").
    const synthesizer =
      stack.synthesizer instanceof DefaultStackSynthesizer
        ? stack.synthesizer
        : new DefaultStackSynthesizer();
    // The synthesizer's ARN is written for the cloud assembly, with a `${AWS::Partition}` placeholder.
    const executionRole = synthesizer.cloudFormationExecutionRoleArn.replace(
      '${AWS::Partition}',
      stack.partition,
    );
    allow(['iam:PassRole'], [executionRole], {
      StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' },
    });
    // A re-anchored template over 51,200 bytes goes through the bootstrap bucket, under one prefix.
    const qualifier = synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const reAnchorObjects = `arn:${stack.partition}:s3:::cdk-${qualifier}-assets-${stack.account}-${stack.region}/bulkhead/re-anchor/*`;
    allow(['s3:PutObject'], [reAnchorObjects]);

    allow(
      ['codedeploy:ListDeployments', 'codedeploy:GetDeployment', 'codedeploy:StopDeployment'],
      props.releases.map((r) => r.deploymentGroup.deploymentGroupArn),
    );

    const functions = props.releases.map((r) => r.alias.lambda);
    const qualified = (fns: readonly lambda.IFunction[]) =>
      fns.flatMap((f) => [f.functionArn, `${f.functionArn}:*`]);
    allow(['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:GetFunction'], qualified(functions));
    allow(['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'], qualified([functions[0]]));
    // Metric alarms can be scoped to their ARNs (only composite alarms need `*`: DescribeAlarms API reference).
    allow(
      ['cloudwatch:DescribeAlarms'],
      props.releases.flatMap((r) => r.alarms.map((a) => a.alarmArn)),
    );

    // A tenant's data: copied in and out by a move, seeded, its key item written.
    const { table } = props.data;
    allow(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:Query',
      ],
      [table.tableArn],
    );
    allow(['dynamodb:Query'], [`${table.tableArn}/index/${CELL_TABLE_KEYS.pendingIndex}`]);
    allow(['sqs:SendMessage'], [props.sync.queue.queueArn]);
    // The table and the queue are encrypted with the cell's key: writes need a data key, reads Decrypt.
    props.key.grant(this.role, 'kms:GenerateDataKey', 'kms:Decrypt');

    const nagArn = (arn: string) => arn.replace(stack.partition, '<AWS::Partition>');
    acknowledge(
      this.role,
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(stackArn)}]`,
        reason: 'This cell’s own stack: a stack ARN ends in an id CloudFormation generates.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::${nagArn(reAnchorObjects)}]`,
        reason: 'Re-anchored templates go to one key prefix of the cell account’s own CDK bootstrap bucket.',
      },
      ...functions.map((f) => ({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f.node.defaultChild as CfnElement)}.Arn>:*]`,
        reason:
          'Versions and the live alias of this cell’s own function: a release reads and moves them all.',
      })),
    );
  }
}
