import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on a construct and everything below it. Each rule id names the rule
 * (and, for granular findings, the finding: `AwsSolutions-IAM5[Resource::*]`); each reason says why
 * the finding does not apply here.
 */
export function acknowledge(
  scope: IConstruct,
  ...rules: { readonly id: string; readonly reason: string }[]
): void {
  Validations.of(scope).acknowledge(...rules);
}

/**
 * AWSLambdaBasicExecutionRole allows `logs:CreateLogGroup`, `logs:CreateLogStream` and `logs:PutLogEvents`
 * on every log group of the account (`Resource: *`), not only the function's own: said as it is.
 */
export const BASIC_EXECUTION_ROLE = {
  id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  reason:
    'AWSLambdaBasicExecutionRole allows creating and writing any log group of the account (Resource *); ' +
    'it grants no read and nothing beyond CloudWatch Logs, and the function writes only to its own log group.',
} as const;

/** X-Ray's write actions: they take no resource ARN, so a statement for them names `*`. */
const TRACING_ACTIONS: readonly string[] = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

type Statement = { Action?: string | string[]; Resource?: string | string[] };

/**
 * The wildcard findings of a function role's own policy, acknowledged on that policy alone (not on the
 * function's subtree): `Resource::*` for the X-Ray statement active tracing adds, and the `kms:*`
 * action wildcards of CDK's key grants, each scoped to one key. Synthesis fails if any other statement
 * of the policy names `Resource: *`, so the acknowledgement cannot cover a grant it was not written for.
 */
export function acknowledgeRolePolicy(role: iam.IRole): void {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!(policy instanceof iam.Policy)) return;
  acknowledge(
    policy,
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: `Only ${TRACING_ACTIONS.join(' and ')} (checked at synthesis), which the X-Ray API cannot scope to a resource.`,
    },
    {
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'CDK’s KMS grant for encrypting with the stack’s own key; the statement is scoped to that one key.',
    },
    {
      id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]',
      reason: 'CDK’s KMS grant for the stack’s own key; the statement is scoped to that one key.',
    },
  );
  policy.node.addValidation({
    validate: () => {
      const { Statement: statements = [] } = Stack.of(policy).resolve(policy.document.toJSON()) as {
        Statement?: Statement[];
      };
      return statements
        .filter((s) => [s.Resource ?? []].flat().includes('*'))
        .flatMap((s) => [s.Action ?? []].flat())
        .filter((action) => !TRACING_ACTIONS.includes(action))
        .map((action) => `${policy.node.path} grants ${action} on Resource "*": only X-Ray's writes may`);
    },
  });
}
