import { Validations } from 'aws-cdk-lib';
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
