/**
 * The names and ARNs a stack's resources have once deployed, as its IAM policies reference them
 * (`Ref`, `Fn::GetAtt … Arn`, `Fn::Join`), so that a policy read from the template names the very
 * resources the local platform runs: tables, queues and functions by their local names, in the stack's
 * account and region.
 */
import * as crypto from 'node:crypto';

import type { LocalStack } from './model';
import type { CfnResource } from './stack-template';
import { getAttOf, intrinsicOf, refOf } from './stack-template';

/** The account of an environment-agnostic stack, as the local runtime reports it. */
export const LOCAL_ACCOUNT = '000000000000';
export const DEFAULT_REGION = 'us-east-1';

const hash = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

/**
 * The name CloudFormation gives a resource without an explicit one: `<stack>-<logical id>-<random>`, cut
 * to fit (a role name has at most 64 characters). Observed on generated role names such as
 * `Karpenter-KarpenterEksClu-HandlerServiceRoleFCDC14-1E2S2B6XVZBLW` (aws/karpenter-provider-aws#4680):
 * the stack name kept to 25 characters, the logical id cut, a 13-character suffix. Only the stack-name
 * prefix is relied upon (a trust policy matching `Bulkhead-Cell-*`); the suffix is derived from the names
 * here so that it is stable across starts.
 */
export function generatedName(stackName: string, logicalId: string, max = 64): string {
  const suffix = hash(`${stackName}/${logicalId}`).slice(0, 13).toUpperCase();
  const full = `${stackName}-${logicalId}-${suffix}`;
  if (full.length <= max) return full;
  const stackPart = stackName.slice(0, 25);
  const idPart = logicalId.slice(0, max - stackPart.length - suffix.length - 2);
  return `${stackPart}-${idPart}-${suffix}`;
}

/** A stable key id (a UUID, as KMS gives): every stack's key has the same logical id, so the stack counts. */
export function keyId(stackName: string, logicalId: string): string {
  const h = hash(`${stackName}/${logicalId}/key`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class IamResolutionError extends Error {}

/** Resolves a stack's intrinsic functions to the deployed names and ARNs of its resources. */
export class StackNames {
  readonly partition = 'aws';
  readonly account: string;
  readonly region: string;

  constructor(
    private readonly stack: Pick<LocalStack, 'stackName' | 'tables' | 'queues' | 'functions' | 'account'> & {
      readonly region?: string;
    },
    private readonly resources: Readonly<Record<string, CfnResource>>,
  ) {
    this.account = stack.account ?? LOCAL_ACCOUNT;
    this.region = stack.region ?? DEFAULT_REGION;
  }

  private arn(service: string, resource: string, region = this.region): string {
    return `arn:${this.partition}:${service}:${region}:${this.account}:${resource}`;
  }

  private explicitName(logicalId: string, property: string): string | undefined {
    const value = this.resources[logicalId]?.Properties?.[property];
    return typeof value === 'string' ? value : undefined;
  }

  /** What `Ref` of a resource returns: its name (a role, table, function), URL (queue), id (key) or ARN. */
  ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': this.partition,
      'AWS::AccountId': this.account,
      'AWS::Region': this.region,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.stack.stackName,
    };
    if (pseudo[logicalId]) return pseudo[logicalId];
    const r = this.resource(logicalId);
    const props = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return this.roleName(logicalId);
      case 'AWS::DynamoDB::Table':
        return this.tableName(logicalId);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.account}/${this.queueName(logicalId)}`;
      case 'AWS::Lambda::Function':
        return this.functionName(logicalId);
      case 'AWS::Lambda::Alias':
        return `${this.getAtt(refOf(props.FunctionName) ?? '', 'Arn')}:${String(props.Name)}`;
      case 'AWS::Lambda::Version':
        return `${this.getAtt(refOf(props.FunctionName) ?? '', 'Arn')}:1`;
      case 'AWS::KMS::Key':
        return keyId(this.stack.stackName, logicalId);
      case 'AWS::IAM::ManagedPolicy':
        return `arn:${this.partition}:iam::${this.account}:policy/${this.explicitName(logicalId, 'ManagedPolicyName') ?? generatedName(this.stack.stackName, logicalId, 128)}`;
      case 'AWS::ApiGatewayV2::Api':
        return hash(`${this.stack.stackName}/${logicalId}`).slice(0, 10);
      default:
        return `${this.stack.stackName}-${logicalId}`;
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    const r = this.resource(logicalId);
    if (attribute !== 'Arn') {
      if (r.Type === 'AWS::SQS::Queue' && attribute === 'QueueName') return this.queueName(logicalId);
      if (r.Type === 'AWS::SQS::Queue' && attribute === 'QueueUrl') return this.ref(logicalId);
      throw new IamResolutionError(`${this.stack.stackName}/${logicalId}: ${attribute} is not modelled`);
    }
    switch (r.Type) {
      case 'AWS::IAM::Role':
        return `arn:${this.partition}:iam::${this.account}:role/${this.roleName(logicalId)}`;
      case 'AWS::DynamoDB::Table':
        return this.arn('dynamodb', `table/${this.tableName(logicalId)}`);
      case 'AWS::SQS::Queue':
        return this.arn('sqs', this.queueName(logicalId));
      case 'AWS::KMS::Key':
        return this.arn('kms', `key/${this.ref(logicalId)}`);
      case 'AWS::Lambda::Function':
        return this.arn('lambda', `function:${this.functionName(logicalId)}`);
      case 'AWS::Events::Rule':
        return this.arn(
          'events',
          `rule/${this.explicitName(logicalId, 'Name') ?? generatedName(this.stack.stackName, logicalId)}`,
        );
      case 'AWS::CloudWatch::Alarm':
        return this.arn(
          'cloudwatch',
          `alarm:${this.explicitName(logicalId, 'AlarmName') ?? generatedName(this.stack.stackName, logicalId, 255)}`,
        );
      case 'AWS::Logs::LogGroup':
        return this.arn(
          'logs',
          `log-group:${this.explicitName(logicalId, 'LogGroupName') ?? generatedName(this.stack.stackName, logicalId, 512)}:*`,
        );
      default:
        throw new IamResolutionError(
          `${this.stack.stackName}/${logicalId}: the ARN of a ${r.Type} is not modelled`,
        );
    }
  }

  roleName(logicalId: string): string {
    return this.explicitName(logicalId, 'RoleName') ?? generatedName(this.stack.stackName, logicalId);
  }

  tableName(logicalId: string): string {
    const table = this.stack.tables.find((t) => t.logicalId === logicalId);
    return (
      table?.tableName ?? this.explicitName(logicalId, 'TableName') ?? `${this.stack.stackName}-${logicalId}`
    );
  }

  queueName(logicalId: string): string {
    const queue = this.stack.queues.find((q) => q.logicalId === logicalId);
    return (
      queue?.queueName ?? this.explicitName(logicalId, 'QueueName') ?? `${this.stack.stackName}-${logicalId}`
    );
  }

  functionName(logicalId: string): string {
    const fn = this.stack.functions.find((f) => f.logicalId === logicalId);
    return (
      fn?.name ??
      this.explicitName(logicalId, 'FunctionName') ??
      generatedName(this.stack.stackName, logicalId)
    );
  }

  private resource(logicalId: string): CfnResource {
    const r = this.resources[logicalId];
    if (!r)
      throw new IamResolutionError(`${this.stack.stackName}: ${logicalId} is not a resource of this stack`);
    return r;
  }

  /** A template value with every intrinsic resolved (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split`). */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (typeof value !== 'object' || value === null) return value;
    const ref = refOf(value);
    if (ref !== undefined) return this.ref(ref);
    const att = getAttOf(value);
    if (att) return this.getAtt(...att);
    const intrinsic = intrinsicOf(value);
    if (intrinsic) return this.intrinsic(intrinsic[0], intrinsic[1]);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }

  private intrinsic(name: string, args: unknown): unknown {
    const list = Array.isArray(args) ? args : [];
    switch (name) {
      case 'Fn::Join':
        return (this.resolve(list[1]) as unknown[]).join(String(list[0]));
      case 'Fn::Select':
        return (this.resolve(list[1]) as unknown[])[Number(this.resolve(list[0]))];
      case 'Fn::Split':
        return String(this.resolve(list[1])).split(String(list[0]));
      default:
        throw new IamResolutionError(`${this.stack.stackName}: ${name} in a policy is not modelled`);
    }
  }
}
