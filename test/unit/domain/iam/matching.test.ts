import { authorize } from '../../../../lib/domain/iam';

import { FUNCTION_ARN, identityAllows, identityPolicy, request } from './builders';

const TABLE_ARN = 'arn:aws:dynamodb:us-east-1:111111111111:table/bulkhead-routes';
const on = (action: string, resource = TABLE_ARN) => ({ action, resource });

describe('Action and NotAction', () => {
  it('`*` in an action matches any run of characters', () => {
    const statement = { Effect: 'Allow' as const, Action: 'dynamodb:*Item', Resource: '*' };
    expect(identityAllows(statement, on('dynamodb:GetItem'))).toBe(true);
    expect(identityAllows(statement, on('dynamodb:BatchWriteItem'))).toBe(true);
    expect(identityAllows(statement, on('dynamodb:Query'))).toBe(false);
    expect(identityAllows({ ...statement, Action: '*' }, on('sqs:SendMessage'))).toBe(true);
  });

  it('`?` in an action matches exactly one character', () => {
    const statement = { Effect: 'Allow' as const, Action: 'sqs:?etQueueUrl', Resource: '*' };
    expect(identityAllows(statement, on('sqs:GetQueueUrl'))).toBe(true);
    expect(identityAllows(statement, on('sqs:QueueUrl'))).toBe(false);
  });

  it('service prefix and action name are case-insensitive', () => {
    const statement = { Effect: 'Allow' as const, Action: 'DynamoDB:getitem', Resource: '*' };
    expect(identityAllows(statement, on('dynamodb:GetItem'))).toBe(true);
    expect(identityAllows({ ...statement, Action: 'dynamodb:GETITEM' }, on('DYNAMODB:GetItem'))).toBe(true);
  });

  it('NotAction with Allow allows every action except those listed', () => {
    const statement = {
      Effect: 'Allow' as const,
      NotAction: ['dynamodb:Delete*', 'dynamodb:Scan'],
      Resource: '*',
    };
    expect(identityAllows(statement, on('dynamodb:GetItem'))).toBe(true);
    expect(identityAllows(statement, on('dynamodb:DeleteItem'))).toBe(false);
    expect(identityAllows(statement, on('dynamodb:Scan'))).toBe(false);
  });

  it('NotAction with Deny denies the unlisted actions and allows nothing by itself', () => {
    const denyOthers = { Effect: 'Deny' as const, NotAction: 'dynamodb:GetItem', Resource: '*' };
    const policies = { identity: [identityPolicy(denyOthers)] };
    expect(authorize(request(on('dynamodb:PutItem')), policies).decision).toBe('explicit-deny');
    expect(authorize(request(on('dynamodb:GetItem')), policies).decision).toBe('implicit-deny');
  });
});

describe('Resource and NotResource', () => {
  it('resources match case-sensitively', () => {
    const statement = { Effect: 'Allow' as const, Action: '*', Resource: TABLE_ARN };
    expect(identityAllows(statement, on('dynamodb:GetItem', TABLE_ARN))).toBe(true);
    expect(identityAllows(statement, on('dynamodb:GetItem', TABLE_ARN.replace('routes', 'Routes')))).toBe(
      false,
    );
  });

  it('`*` within a segment stays in that segment; at the end of the resource part it spans colons', () => {
    const anyRegion = {
      Effect: 'Allow' as const,
      Action: '*',
      Resource: 'arn:aws:dynamodb:*:111111111111:table/*',
    };
    expect(identityAllows(anyRegion, on('dynamodb:GetItem', TABLE_ARN))).toBe(true);
    const regionAndAccount = { ...anyRegion, Resource: 'arn:aws:dynamodb:*:table/bulkhead-routes' };
    expect(identityAllows(regionAndAccount, on('dynamodb:GetItem', TABLE_ARN))).toBe(false);
    const anyAlias = { ...anyRegion, Resource: 'arn:aws:lambda:us-east-1:111111111111:function:bulkhead-*' };
    expect(identityAllows(anyAlias, on('lambda:InvokeFunction', FUNCTION_ARN))).toBe(true);
  });

  it('an unqualified function ARN does not cover its aliases', () => {
    const statement = { Effect: 'Allow' as const, Action: '*', Resource: FUNCTION_ARN.replace(/:live$/, '') };
    expect(identityAllows(statement, on('lambda:InvokeFunction', FUNCTION_ARN))).toBe(false);
  });

  it('a pattern ending in `*` before the resource part swallows the rest of the ARN', () => {
    const statement = { Effect: 'Allow' as const, Action: '*', Resource: 'arn:aws:lambda:*' };
    expect(identityAllows(statement, on('lambda:InvokeFunction', FUNCTION_ARN))).toBe(true);
    expect(identityAllows(statement, on('dynamodb:GetItem', TABLE_ARN))).toBe(false);
  });

  it('`?` in a resource matches exactly one character (Secrets Manager’s random suffix)', () => {
    const secret =
      'arn:aws:secretsmanager:us-east-1:111111111111:secret:bulkhead/compliance/greenleaf-??????';
    const statement = { Effect: 'Allow' as const, Action: '*', Resource: secret };
    expect(
      identityAllows(statement, on('secretsmanager:GetSecretValue', secret.replace('??????', 'AbC123'))),
    ).toBe(true);
    expect(
      identityAllows(statement, on('secretsmanager:GetSecretValue', secret.replace('??????', 'AbC12'))),
    ).toBe(false);
  });

  it('NotResource matches every resource except those listed', () => {
    const statement = { Effect: 'Allow' as const, Action: 'dynamodb:*', NotResource: `${TABLE_ARN}/index/*` };
    expect(identityAllows(statement, on('dynamodb:Query', TABLE_ARN))).toBe(true);
    expect(identityAllows(statement, on('dynamodb:Query', `${TABLE_ARN}/index/byStatus`))).toBe(false);
  });
});
