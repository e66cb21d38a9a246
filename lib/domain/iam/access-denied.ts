import type { AuthorizationRequest, AuthorizationResult } from './evaluate';

/**
 * AWS's AccessDenied message for a denied request. Per "Troubleshoot access denied error messages" (IAM User
 * Guide), messages read "User <user> is not authorized to perform <action> on resource <resource> because
 * <context>": "with an explicit deny in a <type> policy" or "because no <type> policy allows the <action>
 * action", naming only one policy type. Services vary the wording and AWS may append an authorization-ID
 * link, so callers should match only the stable prefix.
 */
export function accessDeniedMessage(request: AuthorizationRequest, result: AuthorizationResult): string {
  if (result.decision === 'allow' || !result.deniedBy) {
    throw new Error(`${request.action} on ${request.resource} was allowed: there is no AccessDenied message`);
  }
  const user = request.principal.sessionArn ?? request.principal.arn;
  const head = `User: ${user} is not authorized to perform: ${request.action} on resource: ${request.resource}`;
  const article = result.deniedBy === 'identity-based' ? 'an' : 'a';
  return result.decision === 'explicit-deny'
    ? `${head} with an explicit deny in ${article} ${result.deniedBy} policy`
    : `${head} because no ${result.deniedBy} policy allows the ${request.action} action`;
}
