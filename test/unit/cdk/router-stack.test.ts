import * as fs from 'node:fs';
import * as path from 'node:path';

import { Match, Template } from 'aws-cdk-lib/assertions';

import { parseBakedRouting } from '../../../lib/domain/route-cache';

import { buildFleet, BuiltFleet } from './fixtures';

let built: BuiltFleet;
let t: Template;

beforeAll(() => {
  // The router's bundle is read below; the cells' are not needed.
  built = buildFleet(undefined, undefined, false, ['Bulkhead-Router']);
  t = built.template('Bulkhead-Router');
});

const statements = (roleRefPrefix: string) =>
  Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(roleRefPrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);

test('routing table and cell registry: fixed names, pinned logical ids, encrypted, recoverable, retained', () => {
  expect(Object.keys(t.findResources('AWS::DynamoDB::Table')).sort()).toEqual([
    'CellRegistryBDDBD332',
    'Routes4F6D566C',
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

test('the router may invoke the cells’ Function URLs, and read their URL config, and nothing else in Lambda', () => {
  t.hasResourceProperties('AWS::IAM::Role', { RoleName: 'bulkhead-router' });
  const lambdaStatements = statements('RouterRole').filter((s) =>
    [s.Action].flat().some((a: string) => a.startsWith('lambda:')),
  );
  // (action, resource) pairs, however the statements are grouped (minimizePolicies may merge them).
  const grants = lambdaStatements.flatMap((s) => {
    expect(s.Effect).toBe('Allow');
    expect(s.Condition).toBeUndefined();
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
  const expected = ['lambda:InvokeFunctionUrl', 'lambda:GetFunctionUrlConfig'].flatMap((action) =>
    built.fleet.cells.map((c) => [action, liveAlias(c)]),
  );
  expect(grants.sort()).toEqual(expected.sort());
  const writes = statements('RouterRole').filter((s) =>
    [s.Action].flat().some((a: string) => /^dynamodb:(Put|Update|Delete|BatchWrite)/.test(a)),
  );
  expect(writes).toEqual([]);
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
  const [fn] = Object.values(
    t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('^Bulkhead router') },
    }),
  );
  const assetHash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
  const bundle = fs.readFileSync(path.join(built.app.outdir, `asset.${assetHash}`, 'index.js'), 'utf8');
  const text = JSON.stringify(baked);
  expect(bundle).toContain(text.slice(1, -1));
  expect(parseBakedRouting(text)).toEqual(baked);
});

test('cells of every account in the fleet may assume the registrar role, which can only update the registry', () => {
  t.hasResourceProperties('AWS::IAM::Role', {
    RoleName: 'bulkhead-cell-registrar',
    AssumeRolePolicyDocument: {
      Statement: [
        Match.objectLike({
          Action: 'sts:AssumeRole',
          Condition: {
            ArnLike: {
              'aws:PrincipalArn': {
                'Fn::Join': [
                  '',
                  ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:role/Bulkhead-Cell-*'],
                ],
              },
            },
          },
        }),
      ],
    },
  });
  expect(statements('CellRegistrarRole')).toEqual([
    {
      Effect: 'Allow',
      Action: 'dynamodb:UpdateItem',
      Resource: { 'Fn::GetAtt': ['CellRegistryBDDBD332', 'Arn'] },
    },
  ]);
});

test('alarms: router 5xx, router errors, fail-static serving, and the router’s own new-version alarms', () => {
  t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5xx', Namespace: 'AWS/ApiGateway' });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'FailStatic',
    Namespace: 'Bulkhead/Router',
  });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'Errors',
    Dimensions: Match.arrayWith([Match.objectLike({ Name: 'ExecutedVersion' })]),
  });
});
