import { parsePolicy, PolicyError } from '../../../../lib/domain/iam';

const identity = (statement: unknown) => () =>
  parsePolicy('RouterPolicy', 'identity', { Statement: statement });
const resource = (statement: unknown) => () =>
  parsePolicy('the queue', 'resource', { Statement: [statement] });
const allow = { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' };

describe('parsePolicy', () => {
  it('accepts Statement as one object or an array, and labels statements by Sid or index', () => {
    expect(parsePolicy('P', 'identity', { Statement: allow }).statements.map((s) => s.label)).toEqual(['#0']);
    const two = parsePolicy('P', 'identity', { Statement: [allow, { ...allow, Sid: 'Send' }] });
    expect(two.statements.map((s) => s.label)).toEqual(['#0', 'Send']);
  });

  it('rejects a statement with both Action and NotAction', () => {
    expect(identity({ ...allow, NotAction: 'sqs:DeleteQueue' })).toThrow(
      new PolicyError('statement #0 of RouterPolicy has both Action and NotAction'),
    );
  });

  it('rejects a statement with both Resource and NotResource, or with neither', () => {
    expect(identity({ ...allow, NotResource: 'arn:aws:sqs:*' })).toThrow(/has both Resource and NotResource/);
    expect(identity({ Effect: 'Allow', Action: '*' })).toThrow(/has neither Resource nor NotResource/);
  });

  it('rejects an unknown condition operator, naming it', () => {
    const withDate = {
      ...allow,
      Sid: 'Later',
      Condition: { DateGreaterThan: { 'aws:CurrentTime': '2026-01-01' } },
    };
    expect(identity(withDate)).toThrow(
      'statement Later of RouterPolicy has an invalid condition (DateGreaterThan aws:CurrentTime): condition operator "DateGreaterThan" is not supported',
    );
    expect(identity({ ...allow, Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })).toThrow(
      /"IpAddress" is not supported/,
    );
    expect(identity({ ...allow, Condition: { NullIfExists: { 'aws:TagKeys': 'true' } } })).toThrow(
      /"NullIfExists" is not supported/,
    );
  });

  it('rejects condition values the operator cannot take', () => {
    expect(identity({ ...allow, Condition: { NumericLessThan: { 's3:max-keys': 'ten' } } })).toThrow(
      /"ten" is not a number/,
    );
    expect(identity({ ...allow, Condition: { Bool: { 'aws:SecureTransport': 'yes' } } })).toThrow(
      /"yes" is not true or false/,
    );
  });

  it('rejects policy variables, which are not modelled, in resources and condition values', () => {
    expect(identity({ ...allow, Resource: 'arn:aws:s3:::bucket/${aws:username}/*' })).toThrow(
      'statement #0 of RouterPolicy uses a policy variable in Resource ("arn:aws:s3:::bucket/${aws:username}/*"), which is not supported',
    );
    const leadingKeys = {
      'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': '${aws:PrincipalTag/tenant}' },
    };
    expect(identity({ ...allow, Condition: leadingKeys })).toThrow(
      /uses a policy variable in ForAllValues:StringEquals/,
    );
  });

  it('rejects a missing or unknown Effect', () => {
    expect(identity({ Action: '*', Resource: '*' })).toThrow(/needs Effect "Allow" or "Deny"/);
    expect(identity({ ...allow, Effect: 'allow' })).toThrow(/needs Effect/);
  });

  it('rejects a Principal in an identity policy and requires one in a resource policy', () => {
    expect(identity({ ...allow, Principal: '*' })).toThrow(
      /names a principal, which identity policies cannot/,
    );
    expect(resource(allow)).toThrow('statement #0 of the queue needs a Principal or NotPrincipal');
  });

  it('rejects principal types the evaluator does not model', () => {
    expect(resource({ ...allow, Principal: { Federated: 'cognito-identity.amazonaws.com' } })).toThrow(
      /has a "Federated" principal, which is not supported/,
    );
  });

  it('rejects a document without statements', () => {
    expect(() => parsePolicy('P', 'identity', { Version: '2012-10-17' })).toThrow('P has no Statement');
  });
});
