/**
 * The IAM policy evaluator: parse the synthesized policies once (`parsePolicy`), then ask whether AWS would
 * allow each call (`authorize`), including the KMS and function-URL requests a call implies.
 */
export { accessDeniedMessage } from './access-denied';
export type { ContextValue, RequestContextKeys } from './conditions';
export { authorize } from './evaluate';
export type {
  ApplicablePolicies,
  AuthorizationRequest,
  AuthorizationResult,
  CallerPrincipal,
  Decision,
  PolicyType,
} from './evaluate';
export { functionUrlRequests, impliedKmsActions, impliedKmsRequests } from './implied-requests';
export { lambdaFunctionPolicy } from './lambda-permission';
export type { LambdaPermission } from './lambda-permission';
export { parsePolicy, PolicyError } from './policy';
export {
  accessRequests,
  globalContextKeys,
  lambdaFunctionArn,
  queueNameOfUrl,
  serviceAccess,
  UnsupportedOperationError,
} from './service-requests';
export type { KnownResource, ServiceAccess, ServiceCall, ServiceResources } from './service-requests';
export type { Policy, PolicyDocument, PolicyKind, PolicyPrincipal, PolicyStatement } from './policy';
