/**
 * A function's resource-based policy as Lambda builds it from AddPermission calls (an
 * `AWS::Lambda::Permission` in a template), per "Using resource-based policies for AWS Lambda" and "Control
 * access to Lambda function URLs": an account id becomes `{ AWS: arn:…:iam::<id>:root }`, an ARN
 * `{ AWS: <arn> }`, a service name `{ Service: <name> }`; SourceArn becomes `ArnLike AWS:SourceArn`,
 * SourceAccount and FunctionUrlAuthType become `StringEquals` conditions, InvokedViaFunctionUrl a `Bool
 * lambda:InvokedViaFunctionUrl` one (the `lambda:InvokeFunction` grant that function URL calls need since
 * October 2025). Each function, version and alias has its own policy, so `functionArn` is the qualified ARN
 * the permissions were added to.
 */
import type { PolicyDocument, PolicyPrincipal, PolicyStatement } from './policy';

export interface LambdaPermission {
  readonly action: string;
  /** An account id, an IAM ARN, a service principal (`events.amazonaws.com`) or `*`. */
  readonly principal: string;
  readonly sourceArn?: string;
  readonly sourceAccount?: string;
  readonly principalOrgId?: string;
  readonly functionUrlAuthType?: 'AWS_IAM' | 'NONE';
  /** Grants the action only to calls through the function's URL. */
  readonly invokedViaFunctionUrl?: boolean;
  readonly statementId?: string;
}

function principalOf(principal: string, partition: string): PolicyPrincipal {
  if (principal === '*') return '*';
  if (/^\d{12}$/.test(principal)) return { AWS: `arn:${partition}:iam::${principal}:root` };
  return principal.startsWith('arn:') ? { AWS: principal } : { Service: principal };
}

function statementOf(functionArn: string, p: LambdaPermission, index: number): PolicyStatement {
  const stringEquals = Object.fromEntries(
    [
      ['AWS:SourceAccount', p.sourceAccount],
      ['lambda:FunctionUrlAuthType', p.functionUrlAuthType],
      ['aws:PrincipalOrgID', p.principalOrgId],
    ].filter(([, value]) => value !== undefined),
  );
  const condition = {
    ...(Object.keys(stringEquals).length > 0 ? { StringEquals: stringEquals } : {}),
    ...(p.sourceArn !== undefined ? { ArnLike: { 'AWS:SourceArn': p.sourceArn } } : {}),
    ...(p.invokedViaFunctionUrl ? { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } } : {}),
  };
  return {
    Sid: p.statementId ?? `permission-${index}`,
    Effect: 'Allow',
    Principal: principalOf(p.principal, functionArn.split(':')[1] ?? 'aws'),
    Action: p.action,
    Resource: functionArn,
    ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
  };
}

/** The resource-based policy of `functionArn` that `permissions` add up to. */
export function lambdaFunctionPolicy(
  functionArn: string,
  permissions: readonly LambdaPermission[],
): PolicyDocument {
  return { Version: '2012-10-17', Statement: permissions.map((p, i) => statementOf(functionArn, p, i)) };
}
