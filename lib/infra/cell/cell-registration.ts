import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

import { CELL_REGISTRY_TABLE, cellRegistrarRole, cellRegistrationRole } from '../../contracts/names';
import { acknowledge, BASIC_EXECUTION_ROLE } from '../nag';

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
 * retired when its stack is deleted (and active again when it is created again). Its provider runs as the
 * cell's registration role (a fixed name, which the router's trust policy names exactly) and assumes the
 * cell's own registrar role in the router's account, so it works the same for a cell in the router's
 * account and region as for one anywhere else, and can write no other cell's row. A status an operator
 * set (draining, say) is kept across deploys.
 */
export class CellRegistration extends Construct {
  constructor(scope: Construct, id: string, props: CellRegistrationProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const registrarRoleArn = `arn:${stack.partition}:iam::${props.router.account}:role/${cellRegistrarRole(props.cellId)}`;
    const common = {
      service: 'DynamoDB',
      region: props.router.region,
      assumedRoleArn: registrarRoleArn,
      physicalResourceId: cr.PhysicalResourceId.of(`bulkhead-cell-${props.cellId}`),
    };
    const key = { cellId: { S: props.cellId } };
    /** The row's endpoint and place; `status` says what happens to the cell's status. */
    const register = (status: string) => ({
      ...common,
      action: 'UpdateItem',
      parameters: {
        TableName: CELL_REGISTRY_TABLE,
        Key: key,
        UpdateExpression: `SET endpoint = :endpoint, #region = :region, account = :account, wave = :wave, #status = ${status}`,
        ExpressionAttributeNames: { '#region': 'region', '#status': 'status' },
        ExpressionAttributeValues: {
          ':endpoint': { S: props.endpoint },
          ':region': { S: stack.region },
          ':account': { S: stack.account },
          ':wave': { N: String(props.wave) },
          ':active': { S: 'active' },
        },
      },
    });
    // The provider's role: the custom resource is the stack's only one, so the role serves it alone.
    const role = new iam.Role(this, 'Role', {
      roleName: cellRegistrationRole(props.cellId),
      description: `Bulkhead cell ${props.cellId}: registers the cell's endpoint in the router's registry`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'),
      ],
    });
    acknowledge(role, BASIC_EXECUTION_ROLE);
    new cr.AwsCustomResource(this, 'Resource', {
      installLatestAwsSdk: false,
      role,
      // A stack created (again, after its deletion marked the row retired) puts the cell back in service.
      onCreate: register(':active'),
      // A redeploy keeps a status an operator set (draining, say).
      onUpdate: register('if_not_exists(#status, :active)'),
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
  }
}
