import * as fs from 'node:fs';
import * as path from 'node:path';

import { Match, Template } from 'aws-cdk-lib/assertions';

import { parseBakedRouting } from '../../../lib/domain/route-cache';
import { parseFleetLimits } from '../../../lib/domain/tenant-limits';

import { buildFleet, BuiltFleet } from './fixtures';

let built: BuiltFleet;
let t: Template;

beforeAll(() => {
  // The router's bundle is read below; the cells' are not needed.
  built = buildFleet(undefined, undefined, false, ['Bulkhead-Router']);
  t = built.template('Bulkhead-Router');
});

/** The router function's bundle as it deploys (its asset's `index.js`). */
function routerBundle(): string {
  const [fn] = Object.values(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^Bulkhead router: authenticates') },
    }),
  );
  const assetHash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
  return fs.readFileSync(path.join(built.app.outdir, `asset.${assetHash}`, 'index.js'), 'utf8');
}

const statements = (roleRefPrefix: string) =>
  Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(roleRefPrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);

test('routing table and cell registry: fixed names, pinned logical ids, encrypted, recoverable, retained', () => {
  expect(Object.keys(t.findResources('AWS::DynamoDB::Table')).sort()).toEqual([
    'CellRegistryBDDBD332',
    'ReleaseLog53F4B768',
    'Routes4F6D566C',
    'TenantLimitsDA65936B',
  ]);
  for (const [name, key] of [
    ['bulkhead-routes', 'tenantId'],
    ['bulkhead-cell-registry', 'cellId'],
  ]) {
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        TableName: name,
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] },
        },
      },
    });
  }
});

test('the releases table (shared release log, cell locks): fixed name, pk + sk, on-demand, recoverable, encrypted, retained', () => {
  t.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    Properties: {
      TableName: 'bulkhead-releases',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] },
      },
    },
  });
});

test('the router operator role trusts the operator account and may only read and write the release log, locks and routing store', () => {
  t.hasResourceProperties('AWS::IAM::Role', {
    RoleName: 'bulkhead-router-operator',
    AssumeRolePolicyDocument: {
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: {
            AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:root']] },
          },
        },
      ],
    },
  });
  expect(statements('OperatorRole')).toEqual([
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query'],
      Resource: { 'Fn::GetAtt': ['ReleaseLog53F4B768', 'Arn'] },
    },
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Scan'],
      Resource: [
        { 'Fn::GetAtt': ['Routes4F6D566C', 'Arn'] },
        { 'Fn::GetAtt': ['CellRegistryBDDBD332', 'Arn'] },
      ],
    },
    {
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] },
    },
  ]);
});

test('the router runs in the router stack’s own account and region', () => {
  expect(built.router.account).toBe('111111111111');
  expect(built.router.region).toBe('us-east-1');
});

test('the router function sits behind an HTTP API with throttling and access logs', () => {
  t.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
  t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
    StageName: '$default',
    AutoDeploy: true,
    DefaultRouteSettings: { ThrottlingRateLimit: 2000, ThrottlingBurstLimit: 4000 },
    AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
  });
  t.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
    IntegrationType: 'AWS_PROXY',
    IntegrationUri: { Ref: 'RouterReleaseAlias0FBD4FB2' },
  });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs22.x',
    Architectures: ['arm64'],
    Environment: {
      Variables: Match.objectLike({
        ROUTES_TABLE: { Ref: 'Routes4F6D566C' },
        REGISTRY_TABLE: { Ref: 'CellRegistryBDDBD332' },
      }),
    },
  });
});

test('the router may invoke the cells’ Function URLs (InvokeFunction only through them), and read their URL config, and nothing else in Lambda', () => {
  t.hasResourceProperties('AWS::IAM::Role', { RoleName: 'bulkhead-router' });
  const lambdaStatements = statements('RouterRole').filter((s) =>
    [s.Action].flat().some((a: string) => a.startsWith('lambda:')),
  );
  // (action, resource) pairs, however the statements are grouped (minimizePolicies may merge them).
  const grants = lambdaStatements.flatMap((s) => {
    expect(s.Effect).toBe('Allow');
    expect(s.Condition).toEqual(
      [s.Action].flat().includes('lambda:InvokeFunction')
        ? { Bool: { 'lambda:InvokedViaFunctionUrl': 'true' } }
        : undefined,
    );
    return [s.Action]
      .flat()
      .flatMap((action: string) =>
        [s.Resource].flat().map((resource: unknown) => [action, JSON.stringify(resource)]),
      );
  });
  const liveAlias = (c: { id: string; region: string; account: string }) =>
    JSON.stringify({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          `:lambda:${c.region}:${c.account}:function:bulkhead-${c.id}-api:live`,
        ],
      ],
    });
  const actions = ['lambda:InvokeFunctionUrl', 'lambda:InvokeFunction', 'lambda:GetFunctionUrlConfig'];
  const expected = actions.flatMap((action) => built.fleet.cells.map((c) => [action, liveAlias(c)]));
  expect(grants.sort()).toEqual(expected.sort());
  // Its one write: a place in a tenant's limit counters.
  const writes = statements('RouterRole').filter((s) =>
    [s.Action].flat().some((a: string) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)),
  );
  expect(writes.map((s) => [[s.Action].flat(), [s.Resource].flat()])).toEqual([
    [['dynamodb:UpdateItem', 'dynamodb:GetItem'], [{ 'Fn::GetAtt': ['TenantLimitsDA65936B', 'Arn'] }]],
  ]);
});

test('tenant limits: a counter table of its own (encrypted), the router told its name, its own reserved concurrency', () => {
  t.hasResource('AWS::DynamoDB::Table', {
    Properties: {
      TableName: 'bulkhead-router-limits',
      KeySchema: [{ AttributeName: 'counter', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
    },
  });
  t.hasResourceProperties('AWS::Lambda::Function', {
    Description: Match.stringLikeRegexp('^Bulkhead router: authenticates'),
    ReservedConcurrentExecutions: 100,
    Environment: {
      Variables: Match.objectLike({ LIMITS_TABLE: { Ref: 'TenantLimitsDA65936B' } }),
    },
  });
  // The counters are encrypted with the router's key: a write needs GenerateDataKey, reading the old item Decrypt.
  const kms = statements('RouterRole').filter((s) =>
    [s.Action].flat().some((a: string) => a.startsWith('kms:')),
  );
  expect(kms.flatMap((s) => [s.Action].flat())).toEqual(
    expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']),
  );
});

test('the fleet’s tenant limits are baked into the router bundle and read back the same', () => {
  const limits = built.router.tenantLimits;
  expect(limits.default).toEqual({ requestsPerSecond: 200, concurrentRequests: 50 });
  const bundle = routerBundle();
  const text = JSON.stringify(limits);
  expect(bundle).toContain(text.slice(1, -1));
  expect(parseFleetLimits(text)).toEqual(limits);
});

test('the fleet file’s routing is baked into the router bundle: tenant → cell, cell → account and region', () => {
  const baked = built.router.bakedRouting;
  const tenants = built.fleet.cells.flatMap((c) => c.tenants.map((tenant) => [tenant.id, c.id]));
  expect(tenants.length).toBeGreaterThan(0);
  expect(Object.entries(baked.tenants).map(([id, v]) => [id, v.cellId])).toEqual(tenants);
  expect(baked.cells).toEqual(
    Object.fromEntries(built.fleet.cells.map((c) => [c.id, { region: c.region, account: c.account }])),
  );
  // The bundle that deploys carries exactly that (esbuild define), and reads it back the same.
  const bundle = routerBundle();
  const text = JSON.stringify(baked);
  expect(bundle).toContain(text.slice(1, -1));
  expect(parseBakedRouting(text)).toEqual(baked);
});

test('each cell has its own registrar role: only that cell’s registration role may assume it, and it may update only that cell’s row (with the registry’s key)', () => {
  const roles = t.findResources('AWS::IAM::Role', {
    Properties: { RoleName: Match.stringLikeRegexp('^bulkhead-registrar-') },
  });
  expect(
    Object.values(roles)
      .map((r) => r.Properties.RoleName)
      .sort(),
  ).toEqual(built.fleet.cells.map((c) => `bulkhead-registrar-${c.id}`).sort());
  for (const cell of built.fleet.cells) {
    const [logicalId, role] = Object.entries(roles).find(
      ([, r]) => r.Properties.RoleName === `bulkhead-registrar-${cell.id}`,
    )!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: {
          AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${cell.account}:root`]] },
        },
        Condition: {
          ArnEquals: {
            'aws:PrincipalArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  `:iam::${cell.account}:role/bulkhead-registration-${cell.id}`,
                ],
              ],
            },
          },
        },
      },
    ]);
    expect(statements(logicalId)).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: { 'Fn::GetAtt': ['CellRegistryBDDBD332', 'Arn'] },
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [cell.id] } },
      },
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] },
      },
    ]);
  }
});

test('alarms: router 5xx, router errors, fail-static serving, and the router’s own new-version alarms', () => {
  t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5xx', Namespace: 'AWS/ApiGateway' });
  // The very metric the router publishes (lambdas/router/handler.ts): namespace, name and dimension.
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'router.failStatic',
    Namespace: 'Bulkhead',
    Dimensions: [{ Name: 'service', Value: 'router' }],
  });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'Errors',
    Dimensions: Match.arrayWith([Match.objectLike({ Name: 'ExecutedVersion' })]),
  });
});
