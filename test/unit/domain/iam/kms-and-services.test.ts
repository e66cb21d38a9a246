import { authorize } from '../../../../lib/domain/iam';

import {
  ACCOUNT,
  allowAll,
  FUNCTION_ARN,
  functionPolicy,
  identityPolicy,
  KEY_ARN,
  keyPolicy,
  request,
  ROLE_ARN,
  service,
} from './builders';

const kmsDecrypt = request({ action: 'kms:Decrypt', resource: KEY_ARN });

describe('KMS key policies', () => {
  const namesTheRole = keyPolicy({
    Effect: 'Allow',
    Principal: { AWS: ROLE_ARN },
    Action: 'kms:Decrypt',
    Resource: '*',
  });
  const rootDelegation = {
    Sid: 'EnableIam',
    Effect: 'Allow' as const,
    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
    Action: 'kms:*',
    Resource: '*',
  };

  it('without the account-root delegation, identity-policy allows have no effect', () => {
    const adminOnly = keyPolicy({
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/admin` },
      Action: 'kms:*',
      Resource: '*',
    });
    const result = authorize(kmsDecrypt, {
      identity: [identityPolicy(allowAll('kms:Decrypt'))],
      resource: adminOnly,
    });
    expect(result.decision).toBe('implicit-deny');
    expect(result.deniedBy).toBe('resource-based');
    expect(result.reasons).toEqual([
      `the key policy of ${KEY_ARN} neither allows role bulkhead-router nor delegates to IAM (no statement for arn:aws:iam::${ACCOUNT}:root)`,
      'allowed by statement #0 of the identity policy RouterPolicy, which has no effect without it',
    ]);
  });

  it('with the account-root delegation, the identity policy decides', () => {
    const policies = {
      identity: [identityPolicy(allowAll('kms:Decrypt'))],
      resource: keyPolicy(rootDelegation),
    };
    expect(authorize(kmsDecrypt, policies).decision).toBe('allow');
    const noIam = authorize(kmsDecrypt, { identity: [], resource: keyPolicy(rootDelegation) });
    expect(noIam.decision).toBe('implicit-deny');
    expect(noIam.reasons).toEqual([
      `the key policy of ${KEY_ARN} delegates to IAM, but no identity-based policy of role bulkhead-router allows kms:Decrypt on ${KEY_ARN}`,
    ]);
  });

  it('a delegation for other actions only does not enable IAM for this one', () => {
    const describeOnly = keyPolicy({ ...rootDelegation, Action: 'kms:Describe*' });
    const result = authorize(kmsDecrypt, {
      identity: [identityPolicy(allowAll('kms:*'))],
      resource: describeOnly,
    });
    expect(result.decision).toBe('implicit-deny');
  });

  it('a key policy naming the role allows it directly, without any identity policy', () => {
    expect(authorize(kmsDecrypt, { identity: [], resource: namesTheRole }).decision).toBe('allow');
  });

  it('an identity-policy deny applies to a key even without the delegation', () => {
    const deny = identityPolicy({ Effect: 'Deny', Action: 'kms:*', Resource: '*' });
    expect(authorize(kmsDecrypt, { identity: [deny], resource: namesTheRole }).decision).toBe(
      'explicit-deny',
    );
  });

  it('a KMS request without its key policy is a programming error', () => {
    expect(() => authorize(kmsDecrypt, { identity: [identityPolicy(allowAll('kms:*'))] })).toThrow(
      /pass the key's key policy/,
    );
  });
});

describe('service principals', () => {
  const events = service('events.amazonaws.com');

  it('are allowed only by a resource policy naming the service', () => {
    const call = request({ principal: events });
    expect(
      authorize(call, { identity: [], resource: functionPolicy({ Service: 'events.amazonaws.com' }) })
        .decision,
    ).toBe('allow');
    const other = authorize(call, {
      identity: [],
      resource: functionPolicy({ Service: 'sns.amazonaws.com' }),
    });
    expect(other.reasons).toEqual([
      `the resource policy of ${FUNCTION_ARN} does not allow service events.amazonaws.com to perform lambda:InvokeFunction`,
    ]);
  });

  it('are not covered by a grant to the account', () => {
    const call = request({ principal: events });
    expect(authorize(call, { identity: [], resource: functionPolicy({ AWS: ACCOUNT }) }).decision).toBe(
      'implicit-deny',
    );
  });
});
