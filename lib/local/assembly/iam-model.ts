/**
 * The IAM side of a stack, read from its template: roles (trust policy, inline `AWS::IAM::Policy` and
 * `AWS::IAM::ManagedPolicy` attachments, AWS managed policies carried as data), which role each function
 * runs as, function resource policies (`AWS::Lambda::Permission`), queue policies, key policies, and which
 * table or queue is encrypted with which key. Every policy is parsed here, so one the evaluator cannot
 * read fails the assembly by name.
 */
import { lambdaFunctionPolicy, type LambdaPermission, parsePolicy, type Policy } from '../../domain/iam';

import { AWS_MANAGED_POLICIES } from './aws-managed-policies';
import { StackNames } from './iam-names';
import { type IdentityPolicy, type LocalRole, type StackIam, UnsupportedResourceError } from './model';
import type { CfnResource } from './stack-template';
import { getAttOf, refOf } from './stack-template';

type Resources = Readonly<Record<string, CfnResource>>;

/** The construct path of a resource (`Bulkhead-Router/RouterRole/DefaultPolicy`), else its logical id. */
function sourceOf(stackName: string, logicalId: string, resource: CfnResource): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path.replace(/\/(Resource|Default)$/, '') : `${stackName}/${logicalId}`;
}

class IamReader {
  constructor(
    private readonly stackName: string,
    private readonly resources: Resources,
    readonly names: StackNames,
  ) {}

  ofType(type: string): [string, CfnResource][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }

  /** Parses a policy document of `logicalId`; a problem fails the assembly, naming the resource. */
  parse(logicalId: string, property: string, name: string, kind: Policy['kind'], doc: unknown): Policy {
    const type = this.resources[logicalId].Type;
    try {
      return parsePolicy(name, kind, this.names.resolve(doc));
    } catch (error) {
      throw new UnsupportedResourceError(this.stackName, logicalId, type, property, (error as Error).message);
    }
  }

  has(logicalId: string): boolean {
    return logicalId in this.resources;
  }

  source(logicalId: string): string {
    return sourceOf(this.stackName, logicalId, this.resources[logicalId]);
  }

  /** `[{ Ref: X }, …]` (a policy's `Roles`, a queue policy's `Queues`) → the logical ids. */
  refsOf(value: unknown): string[] {
    const list = Array.isArray(value) ? (value as unknown[]) : [];
    return list.map((r) => refOf(r)).filter((id): id is string => id !== undefined);
  }
}

function attachedPolicies(reader: IamReader, roleId: string): IdentityPolicy[] {
  const types = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'];
  return types.flatMap((type) =>
    reader
      .ofType(type)
      .filter(([, r]) => reader.refsOf(r.Properties?.Roles).includes(roleId))
      .map(([id, r]) => ({
        policy: reader.parse(id, 'PolicyDocument', id, 'identity', r.Properties?.PolicyDocument),
        source: reader.source(id),
      })),
  );
}

/** `ManagedPolicyArns`: AWS managed policies from the data file, customer managed ones from the stack. */
function managedPolicies(reader: IamReader, roleId: string, props: Readonly<Record<string, unknown>>) {
  const known: IdentityPolicy[] = [];
  const unknown: string[] = [];
  const arns = Array.isArray(props.ManagedPolicyArns) ? (props.ManagedPolicyArns as unknown[]) : [];
  for (const value of arns) {
    const ref = refOf(value);
    if (ref !== undefined && reader.ofType('AWS::IAM::ManagedPolicy').some(([id]) => id === ref)) continue;
    const arn = String(reader.names.resolve(value));
    const document = AWS_MANAGED_POLICIES[arn];
    if (document)
      known.push({
        policy: reader.parse(roleId, 'ManagedPolicyArns', arn, 'identity', document),
        source: arn,
      });
    else unknown.push(arn);
  }
  const referenced = arns.map((v) => refOf(v)).filter((id): id is string => id !== undefined);
  for (const [id, r] of reader.ofType('AWS::IAM::ManagedPolicy').filter(([i]) => referenced.includes(i))) {
    known.push({
      policy: reader.parse(id, 'PolicyDocument', id, 'identity', r.Properties?.PolicyDocument),
      source: reader.source(id),
    });
  }
  return { known, unknown };
}

function modelRoles(reader: IamReader): LocalRole[] {
  return reader.ofType('AWS::IAM::Role').map(([roleId, r]) => {
    const props = r.Properties ?? {};
    const arn = reader.names.getAtt(roleId, 'Arn');
    const inline = (Array.isArray(props.Policies) ? (props.Policies as Record<string, unknown>[]) : []).map(
      (p) => ({
        policy: reader.parse(
          roleId,
          'Policies',
          `${roleId}/${String(p.PolicyName)}`,
          'identity',
          p.PolicyDocument,
        ),
        source: `${reader.source(roleId)}/${String(p.PolicyName)}`,
      }),
    );
    const managed = managedPolicies(reader, roleId, props);
    return {
      logicalId: roleId,
      name: reader.names.roleName(roleId),
      arn,
      trust: reader.parse(roleId, 'AssumeRolePolicyDocument', arn, 'trust', props.AssumeRolePolicyDocument),
      identity: [...inline, ...attachedPolicies(reader, roleId), ...managed.known],
      unknownManagedPolicies: managed.unknown,
      source: reader.source(roleId),
    };
  });
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `AWS::Lambda::Permission`s, gathered into the resource policy of each function, alias or version. */
function functionPolicies(reader: IamReader, sources: Record<string, string>): Record<string, Policy> {
  const byArn = new Map<string, LambdaPermission[]>();
  const firstOf = new Map<string, string>();
  for (const [id, r] of reader.ofType('AWS::Lambda::Permission')) {
    const p = reader.names.resolve(r.Properties ?? {}) as Record<string, unknown>;
    const name = String(p.FunctionName);
    const arn = name.startsWith('arn:')
      ? name
      : `arn:${reader.names.partition}:lambda:${reader.names.region}:${reader.names.account}:function:${name}`;
    const permission: LambdaPermission = {
      action: String(p.Action),
      principal: String(p.Principal),
      statementId: id,
      ...(text(p.SourceArn) && { sourceArn: text(p.SourceArn) }),
      ...(text(p.SourceAccount) && { sourceAccount: text(p.SourceAccount) }),
      ...(text(p.PrincipalOrgID) && { principalOrgId: text(p.PrincipalOrgID) }),
      ...(text(p.FunctionUrlAuthType) && {
        functionUrlAuthType: p.FunctionUrlAuthType as LambdaPermission['functionUrlAuthType'],
      }),
      ...((p.InvokedViaFunctionUrl === true || p.InvokedViaFunctionUrl === 'true') && {
        invokedViaFunctionUrl: true,
      }),
    };
    byArn.set(arn, [...(byArn.get(arn) ?? []), permission]);
    if (!firstOf.has(arn)) firstOf.set(arn, id);
    const target = refOf(r.Properties?.FunctionName) ?? getAttOf(r.Properties?.FunctionName)?.[0];
    sources[arn] ??= target && reader.has(target) ? reader.source(target) : reader.source(id);
  }
  return Object.fromEntries(
    [...byArn].map(([arn, permissions]) => {
      const document = lambdaFunctionPolicy(arn, permissions);
      return [arn, reader.parse(firstOf.get(arn)!, 'FunctionName', arn, 'resource', document)];
    }),
  );
}

function queuePolicies(reader: IamReader, sources: Record<string, string>): Record<string, Policy> {
  const policies: Record<string, Policy> = {};
  for (const [id, r] of reader.ofType('AWS::SQS::QueuePolicy')) {
    for (const queueId of reader.refsOf(r.Properties?.Queues)) {
      const arn = reader.names.getAtt(queueId, 'Arn');
      policies[arn] = reader.parse(id, 'PolicyDocument', arn, 'resource', r.Properties?.PolicyDocument);
      sources[arn] = reader.source(id);
    }
  }
  return policies;
}

/** Which customer managed key of the stack encrypts each table and queue. */
function encryptionOf(reader: IamReader): Record<string, string> {
  const keyOf = (value: unknown): string | undefined => {
    const att = getAttOf(value);
    const id = att?.[0] ?? refOf(value);
    if (!id || reader.ofType('AWS::KMS::Key').every(([k]) => k !== id)) return undefined;
    return reader.names.getAtt(id, 'Arn');
  };
  const out: Record<string, string> = {};
  for (const [id, r] of reader.ofType('AWS::DynamoDB::Table')) {
    const sse = r.Properties?.SSESpecification as Record<string, unknown> | undefined;
    const key = keyOf(sse?.KMSMasterKeyId);
    if (key) out[reader.names.getAtt(id, 'Arn')] = key;
  }
  for (const [id, r] of reader.ofType('AWS::SQS::Queue')) {
    const key = keyOf(r.Properties?.KmsMasterKeyId);
    if (key) out[reader.names.getAtt(id, 'Arn')] = key;
  }
  return out;
}

/** The role of each function: `Role` is the `Arn` of a role of the stack. */
function functionRoles(reader: IamReader): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, r] of reader.ofType('AWS::Lambda::Function')) {
    const att = getAttOf(r.Properties?.Role);
    if (att && att[1] === 'Arn' && reader.ofType('AWS::IAM::Role').some(([roleId]) => roleId === att[0]))
      out[id] = att[0];
  }
  return out;
}

export function modelIam(stack: ConstructorParameters<typeof StackNames>[0], resources: Resources): StackIam {
  const names = new StackNames(stack, resources);
  const reader = new IamReader(stack.stackName, resources, names);
  const sources: Record<string, string> = {};
  const keyPolicies: Record<string, Policy> = {};
  for (const [id, r] of reader.ofType('AWS::KMS::Key')) {
    const arn = names.getAtt(id, 'Arn');
    keyPolicies[arn] = reader.parse(id, 'KeyPolicy', arn, 'key', r.Properties?.KeyPolicy);
    sources[arn] = reader.source(id);
  }
  return {
    partition: names.partition,
    account: names.account,
    region: names.region,
    roles: modelRoles(reader),
    functionRoles: functionRoles(reader),
    functionArns: Object.fromEntries(
      reader.ofType('AWS::Lambda::Function').map(([id]) => [id, names.getAtt(id, 'Arn')]),
    ),
    resourcePolicies: { ...functionPolicies(reader, sources), ...queuePolicies(reader, sources) },
    keyPolicies,
    encryption: encryptionOf(reader),
    sources,
  };
}
