/**
 * Reads the policies of a synthesized stack into the evaluator's terms: identity policies per role, a
 * function (alias) policy from its `AWS::Lambda::Permission`s, queue policies and key policies. Resolves
 * the intrinsics these templates use (`Ref`, `Fn::GetAtt … Arn`, `Fn::Join`) with CloudFormation-like
 * physical names; any other intrinsic throws, so a template change cannot silently skip a policy.
 */
import type { Stack } from 'aws-cdk-lib';

import { lambdaFunctionPolicy, LambdaPermission, parsePolicy, Policy } from '../../../../lib/domain/iam';
import type { BuiltFleet } from '../../cdk/fixtures';

type Json = unknown;
interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

const NAME_PROPERTY: Record<string, string> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Events::Rule': 'Name',
};

export class TemplatePolicies {
  private readonly resources: Record<string, Resource>;
  private readonly stack: Stack;
  readonly account: string;
  readonly region: string;

  constructor(built: BuiltFleet, stackName: string) {
    this.stack = [built.router, ...built.cells].find((s) => s.stackName === stackName)!;
    this.resources = (
      built.template(stackName).toJSON() as { Resources: Record<string, Resource> }
    ).Resources;
    this.account = this.stack.account;
    this.region = this.stack.region;
  }

  /** The logical id of the only resource of `type` whose id starts with `prefix`. */
  logicalId(type: string, prefix: string): string {
    const ids = Object.keys(this.resources).filter(
      (id) => this.resources[id].Type === type && id.startsWith(prefix),
    );
    if (ids.length !== 1) throw new Error(`${this.stack.stackName}: ${ids.length} ${type} named ${prefix}*`);
    return ids[0];
  }

  arn(logicalId: string): string {
    return this.getAtt(logicalId, 'Arn');
  }

  /**
   * The identity policies attached to a role (`AWS::IAM::Policy` and customer managed
   * `AWS::IAM::ManagedPolicy` resources naming it, and inline policies).
   */
  identityPolicies(roleLogicalId: string): Policy[] {
    const attached = [...this.ofType('AWS::IAM::Policy'), ...this.ofType('AWS::IAM::ManagedPolicy')].filter(
      ([, p]) => ((p.Roles ?? []) as Json[]).some((r) => (r as { Ref?: string }).Ref === roleLogicalId),
    );
    const inline = ((this.resources[roleLogicalId].Properties?.Policies ?? []) as Record<string, Json>[]).map(
      (p) => [p.PolicyName as string, p] as const,
    );
    return [...attached.map(([id, p]) => [id, p] as const), ...inline].map(([name, p]) =>
      parsePolicy(name, 'identity', this.resolve(p.PolicyDocument)),
    );
  }

  /** A role's trust policy (`AssumeRolePolicyDocument`). */
  trustPolicy(roleLogicalId: string): Policy {
    const document = this.resources[roleLogicalId].Properties!.AssumeRolePolicyDocument;
    return parsePolicy(this.arn(roleLogicalId), 'trust', this.resolve(document));
  }

  /** The resource policy of a function, version or alias, from the permissions granted on that ARN. */
  functionPolicy(functionArn: string): Policy | undefined {
    const permissions: LambdaPermission[] = this.ofType('AWS::Lambda::Permission')
      .map(([, p]) => this.resolve(p) as Record<string, string>)
      .filter((p) => p.FunctionName === functionArn)
      .map((p) => ({
        action: p.Action,
        principal: p.Principal,
        sourceArn: p.SourceArn,
        sourceAccount: p.SourceAccount,
        principalOrgId: p.PrincipalOrgID,
        functionUrlAuthType: p.FunctionUrlAuthType as LambdaPermission['functionUrlAuthType'],
        // A boolean in the template.
        invokedViaFunctionUrl: String(p.InvokedViaFunctionUrl) === 'true',
      }));
    if (permissions.length === 0) return undefined;
    return parsePolicy(functionArn, 'resource', lambdaFunctionPolicy(functionArn, permissions));
  }

  queuePolicy(queueLogicalId: string): Policy {
    const [, policy] = this.ofType('AWS::SQS::QueuePolicy').find(([, p]) =>
      (p.Queues as Json[]).some((q) => (q as { Ref?: string }).Ref === queueLogicalId),
    )!;
    return parsePolicy(this.arn(queueLogicalId), 'resource', this.resolve(policy.PolicyDocument));
  }

  keyPolicy(keyLogicalId: string): Policy {
    const key = this.resources[keyLogicalId].Properties!;
    return parsePolicy(this.arn(keyLogicalId), 'key', this.resolve(key.KeyPolicy));
  }

  private ofType(type: string): [string, Record<string, Json>][] {
    return Object.entries(this.resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => [id, r.Properties ?? {}]);
  }

  private physicalName(logicalId: string): string {
    const r = this.resources[logicalId];
    const name = r.Properties?.[NAME_PROPERTY[r.Type]];
    return typeof name === 'string' ? name : `${this.stack.stackName}-${logicalId}`;
  }

  private getAtt(logicalId: string, attribute: string): string {
    const r = this.resources[logicalId];
    if (!r) throw new Error(`${this.stack.stackName}: no resource ${logicalId}`);
    const { region, account } = this;
    const name = this.physicalName(logicalId);
    if (attribute === 'Version' && r.Type === 'AWS::Lambda::Version') return '1';
    if (attribute !== 'Arn') throw new Error(`${logicalId}: attribute ${attribute} is not modelled`);
    const arns: Record<string, string> = {
      'AWS::IAM::Role': `arn:aws:iam::${account}:role/${name}`,
      'AWS::Lambda::Function': `arn:aws:lambda:${region}:${account}:function:${name}`,
      'AWS::DynamoDB::Table': `arn:aws:dynamodb:${region}:${account}:table/${name}`,
      'AWS::SQS::Queue': `arn:aws:sqs:${region}:${account}:${name}`,
      // Key ids are UUIDs on AWS: unique per stack here, so two stacks' `Key` resources differ.
      'AWS::KMS::Key': `arn:aws:kms:${region}:${account}:key/${name.toLowerCase()}`,
      'AWS::Events::Rule': `arn:aws:events:${region}:${account}:rule/${name}`,
    };
    if (!arns[r.Type]) throw new Error(`${logicalId}: the ARN of a ${r.Type} is not modelled`);
    return arns[r.Type];
  }

  private ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::AccountId': this.account,
      'AWS::Region': this.region,
    };
    if (pseudo[logicalId]) return pseudo[logicalId];
    const r = this.resources[logicalId];
    if (r?.Type === 'AWS::Lambda::Alias') {
      const fn = (r.Properties!.FunctionName as { Ref: string }).Ref;
      return `${this.arn(fn)}:${r.Properties!.Name as string}`;
    }
    if (r?.Type === 'AWS::Lambda::Version')
      return `${this.arn((r.Properties!.FunctionName as { Ref: string }).Ref)}:1`;
    return this.physicalName(logicalId);
  }

  private resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (typeof value !== 'object' || value === null) return value;
    const o = value as Record<string, Json>;
    if (typeof o.Ref === 'string') return this.ref(o.Ref);
    if (o['Fn::GetAtt']) return this.getAtt(...(o['Fn::GetAtt'] as [string, string]));
    if (o['Fn::Join']) {
      const [separator, parts] = o['Fn::Join'] as [string, Json[]];
      return parts.map((p) => this.resolve(p)).join(separator);
    }
    const intrinsic = Object.keys(o).find((k) => k.startsWith('Fn::'));
    if (intrinsic) throw new Error(`${this.stack.stackName}: ${intrinsic} is not modelled`);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.resolve(v)]));
  }
}
