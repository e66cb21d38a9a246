/**
 * The one line the platform logs for a denied call: who, what, on what, why (the evaluator's reasons:
 * which policy lacks what), and where to change it (the construct path of the policy to extend).
 */
import type { AuthorizationRequest, AuthorizationResult } from '../../domain/iam';
import type { LocalRole } from '../assembly/model';

export interface DeniedCall {
  readonly request: AuthorizationRequest;
  /** The call that needs `request` (a KMS use implied by a table or queue call). */
  readonly impliedBy?: AuthorizationRequest;
  readonly result: AuthorizationResult;
}

export interface PolicySources {
  role(arn: string): LocalRole | undefined;
  sourceOf(arn: string): string | undefined;
}

function who(request: AuthorizationRequest): string {
  const p = request.principal;
  if (p.type === 'service') return `service ${p.arn}`;
  const name = p.arn.split('/').pop();
  return p.account === request.resourceAccount ? `role ${name}` : `role ${name} of account ${p.account}`;
}

function note(call: DeniedCall): string {
  const { request, impliedBy } = call;
  if (impliedBy) return ` (${impliedBy.action} on ${impliedBy.resource} uses this customer managed key)`;
  if (
    request.action === 'lambda:InvokeFunction' &&
    request.context?.['lambda:InvokedViaFunctionUrl'] === true
  )
    return ' (function URL calls need it since 2025-10)';
  return '';
}

/** The identity policy to extend: the role's own (its DefaultPolicy), else the role. */
function identitySource(role: LocalRole | undefined): string | undefined {
  return role?.identity.find((p) => !p.source.startsWith('arn:'))?.source ?? role?.source;
}

function fix(call: DeniedCall, sources: PolicySources): string {
  const { request, result } = call;
  if (result.decision === 'explicit-deny') {
    return result.reasons.some((r) => r.includes('aws:SecureTransport = false'))
      ? 'the resource refuses plain HTTP: call it over HTTPS'
      : 'an explicit deny cannot be outweighed by an allow: narrow the denying statement';
  }
  const grant = `${request.action} on ${request.resource}`;
  if (result.deniedBy === 'identity-based' && request.principal.type === 'role') {
    const source = identitySource(sources.role(request.principal.arn));
    return `add ${grant} to ${source ?? `the identity policy of ${request.principal.arn}`}`;
  }
  const action = request.action.toLowerCase();
  const where = sources.sourceOf(request.resource) ?? request.resource;
  if (action.startsWith('kms:'))
    return `allow ${request.action} for ${request.principal.arn} in the key policy of ${where}`;
  if (action === 'sts:assumerole') return `allow it in the trust policy of ${where}`;
  if (action.startsWith('lambda:'))
    return `add an AWS::Lambda::Permission for ${request.principal.arn} (${request.action}) on ${where}`;
  return `allow it for ${request.principal.arn} in the resource policy of ${where}`;
}

export function explainDenial(call: DeniedCall, sources: PolicySources): string {
  const { request, result } = call;
  const head = `AccessDenied: ${who(request)} is not allowed ${request.action} on ${request.resource}${note(call)}`;
  return `${head}: ${result.reasons.join('; ')}; ${fix(call, sources)}`;
}
