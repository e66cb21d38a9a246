/**
 * Function environments: what a variable's template value references (read at model time), and its
 * value once the local platform knows where each resource runs (resolved at start).
 */
import type { EnvRef, EnvValue, LocalFunction } from './model';
import type { PropertyReader } from './property-reader';
import { getAttOf, intrinsicOf, refOf, type StackTemplate } from './stack-template';

const PSEUDO_PARAMETERS = [
  'AWS::AccountId',
  'AWS::Region',
  'AWS::Partition',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::URLSuffix',
];

/** What a `Ref` to each modelled type stands for. */
const REF_KINDS: Readonly<Record<string, EnvRef['kind']>> = {
  'AWS::DynamoDB::Table': 'table',
  'AWS::SQS::Queue': 'queue-url',
  'AWS::Lambda::Function': 'function',
  'AWS::Lambda::Version': 'version',
  'AWS::Lambda::Alias': 'alias',
};

/** What each `Fn::GetAtt` with a local counterpart stands for, by type and attribute. */
function getAttRef(type: string, logicalId: string, attribute: string): EnvRef | undefined {
  const refs: Readonly<Record<string, Readonly<Record<string, EnvRef>>>> = {
    'AWS::DynamoDB::Table': { Arn: { kind: 'table', logicalId, attribute: 'Arn' } },
    'AWS::SQS::Queue': {
      Arn: { kind: 'queue-arn', logicalId },
      QueueUrl: { kind: 'queue-url', logicalId },
      QueueName: { kind: 'queue-name', logicalId },
    },
    'AWS::Lambda::Function': { Arn: { kind: 'function', logicalId, attribute: 'Arn' } },
    'AWS::Lambda::Version': { Version: { kind: 'version', logicalId, attribute: 'Version' } },
    'AWS::Lambda::Url': {
      FunctionUrl: { kind: 'url', logicalId, attribute: 'FunctionUrl' },
      FunctionArn: { kind: 'url', logicalId, attribute: 'FunctionArn' },
    },
  };
  return refs[type]?.[attribute];
}

/** An environment variable's template value: a string, a reference, or a `Fn::Join` of those. */
export function envValueOf(template: StackTemplate, r: PropertyReader, value: unknown, at: string): EnvValue {
  if (typeof value === 'string') return value;
  const ref = refOf(value);
  if (ref !== undefined) {
    if (PSEUDO_PARAMETERS.includes(ref)) return { ref: { kind: 'stack-attr', logicalId: ref } };
    const kind = template.hasLocalCounterpart(ref) ? REF_KINDS[template.resources[ref].Type] : undefined;
    return kind ? { ref: { kind, logicalId: ref } } : r.fail(at, `references ${template.describe(ref)}`);
  }
  const att = getAttOf(value);
  if (att) {
    const [target, attribute] = att;
    if (!template.hasLocalCounterpart(target)) return r.fail(at, `references ${template.describe(target)}`);
    const type = template.resources[target].Type;
    const found = getAttRef(type, target, attribute);
    if (!found)
      return r.fail(at, `references ${target}.${attribute} (${type}), which has no local counterpart`);
    return { ref: found };
  }
  const intrinsic = intrinsicOf(value);
  if (intrinsic?.[0] === 'Fn::Join') {
    const args = r.array(intrinsic[1], `${at}.Fn::Join`);
    if (args.length !== 2) r.fail(`${at}.Fn::Join`, 'must have a delimiter and a list');
    const delimiter = r.string(args[0], `${at}.Fn::Join[0]`);
    const parts = r.array(args[1], `${at}.Fn::Join[1]`);
    return {
      join: {
        delimiter,
        parts: parts.map((part, i) => envValueOf(template, r, part, `${at}.Fn::Join[1][${i}]`)),
      },
    };
  }
  if (intrinsic) return r.fail(at, `uses ${intrinsic[0]}, which the local platform does not evaluate`);
  return r.fail(at, `must be a string or a reference, got ${JSON.stringify(value)}`);
}

export function describeRef(ref: EnvRef): string {
  return `${ref.kind} ${ref.logicalId}${ref.attribute ? `.${ref.attribute}` : ''}`;
}

/** An environment variable whose reference the resolver could not turn into a value. */
export class EnvironmentResolutionError extends Error {
  constructor(
    readonly functionName: string,
    readonly variable: string,
    readonly ref: EnvRef,
    reason: string,
  ) {
    super(
      `function ${functionName}: environment variable ${variable} references ${describeRef(ref)}, which cannot be resolved locally (${reason})`,
    );
    this.name = 'EnvironmentResolutionError';
  }
}

/** Resolves a reference to its local value; `undefined` (or a throw) when it cannot. */
export type EnvResolver = (ref: EnvRef) => string | undefined;

/**
 * A template value with every reference resolved; `fail` says why one could not be (`undefined` from the
 * resolver, or its error).
 */
export function resolveValue(
  value: EnvValue,
  resolver: EnvResolver,
  fail: (ref: EnvRef, reason: string) => never,
): string {
  if (typeof value === 'string') return value;
  if ('join' in value)
    return value.join.parts.map((p) => resolveValue(p, resolver, fail)).join(value.join.delimiter);
  let result: string | undefined;
  try {
    result = resolver(value.ref);
  } catch (error) {
    return fail(value.ref, (error as Error).message);
  }
  return typeof result === 'string' ? result : fail(value.ref, 'the resolver has no value for it');
}

/**
 * The function's environment with every reference resolved to the local resources. Throws
 * {@link EnvironmentResolutionError}, naming the variable and the reference, on the first one the
 * resolver cannot resolve.
 */
export function resolveEnvironment(fn: LocalFunction, resolver: EnvResolver): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const [variable, value] of Object.entries(fn.environment)) {
    resolved[variable] = resolveValue(value, resolver, (ref, reason) => {
      throw new EnvironmentResolutionError(fn.name, variable, ref, reason);
    });
  }
  return resolved;
}
