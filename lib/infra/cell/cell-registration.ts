import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

import { CELL_REGISTRAR_ROLE, CELL_REGISTRY_TABLE } from '../../contracts/names';
import { acknowledge } from '../nag';

export interface CellRegistrationProps {
  readonly cellId: string;
  readonly wave: number;
  /** The cell's public entry (its API Function URL). */
  readonly endpoint: string;
  /** Where the router stack, and so the registry table, lives. */
  readonly router: { readonly account: string; readonly region: string };
}

/**
 * Writes the cell's endpoint into the router's cell registry on every deploy, and marks the cell
 * retired when its stack is deleted. It assumes the registrar role in the router's account, so it
 * works the same for a cell in the router's account and region as for one anywhere else. A status
 * an operator set (draining, say) is kept across deploys.
 */
export class CellRegistration extends Construct {
  constructor(scope: Construct, id: string, props: CellRegistrationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const registrarRoleArn = `arn:${stack.partition}:iam::${props.router.account}:role/${CELL_REGISTRAR_ROLE}`;
    const common = {
      service: 'DynamoDB',
      region: props.router.region,
      assumedRoleArn: registrarRoleArn,
      physicalResourceId: cr.PhysicalResourceId.of(`bulkhead-cell-${props.cellId}`),
    };
    const key = { cellId: { S: props.cellId } };
    const resource = new cr.AwsCustomResource(this, 'Resource', {
      installLatestAwsSdk: false,
      onUpdate: {
        ...common,
        action: 'UpdateItem',
        parameters: {
          TableName: CELL_REGISTRY_TABLE,
          Key: key,
          UpdateExpression:
            'SET endpoint = :endpoint, #region = :region, account = :account, wave = :wave, #status = if_not_exists(#status, :active)',
          ExpressionAttributeNames: { '#region': 'region', '#status': 'status' },
          ExpressionAttributeValues: {
            ':endpoint': { S: props.endpoint },
            ':region': { S: stack.region },
            ':account': { S: stack.account },
            ':wave': { N: String(props.wave) },
            ':active': { S: 'active' },
          },
        },
      },
      onDelete: {
        ...common,
        action: 'UpdateItem',
        parameters: {
          TableName: CELL_REGISTRY_TABLE,
          Key: key,
          UpdateExpression: 'SET #status = :retired',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':retired': { S: 'retired' } },
        },
      },
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [registrarRoleArn] }),
      ]),
    });
    // The custom resource's provider is a stack-wide singleton; its role only writes its own logs.
    const provider = stack.node.tryFindChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
    );
    acknowledge(provider ?? resource, {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'The custom-resource provider only writes its own logs with this policy; its other right is one sts:AssumeRole.',
    });
  }
}
