import { accessDeniedMessage, authorize } from '../../../../lib/domain/iam';

import {
  ACCOUNT,
  allowAll,
  FUNCTION_ARN,
  functionPolicy,
  identityPolicy,
  OTHER_ACCOUNT,
  QUEUE_ARN,
  request,
  resourcePolicy,
  role,
  ROLE_ARN,
} from './builders';

const crossAccountRole = role(`arn:aws:iam::${OTHER_ACCOUNT}:role/bulkhead-router`);

describe('explicit and implicit deny', () => {
  it('an explicit deny in any applicable policy wins over an allow in another', () => {
    const queuePolicy = resourcePolicy(QUEUE_ARN, {
      Sid: 'TlsOnly',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: QUEUE_ARN,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const send = request({
      action: 'sqs:SendMessage',
      resource: QUEUE_ARN,
      context: { 'aws:SecureTransport': false },
    });
    const result = authorize(send, {
      identity: [identityPolicy(allowAll('sqs:SendMessage'))],
      resource: queuePolicy,
    });
    expect(result.decision).toBe('explicit-deny');
    expect(result.reasons).toEqual([
      `explicitly denied by statement TlsOnly of the resource policy of ${QUEUE_ARN} (condition aws:SecureTransport = false)`,
    ]);
    expect(accessDeniedMessage(send, result)).toMatch(
      /^User: arn:aws:sts::111111111111:assumed-role\/bulkhead-router\/session is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:111111111111:sync with an explicit deny in a resource-based policy/,
    );
  });

  it('an explicit deny in an identity policy wins over an allow in the same policy', () => {
    const policy = identityPolicy(allowAll('lambda:*'), {
      Effect: 'Deny',
      Action: 'lambda:InvokeFunction',
      Resource: '*',
    });
    const result = authorize(request(), { identity: [policy] });
    expect(result.decision).toBe('explicit-deny');
    expect(result.deniedBy).toBe('identity-based');
    expect(result.reasons).toEqual(['explicitly denied by statement #1 of the identity policy RouterPolicy']);
  });

  it('without an allow the request is implicitly denied, naming the role, action and resource', () => {
    const result = authorize(request(), { identity: [identityPolicy(allowAll('lambda:InvokeFunctionUrl'))] });
    expect(result.decision).toBe('implicit-deny');
    expect(result.reasons[0]).toBe(
      `no identity-based policy of role bulkhead-router allows lambda:InvokeFunction on ${FUNCTION_ARN}`,
    );
    expect(accessDeniedMessage(request(), result)).toMatch(
      /^User: \S+ is not authorized to perform: lambda:InvokeFunction on resource: \S+ because no identity-based policy allows the lambda:InvokeFunction action/,
    );
  });

  it('there is no AccessDenied message for an allowed request', () => {
    const result = authorize(request(), { identity: [identityPolicy(allowAll('lambda:InvokeFunction'))] });
    expect(() => accessDeniedMessage(request(), result)).toThrow(/was allowed/);
  });
});

describe('same account', () => {
  it('an identity-policy allow suffices when the resource has no resource policy', () => {
    const result = authorize(request(), { identity: [identityPolicy(allowAll('lambda:InvokeFunction'))] });
    expect(result).toEqual({
      decision: 'allow',
      reasons: ['allowed by statement #0 of the identity policy RouterPolicy'],
    });
  });

  it('an identity-policy allow suffices when the resource policy says nothing about the role', () => {
    const policies = {
      identity: [identityPolicy(allowAll('lambda:InvokeFunction'))],
      resource: functionPolicy({ Service: 'events.amazonaws.com' }),
    };
    expect(authorize(request(), policies).decision).toBe('allow');
  });

  it('a resource policy naming the role suffices without any identity-policy allow', () => {
    const result = authorize(request(), { identity: [], resource: functionPolicy({ AWS: ROLE_ARN }) });
    expect(result).toEqual({
      decision: 'allow',
      reasons: [`allowed by statement grant of the resource policy of ${FUNCTION_ARN}`],
    });
  });

  it('a resource policy naming one session of the role matches that session only', () => {
    const sessionPolicy = functionPolicy({ AWS: role().sessionArn! });
    expect(authorize(request(), { identity: [], resource: sessionPolicy }).decision).toBe('allow');
    const other = { ...role(), sessionArn: `arn:aws:sts::${ACCOUNT}:assumed-role/bulkhead-router/other` };
    expect(authorize(request({ principal: other }), { identity: [], resource: sessionPolicy }).decision).toBe(
      'implicit-deny',
    );
  });

  it('a resource policy granting "*" suffices without any identity-policy allow', () => {
    expect(authorize(request(), { identity: [], resource: functionPolicy('*') }).decision).toBe('allow');
  });

  it('a resource policy granting the account only delegates to IAM: the identity policy must still allow', () => {
    for (const principal of [{ AWS: `arn:aws:iam::${ACCOUNT}:root` }, { AWS: ACCOUNT }]) {
      const denied = authorize(request(), { identity: [], resource: functionPolicy(principal) });
      expect(denied.decision).toBe('implicit-deny');
      expect(denied.reasons[1]).toMatch(
        /grants lambda:InvokeFunction only to the account, which delegates to IAM/,
      );
      const withIam = {
        identity: [identityPolicy(allowAll('lambda:InvokeFunction'))],
        resource: functionPolicy(principal),
      };
      expect(authorize(request(), withIam).decision).toBe('allow');
    }
  });

  it('a resource policy naming another role does not help', () => {
    const result = authorize(request(), {
      identity: [],
      resource: functionPolicy({ AWS: `arn:aws:iam::${ACCOUNT}:role/other` }),
    });
    expect(result.decision).toBe('implicit-deny');
    expect(result.reasons[1]).toBe(
      `the resource policy of ${FUNCTION_ARN} does not allow role bulkhead-router either`,
    );
  });

  it('NotPrincipal grants everyone except the principals it lists', () => {
    const notRouter = (arn: string) =>
      resourcePolicy(FUNCTION_ARN, {
        Effect: 'Allow',
        NotPrincipal: { AWS: arn },
        Action: 'lambda:*',
        Resource: '*',
      });
    expect(
      authorize(request(), { identity: [], resource: notRouter(`arn:aws:iam::${ACCOUNT}:role/other`) })
        .decision,
    ).toBe('allow');
    expect(authorize(request(), { identity: [], resource: notRouter(ROLE_ARN) }).decision).toBe(
      'implicit-deny',
    );
  });
});

describe('cross account', () => {
  const call = request({ principal: crossAccountRole });

  it('needs both the identity policy and the resource policy to allow', () => {
    const identity = [identityPolicy(allowAll('lambda:InvokeFunction'))];
    const resource = functionPolicy({ AWS: crossAccountRole.arn });
    expect(authorize(call, { identity, resource }).decision).toBe('allow');
    const identityOnly = authorize(call, { identity, resource: functionPolicy({ AWS: ROLE_ARN }) });
    expect(identityOnly.decision).toBe('implicit-deny');
    expect(identityOnly.deniedBy).toBe('resource-based');
    expect(identityOnly.reasons).toEqual([
      `the resource policy of ${FUNCTION_ARN} does not allow role bulkhead-router of account ${OTHER_ACCOUNT} (cross-account calls need both)`,
    ]);
    const resourceOnly = authorize(call, { identity: [], resource });
    expect(resourceOnly.decision).toBe('implicit-deny');
    expect(resourceOnly.deniedBy).toBe('identity-based');
  });

  it('a resource policy granting the caller’s account counts, with the identity-policy allow', () => {
    const resource = functionPolicy({ AWS: OTHER_ACCOUNT });
    expect(
      authorize(call, { identity: [identityPolicy(allowAll('lambda:InvokeFunction'))], resource }).decision,
    ).toBe('allow');
  });

  it('is denied when the resource has no resource policy at all', () => {
    const result = authorize(call, { identity: [identityPolicy(allowAll('lambda:InvokeFunction'))] });
    expect(result.decision).toBe('implicit-deny');
    expect(result.reasons).toEqual([
      `${FUNCTION_ARN} has no resource-based policy (cross-account calls need one as well as an identity-based allow)`,
    ]);
  });
});
