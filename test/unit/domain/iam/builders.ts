import {
  authorize,
  AuthorizationRequest,
  CallerPrincipal,
  parsePolicy,
  Policy,
  PolicyPrincipal,
  PolicyStatement,
  RequestContextKeys,
} from '../../../../lib/domain/iam';

export const ACCOUNT = '111111111111';
export const OTHER_ACCOUNT = '222222222222';
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/bulkhead-router`;
export const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:bulkhead-use1-a-api:live`;
export const QUEUE_ARN = `arn:aws:sqs:us-east-1:${ACCOUNT}:sync`;
export const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

export const role = (arn = ROLE_ARN, account = arn.split(':')[4]): CallerPrincipal => ({
  type: 'role',
  arn,
  account,
  sessionArn: arn.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/') + '/session',
});

export const service = (name: string, account = ACCOUNT): CallerPrincipal => ({
  type: 'service',
  arn: name,
  account,
});

export const identityPolicy = (...statements: PolicyStatement[]): Policy =>
  parsePolicy('RouterPolicy', 'identity', { Version: '2012-10-17', Statement: statements });

export const resourcePolicy = (name: string, ...statements: PolicyStatement[]): Policy =>
  parsePolicy(name, 'resource', { Version: '2012-10-17', Statement: statements });

/** A function policy with one statement, `grant`, allowing `principal` to invoke `FUNCTION_ARN`. */
export const functionPolicy = (principal: PolicyPrincipal): Policy =>
  resourcePolicy(FUNCTION_ARN, {
    Sid: 'grant',
    Effect: 'Allow',
    Principal: principal,
    Action: 'lambda:InvokeFunction',
    Resource: FUNCTION_ARN,
  });

export const keyPolicy = (...statements: PolicyStatement[]): Policy =>
  parsePolicy(KEY_ARN, 'key', { Version: '2012-10-17', Statement: statements });

export const allowAll = (action: string, resource = '*'): PolicyStatement => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
});

export const request = (overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  principal: role(),
  action: 'lambda:InvokeFunction',
  resource: FUNCTION_ARN,
  resourceAccount: ACCOUNT,
  ...overrides,
});

/** Whether an identity policy with this one statement allows `action` on `resource` in `context`. */
export function identityAllows(
  statement: PolicyStatement,
  overrides: Partial<AuthorizationRequest> = {},
): boolean {
  return authorize(request(overrides), { identity: [identityPolicy(statement)] }).decision === 'allow';
}

/** Whether a condition block on an allow-everything statement holds for `context`. */
export function conditionHolds(
  condition: PolicyStatement['Condition'],
  context: RequestContextKeys,
): boolean {
  return identityAllows({ Effect: 'Allow', Action: '*', Resource: '*', Condition: condition }, { context });
}
