/**
 * Every policy of the running fleet, by what it applies to: identity policies by role, resource policies
 * by the ARN they protect, key policies by key, trust policies by role. One directory spans all stacks, so
 * a call from one account to another (the router to a cell's URL) meets both sides' policies.
 */
import {
  accessDeniedMessage,
  authorize,
  type AuthorizationRequest,
  type AuthorizationResult,
  type Policy,
} from '../../domain/iam';
import type { LocalRole, LocalStack } from '../assembly/model';

import { explainDenial } from './explain';

export interface Denial {
  readonly request: AuthorizationRequest;
  /** The request that was asked for, when `request` is one it implies (a KMS use). */
  readonly impliedBy?: AuthorizationRequest;
  readonly result: AuthorizationResult;
  /** AWS's own AccessDenied message, for the error the caller gets. */
  readonly message: string;
  /** One line a person can act on, for the log. */
  readonly explanation: string;
}

export class IamDirectory {
  private readonly roles = new Map<string, LocalRole>();
  private readonly resourcePolicies = new Map<string, Policy>();
  private readonly keyPolicies = new Map<string, Policy>();
  private readonly encryption = new Map<string, string>();
  private readonly sources = new Map<string, string>();

  constructor(stacks: readonly LocalStack[]) {
    for (const { iam } of stacks) {
      for (const role of iam.roles) this.roles.set(role.arn, role);
      for (const [arn, p] of Object.entries(iam.resourcePolicies)) this.resourcePolicies.set(arn, p);
      for (const [arn, p] of Object.entries(iam.keyPolicies)) this.keyPolicies.set(arn, p);
      for (const [arn, key] of Object.entries(iam.encryption)) this.encryption.set(arn, key);
      for (const [arn, source] of Object.entries(iam.sources)) this.sources.set(arn, source);
    }
  }

  /** A role that is not in any template (the local operator). */
  addRole(role: LocalRole): void {
    this.roles.set(role.arn, role);
  }

  role(arn: string): LocalRole | undefined {
    return this.roles.get(arn);
  }

  /** The customer managed key that encrypts a table or queue. */
  keyOf(resourceArn: string): string | undefined {
    return this.encryption.get(resourceArn);
  }

  /** The policy that governs `request` on the resource side: the key's, the role's trust, or the resource's. */
  private resourcePolicyFor(request: AuthorizationRequest): Policy | undefined {
    const action = request.action.toLowerCase();
    if (action.startsWith('kms:')) return this.keyPolicies.get(request.resource);
    if (action === 'sts:assumerole') return this.roles.get(request.resource)?.trust;
    return this.resourcePolicies.get(request.resource);
  }

  decide(request: AuthorizationRequest): AuthorizationResult {
    const identity = request.principal.type === 'role' ? this.roles.get(request.principal.arn)?.identity : [];
    const resource = this.resourcePolicyFor(request);
    if (request.action.toLowerCase().startsWith('kms:') && !resource) {
      return {
        decision: 'implicit-deny',
        deniedBy: 'resource-based',
        reasons: [`${request.resource} is not a key of the running fleet`],
      };
    }
    return authorize(request, { identity: (identity ?? []).map((p) => p.policy), resource });
  }

  /**
   * The first request AWS would refuse, or `undefined` when all are allowed. A KMS request follows the one
   * that implies it (`accessRequests` orders them so), and names it in the explanation.
   */
  firstDenial(requests: readonly AuthorizationRequest[]): Denial | undefined {
    let primary: AuthorizationRequest | undefined;
    for (const request of requests) {
      const implied = request.action.toLowerCase().startsWith('kms:') && primary !== undefined;
      if (!implied) primary = request;
      const result = this.decide(request);
      if (result.decision === 'allow') continue;
      const impliedBy = implied ? primary : undefined;
      return {
        request,
        ...(impliedBy && { impliedBy }),
        result,
        message: accessDeniedMessage(request, result),
        explanation: explainDenial({ request, impliedBy, result }, this),
      };
    }
    return undefined;
  }

  /** Where the policy that must change is defined (a construct path), for the explanation. */
  sourceOf(arn: string): string | undefined {
    return this.roles.get(arn)?.source ?? this.sources.get(arn);
  }
}
