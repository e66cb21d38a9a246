/**
 * Policy documents as they appear in synthesized templates, and their parsed (validated, compiled) form.
 * Parsing throws a `PolicyError` naming the policy and statement, so a malformed or unsupported template
 * policy fails where it is read rather than when a request happens to reach it.
 */
import { compileCondition, Condition } from './conditions';
import { actionMatcher, arnMatcher, Matcher } from './matching';

export type OneOrMany<T> = T | readonly T[];
export type Effect = 'Allow' | 'Deny';

/** `"*"`, or `{ AWS: account id | account root ARN | role ARN | "*" }` and/or `{ Service: "lambda.amazonaws.com" }`. */
export type PolicyPrincipal =
  '*' | { readonly AWS?: OneOrMany<string>; readonly Service?: OneOrMany<string> };

export type ConditionBlock = Readonly<
  Record<string, Readonly<Record<string, OneOrMany<string | number | boolean>>>>
>;

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: Effect;
  readonly Action?: OneOrMany<string>;
  readonly NotAction?: OneOrMany<string>;
  readonly Resource?: OneOrMany<string>;
  readonly NotResource?: OneOrMany<string>;
  readonly Principal?: PolicyPrincipal;
  readonly NotPrincipal?: PolicyPrincipal;
  readonly Condition?: ConditionBlock;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Id?: string;
  readonly Statement: OneOrMany<PolicyStatement>;
}

/**
 * `identity`: attached to the caller's role. `resource`: a resource's own policy (function, queue, table).
 * `key`: a KMS key policy, and `trust`: a role's trust policy (who may `sts:AssumeRole` it), both of which
 * must allow access themselves (see `authorize`).
 */
export type PolicyKind = 'identity' | 'resource' | 'key' | 'trust';

/** Who a resource-policy principal entry names. An account entry delegates to that account's IAM policies. */
export type PrincipalEntry =
  | { readonly type: 'anyone' }
  | { readonly type: 'account'; readonly account: string }
  | { readonly type: 'arn'; readonly arn: string }
  | { readonly type: 'service'; readonly service: string };

interface ElementList {
  readonly not: boolean;
  readonly matchers: readonly Matcher[];
}

export interface ParsedStatement {
  /** The Sid, or `#<index>` when the statement has none. */
  readonly label: string;
  readonly effect: Effect;
  readonly actions: ElementList;
  readonly resources: ElementList;
  readonly principals?: { readonly not: boolean; readonly entries: readonly PrincipalEntry[] };
  readonly conditions: readonly Condition[];
}

export interface Policy {
  /** Says whose policy this is, for explanations: `RouterRoleDefaultPolicy`, `queue policy of arn:…`. */
  readonly name: string;
  readonly kind: PolicyKind;
  readonly statements: readonly ParsedStatement[];
}

export class PolicyError extends Error {}

const list = <T>(value: OneOrMany<T>): readonly T[] => (Array.isArray(value) ? value : [value as T]);

const ACCOUNT_ROOT = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;

function principalEntry(kind: 'AWS' | 'Service', value: string): PrincipalEntry {
  if (value === '*') return { type: 'anyone' };
  if (kind === 'Service') return { type: 'service', service: value };
  if (/^\d{12}$/.test(value)) return { type: 'account', account: value };
  // "Using the account ARN in the Principal element does not limit permissions to only the root user."
  const root = ACCOUNT_ROOT.exec(value);
  return root ? { type: 'account', account: root[1] } : { type: 'arn', arn: value };
}

function principalEntries(principal: unknown, fail: (m: string) => never): PrincipalEntry[] {
  // `"Principal": "*"` and `{ "AWS": "*" }` are equivalent (IAM JSON policy elements: Principal).
  if (principal === '*') return [{ type: 'anyone' }];
  if (typeof principal !== 'object' || principal === null) fail('has a malformed Principal');
  return Object.entries(principal as Record<string, unknown>).flatMap(([kind, values]) => {
    if (kind !== 'AWS' && kind !== 'Service') fail(`has a "${kind}" principal, which is not supported`);
    return list(values as OneOrMany<unknown>).map((v) => {
      if (typeof v !== 'string') fail(`has a non-string ${kind} principal`);
      return principalEntry(kind, v);
    });
  });
}

/** Policy variables (`${aws:username}`) are not modelled: compared literally they could flip a negation. */
function noVariables(values: readonly string[], element: string, fail: (m: string) => never): void {
  const variable = values.find((v) => v.includes('${'));
  if (variable !== undefined)
    fail(`uses a policy variable in ${element} ("${variable}"), which is not supported`);
}

function strings(value: unknown, element: string, fail: (m: string) => never): string[] {
  const values = list(value as OneOrMany<unknown>);
  if (values.length === 0 || values.some((v) => typeof v !== 'string')) fail(`has a malformed ${element}`);
  noVariables(values as string[], element, fail);
  return values as string[];
}

/** Exactly one of `Element` / `NotElement`: a statement with both or neither is invalid. */
function elementList(
  s: Record<string, unknown>,
  element: 'Action' | 'Resource',
  compile: (p: string) => Matcher,
  fail: (m: string) => never,
): ElementList {
  const not = `Not${element}`;
  if (s[element] !== undefined && s[not] !== undefined) fail(`has both ${element} and ${not}`);
  if (s[element] === undefined && s[not] === undefined) fail(`has neither ${element} nor ${not}`);
  const patterns = strings(s[element] ?? s[not], s[element] !== undefined ? element : not, fail);
  return { not: s[element] === undefined, matchers: patterns.map(compile) };
}

function conditions(block: unknown, fail: (m: string) => never): Condition[] {
  if (block === undefined) return [];
  if (typeof block !== 'object' || block === null) fail('has a malformed Condition');
  return Object.entries(block as Record<string, unknown>).flatMap(([operator, keys]) => {
    if (typeof keys !== 'object' || keys === null) fail(`has a malformed ${operator} condition`);
    return Object.entries(keys as Record<string, unknown>).map(([key, values]) => {
      const raw = list(values as OneOrMany<unknown>);
      if (raw.some((v) => !['string', 'number', 'boolean'].includes(typeof v)))
        fail(`has a malformed ${key}`);
      noVariables(raw.map(String), `${operator} ${key}`, fail);
      try {
        return compileCondition(operator, key, raw.map(String));
      } catch (error) {
        return fail(`has an invalid condition (${operator} ${key}): ${(error as Error).message}`);
      }
    });
  });
}

/**
 * A trust policy's statements name no Resource: the role is the resource (IAM JSON policy elements:
 * Resource, "in a role trust policy … the Resource element is not used"). Its policy is named by the role ARN.
 */
function trustResources(s: Record<string, unknown>, policy: { name: string; kind: PolicyKind }) {
  if (policy.kind !== 'trust' || s.Resource !== undefined || s.NotResource !== undefined) return undefined;
  return { not: false, matchers: [arnMatcher(policy.name)] };
}

function parseStatement(
  raw: unknown,
  index: number,
  policy: { name: string; kind: PolicyKind },
): ParsedStatement {
  const s = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const label = typeof s.Sid === 'string' && s.Sid !== '' ? s.Sid : `#${index}`;
  const fail = (message: string): never => {
    throw new PolicyError(`statement ${label} of ${policy.name} ${message}`);
  };
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') fail('needs Effect "Allow" or "Deny"');
  const hasPrincipal = s.Principal !== undefined || s.NotPrincipal !== undefined;
  if (policy.kind === 'identity' && hasPrincipal) fail('names a principal, which identity policies cannot');
  if (policy.kind !== 'identity' && !hasPrincipal) fail('needs a Principal or NotPrincipal');
  if (s.Principal !== undefined && s.NotPrincipal !== undefined) fail('has both Principal and NotPrincipal');
  return {
    label,
    effect: s.Effect as Effect,
    actions: elementList(s, 'Action', actionMatcher, fail),
    resources: trustResources(s, policy) ?? elementList(s, 'Resource', arnMatcher, fail),
    principals: hasPrincipal
      ? { not: s.Principal === undefined, entries: principalEntries(s.Principal ?? s.NotPrincipal, fail) }
      : undefined,
    conditions: conditions(s.Condition, fail),
  };
}

/** Validates and compiles a policy document (a `PolicyDocument`, typically read from a template). */
export function parsePolicy(name: string, kind: PolicyKind, document: unknown): Policy {
  const doc = document as Partial<Record<keyof PolicyDocument, unknown>> | null;
  if (typeof doc !== 'object' || doc === null || doc.Statement === undefined) {
    throw new PolicyError(`${name} has no Statement`);
  }
  const statements = list(doc.Statement as OneOrMany<unknown>).map((s, i) =>
    parseStatement(s, i, { name, kind }),
  );
  return { name, kind, statements };
}
