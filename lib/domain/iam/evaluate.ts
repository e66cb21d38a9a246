/**
 * Whether AWS would allow one request, and why, per "Policy evaluation logic", "Policy evaluation for
 * requests within a single account" and "Cross-account policy evaluation logic" (IAM User Guide),
 * "Key policies in AWS KMS" and, for `sts:AssumeRole`, the role's trust policy. Not modelled: SCPs/RCPs,
 * permissions boundaries, session policies, grants.
 */
import { describeKey, RequestContextKeys } from './conditions';
import { roleName } from './matching';
import { ParsedStatement, Policy, PrincipalEntry } from './policy';

export interface CallerPrincipal {
  readonly type: 'role' | 'service';
  /** A role's ARN (`arn:aws:iam::…:role/name`), or a service principal's name (`cloudfront.amazonaws.com`). */
  readonly arn: string;
  /** The role's account; for a service, the account it acts for. */
  readonly account: string;
  /** The session making the call (`arn:aws:sts::…:assumed-role/name/session`): AWS names it in errors. */
  readonly sessionArn?: string;
}

export interface AuthorizationRequest {
  readonly principal: CallerPrincipal;
  /** `service:Action`, e.g. `lambda:InvokeFunction`. */
  readonly action: string;
  /** The resource's ARN. */
  readonly resource: string;
  readonly resourceAccount: string;
  readonly context?: RequestContextKeys;
}

export interface ApplicablePolicies {
  /** The caller's identity-based policies (ignored for service principals, which have none). */
  readonly identity: readonly Policy[];
  /**
   * The resource's own policy (`resource`); the key policy (`key`) when the resource is a KMS key; the
   * role's trust policy (`trust`) for `sts:AssumeRole`.
   */
  readonly resource?: Policy;
}

export type Decision = 'allow' | 'explicit-deny' | 'implicit-deny';
export type PolicyType = 'identity-based' | 'resource-based';

export interface AuthorizationResult {
  readonly decision: Decision;
  /** Which statements decided, or which policy lacks what. */
  readonly reasons: readonly string[];
  /** For a denial: the policy type AWS names in its AccessDenied message. */
  readonly deniedBy?: PolicyType;
}

type Grant = 'direct' | 'account';
interface Hit {
  readonly policy: Policy;
  readonly statement: ParsedStatement;
  readonly grant: Grant;
}

const matchesList = (l: ParsedStatement['actions'], value: string) =>
  l.matchers.some((m) => m(value)) !== l.not;

function entryGrant(entry: PrincipalEntry, p: CallerPrincipal): Grant | undefined {
  if (entry.type === 'anyone') return 'direct';
  if (p.type === 'service') return entry.type === 'service' && entry.service === p.arn ? 'direct' : undefined;
  if (entry.type === 'account') return entry.account === p.account ? 'account' : undefined;
  // A role ARN matches every session of the role; a session ARN only that session.
  return entry.type === 'arn' && (entry.arn === p.arn || entry.arn === p.sessionArn) ? 'direct' : undefined;
}

/** How a statement's Principal covers the caller: directly, through its account (delegation), or not. */
function principalGrant(statement: ParsedStatement, p: CallerPrincipal): Grant | undefined {
  if (!statement.principals) return 'direct';
  const grants = statement.principals.entries.map((e) => entryGrant(e, p));
  const grant = grants.includes('direct') ? 'direct' : grants.includes('account') ? 'account' : undefined;
  if (statement.principals.not) return grant ? undefined : 'direct';
  return grant;
}

function hits(policies: readonly Policy[], request: AuthorizationRequest): Hit[] {
  const context = request.context ?? {};
  return policies.flatMap((policy) =>
    policy.statements.flatMap((statement) => {
      const grant = principalGrant(statement, request.principal);
      const applies =
        grant !== undefined &&
        matchesList(statement.actions, request.action) &&
        matchesList(statement.resources, request.resource) &&
        statement.conditions.every((c) => c.holds(context));
      return applies ? [{ policy, statement, grant }] : [];
    }),
  );
}

const policyTitle = (p: Policy): string =>
  p.kind === 'identity' ? `identity policy ${p.name}` : `${p.kind} policy of ${p.name}`;
const by = (hit: Hit): string =>
  `allowed by statement ${hit.statement.label} of the ${policyTitle(hit.policy)}`;
const allow = (...reasons: string[]): AuthorizationResult => ({ decision: 'allow', reasons });
const deny = (deniedBy: PolicyType, ...reasons: string[]): AuthorizationResult => ({
  decision: 'implicit-deny',
  reasons,
  deniedBy,
});

function explicitDeny(denies: readonly Hit[], context: RequestContextKeys): AuthorizationResult {
  const reasons = denies.map(({ policy, statement }) => {
    const keys = [...new Set(statement.conditions.map((c) => c.key))].map((k) => describeKey(context, k));
    const because = keys.length > 0 ? ` (condition ${keys.join('; ')})` : '';
    return `explicitly denied by statement ${statement.label} of the ${policyTitle(policy)}${because}`;
  });
  const deniedBy = denies[0].policy.kind === 'identity' ? 'identity-based' : 'resource-based';
  return { decision: 'explicit-deny', reasons, deniedBy };
}

interface Grants {
  readonly identity?: Hit;
  readonly direct?: Hit;
  readonly account?: Hit;
}

const who = (request: AuthorizationRequest): string => `role ${roleName(request.principal.arn)}`;
const noIdentityAllow = (request: AuthorizationRequest): string =>
  `no identity-based policy of ${who(request)} allows ${request.action} on ${request.resource}`;

/**
 * Same account, a key or trust policy: "IAM role trust policies and KMS key policies are exceptions to this
 * logic, because they must explicitly allow access for principals" (Policy evaluation logic); "Without
 * permission from the key policy, IAM policies that allow permissions have no effect" (Key policies in AWS
 * KMS). A statement naming the account delegates to its identity policies, which must then allow too.
 */
function sameAccountExplicit(request: AuthorizationRequest, key: Policy, g: Grants): AuthorizationResult {
  if (g.direct) return allow(by(g.direct));
  if (g.account && g.identity) return allow(`${by(g.account)} (delegation to IAM)`, by(g.identity));
  if (g.account)
    return deny(
      'identity-based',
      `the ${policyTitle(key)} delegates to IAM, but ${noIdentityAllow(request)}`,
    );
  const root = `arn:aws:iam::${request.resourceAccount}:root`;
  const ignored = g.identity ? [`${by(g.identity)}, which has no effect without it`] : [];
  const lacks = `the ${policyTitle(key)} neither allows ${who(request)} nor delegates to IAM (no statement for ${root})`;
  return deny('resource-based', lacks, ...ignored);
}

/** Same account: an allow in the identity policy OR one naming the caller in the resource policy suffices. */
function sameAccount(
  request: AuthorizationRequest,
  resource: Policy | undefined,
  g: Grants,
): AuthorizationResult {
  if (resource?.kind === 'key' || resource?.kind === 'trust')
    return sameAccountExplicit(request, resource, g);
  if (g.direct) return allow(by(g.direct));
  if (g.identity) return allow(by(g.identity));
  if (!resource)
    return deny(
      'identity-based',
      noIdentityAllow(request),
      `${request.resource} has no resource-based policy`,
    );
  const other = g.account
    ? `the ${policyTitle(resource)} grants ${request.action} only to the account, which delegates to IAM policies`
    : `the ${policyTitle(resource)} does not allow ${who(request)} either`;
  return deny('identity-based', noIdentityAllow(request), other);
}

/** Cross account: the identity policy AND the resource (or key) policy must both allow. */
function crossAccount(
  request: AuthorizationRequest,
  resource: Policy | undefined,
  g: Grants,
): AuthorizationResult {
  const grant = g.direct ?? g.account;
  if (g.identity && grant) return allow(by(g.identity), by(grant));
  const reasons = g.identity ? [] : [noIdentityAllow(request)];
  if (!grant && resource) {
    const caller = `${who(request)} of account ${request.principal.account}`;
    reasons.push(`the ${policyTitle(resource)} does not allow ${caller} (cross-account calls need both)`);
  } else if (!grant) {
    reasons.push(
      `${request.resource} has no resource-based policy (cross-account calls need one as well as an identity-based allow)`,
    );
  }
  return deny(g.identity ? 'resource-based' : 'identity-based', ...reasons);
}

/** An AWS service principal has no identity policies: only the resource policy can let it in. */
function servicePrincipal(request: AuthorizationRequest, resource: Policy | undefined, g: Grants) {
  if (g.direct) return allow(by(g.direct));
  const service = `service ${request.principal.arn}`;
  return deny(
    'resource-based',
    resource
      ? `the ${policyTitle(resource)} does not allow ${service} to perform ${request.action}`
      : `${request.resource} has no resource-based policy, the only way to grant ${service} access`,
  );
}

/** Decides one request: an explicit deny anywhere wins; otherwise the allows must add up as AWS requires. */
export function authorize(request: AuthorizationRequest, policies: ApplicablePolicies): AuthorizationResult {
  const { resource } = policies;
  if (request.action.toLowerCase().startsWith('kms:') && resource?.kind !== 'key') {
    throw new Error(
      `${request.action} on ${request.resource}: pass the key's key policy (every KMS key has one)`,
    );
  }
  if (request.action.toLowerCase() === 'sts:assumerole' && resource?.kind !== 'trust') {
    throw new Error(
      `sts:AssumeRole on ${request.resource}: pass the role's trust policy (every role has one)`,
    );
  }
  const identity = request.principal.type === 'role' ? hits(policies.identity, request) : [];
  const onResource = resource ? hits([resource], request) : [];
  const denies = [...identity, ...onResource].filter((h) => h.statement.effect === 'Deny');
  if (denies.length > 0) return explicitDeny(denies, request.context ?? {});
  const allows = onResource.filter((h) => h.statement.effect === 'Allow');
  const grants: Grants = {
    identity: identity.find((h) => h.statement.effect === 'Allow'),
    direct: allows.find((h) => h.grant === 'direct'),
    account: allows.find((h) => h.grant === 'account'),
  };
  if (request.principal.type === 'service') return servicePrincipal(request, resource, grants);
  const same = request.principal.account === request.resourceAccount;
  return (same ? sameAccount : crossAccount)(request, resource, grants);
}
