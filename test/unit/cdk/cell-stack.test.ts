import { Match, Template } from 'aws-cdk-lib/assertions';

import { CELL_TABLE_KEYS } from '../../../lib/contracts/table-schema';
import {
  cellIntegrationSettings,
  fleetIntegratorFacilities,
} from '../../../lib/infra/cell/integration-settings';

import { buildFleet, BuiltFleet } from './fixtures';

let built: BuiltFleet;
let t: Template;

beforeAll(() => {
  built = buildFleet();
  t = built.template('Bulkhead-Cell-use1-a');
});

const keyRef = { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] };
const handlerFunctions = () =>
  Object.entries(t.findResources('AWS::Lambda::Function')).filter(([id]) => !id.startsWith('AWS679f53fa'));

describe('stateful resources', () => {
  test('logical ids of the key, table and queues are pinned, so a refactor can never replace them', () => {
    const ids = (type: string) => Object.keys(t.findResources(type)).sort();
    expect(ids('AWS::KMS::Key')).toEqual(['Key961B73FD']);
    expect(ids('AWS::DynamoDB::Table')).toEqual(['Data2D4B752F']);
    expect(ids('AWS::SQS::Queue')).toEqual(['SyncDeadLetterQueue9F47D1DF', 'SyncQueue14CFE323']);
    expect(ids('AWS::Backup::BackupVault')).toEqual(['DataVaultE9375407']);
  });

  test('the key rotates and is retained', () => {
    t.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  test('the table is on-demand, recoverable, encrypted with the cell key, protected and retained', () => {
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyRef },
        TimeToLiveSpecification: { AttributeName: CELL_TABLE_KEYS.ttlAttribute, Enabled: true },
      },
    });
  });

  test('every key of the table and its indexes starts from the tenant id', () => {
    const table = Object.values(t.findResources('AWS::DynamoDB::Table'))[0].Properties;
    expect(table.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const indexes = table.GlobalSecondaryIndexes.map((i: { IndexName: string; KeySchema: unknown[] }) => [
      i.IndexName,
      i.KeySchema,
    ]);
    expect(indexes).toEqual([
      [
        'byStatus',
        [
          { AttributeName: 'statusPk', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
      ],
      [
        'pending',
        [
          { AttributeName: 'pendingTenant', KeyType: 'HASH' },
          { AttributeName: 'pendingSince', KeyType: 'RANGE' },
        ],
      ],
      [
        'unverified',
        [
          { AttributeName: 'unverifiedTenant', KeyType: 'HASH' },
          { AttributeName: 'recordedAt', KeyType: 'RANGE' },
        ],
      ],
    ]);
  });

  test('AWS Backup snapshots the table every 6 hours into a vault encrypted with the cell key', () => {
    t.hasResourceProperties('AWS::Backup::BackupPlan', {
      BackupPlan: {
        BackupPlanRule: [
          Match.objectLike({ ScheduleExpression: 'cron(0 0/6 * * ? *)', Lifecycle: { DeleteAfterDays: 35 } }),
        ],
      },
    });
    t.hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: keyRef });
    t.hasResourceProperties('AWS::Backup::BackupSelection', {
      BackupSelection: { Resources: [{ 'Fn::GetAtt': ['Data2D4B752F', 'Arn'] }] },
    });
  });

  test('both queues are KMS-encrypted with the cell key and retained; the queue redrives to the DLQ', () => {
    const queues = t.findResources('AWS::SQS::Queue');
    for (const q of Object.values(queues)) {
      expect(q.Properties.KmsMasterKeyId).toEqual(keyRef);
      expect(q.DeletionPolicy).toBe('Retain');
      expect(q.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
    t.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': ['SyncDeadLetterQueue9F47D1DF', 'Arn'] },
        maxReceiveCount: 8,
      },
      // Six times the worker's 30 s timeout, as Lambda's SQS event source asks.
      VisibilityTimeout: 180,
    });
  });

  test('both queues refuse requests without TLS', () => {
    const policies = Object.values(t.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(p.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });
});

describe('functions', () => {
  test('four handler functions, all from the house construct: Node 22, arm64, tracing, log retention', () => {
    const fns = handlerFunctions();
    expect(fns.map(([id]) => id).sort()).toEqual([
      'ApiF70053CD',
      'PreTrafficHook5CE97F1D',
      'Reconciler066B3B2B',
      'SyncWorker519C607D',
    ]);
    for (const [, fn] of fns) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      expect(fn.Properties.LoggingConfig.LogGroup).toBeDefined();
    }
    for (const lg of Object.entries(t.findResources('AWS::Logs::LogGroup')).filter(
      ([id]) => !id.startsWith('AWS679'),
    )) {
      expect(lg[1].Properties.RetentionInDays).toBe(30);
    }
  });

  test('functions are wired to this cell’s table, queue and release label', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'bulkhead-use1-a-api',
      Environment: {
        Variables: Match.objectLike({
          CELL_ID: 'use1-a',
          RELEASE: 'v-test',
          TABLE_NAME: { Ref: 'Data2D4B752F' },
          QUEUE_URL: { Ref: 'SyncQueue14CFE323' },
        }),
      },
    });
  });

  test('tenant integration settings stay out of every environment: they grow with the cell, Lambda caps it at 4 KB', () => {
    for (const [, fn] of handlerFunctions()) {
      expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('INTEGRATIONS');
    }
    expect(cellIntegrationSettings(built.fleet.cells[0], fleetIntegratorFacilities(built.fleet))).toEqual({
      greenleaf: {
        baseUrl: 'https://sandbox-api-ca.metrc.com',
        ratePerSecond: 5,
        burst: 2,
        apiKeySecret: 'bulkhead/compliance/greenleaf',
        licenseNumber: 'greenleaf',
        timeZone: 'UTC',
        vendorKeySecret: 'bulkhead/compliance/vendor',
        batchSize: 10,
        // Metrc's 150 GET/s per integrator split between the fleet's 4 facilities, with 10 % headroom.
        readRatePerSecond: 33.75,
        readBurst: 7,
      },
      'high-noon': {
        baseUrl: 'https://sandbox-api-ca.metrc.com',
        ratePerSecond: 5,
        burst: 2,
        apiKeySecret: 'bulkhead/compliance/high-noon',
        licenseNumber: 'high-noon',
        timeZone: 'UTC',
        vendorKeySecret: 'bulkhead/compliance/vendor',
        batchSize: 10,
        // Metrc's 150 GET/s per integrator split between the fleet's 4 facilities, with 10 % headroom.
        readRatePerSecond: 33.75,
        readBurst: 7,
      },
    });
  });

  test('the sync worker consumes the queue through its live alias with partial batch responses, ten POSTs of records per batch within a 1 s window, and a concurrency cap', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': ['SyncQueue14CFE323', 'Arn'] },
      FunctionName: {
        'Fn::Join': [
          '',
          [{ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'SyncWorkerReleaseAlias9F7B1956' }] }] }, ':live'],
        ],
      },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  test('the reconciler runs on a schedule through its live alias', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { Ref: 'ReconcilerReleaseAlias74D14815' } })],
    });
  });

  test('the API is served by a Function URL on the live alias with AWS_IAM auth, invokable by the router role only', () => {
    t.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'AWS_IAM',
      Qualifier: 'live',
      TargetFunctionArn: { 'Fn::GetAtt': ['ApiF70053CD', 'Arn'] },
    });
    const perms = Object.values(
      t.findResources('AWS::Lambda::Permission', { Properties: { Action: 'lambda:InvokeFunctionUrl' } }),
    );
    expect(perms).toHaveLength(1);
    expect(perms[0].Properties).toMatchObject({
      FunctionName: { Ref: 'ApiReleaseAliasE44B3E05' },
      FunctionUrlAuthType: 'AWS_IAM',
      Principal: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:role/bulkhead-router']],
      },
    });
    // Function URL calls also need InvokeFunction since October 2025, granted for URL calls only.
    const viaUrl = Object.values(
      t.findResources('AWS::Lambda::Permission', { Properties: { Action: 'lambda:InvokeFunction' } }),
    ).filter((p) => p.Properties.InvokedViaFunctionUrl !== undefined);
    expect(viaUrl).toHaveLength(1);
    expect(viaUrl[0].Properties).toMatchObject({
      FunctionName: { Ref: 'ApiReleaseAliasE44B3E05' },
      InvokedViaFunctionUrl: true,
      Principal: perms[0].Properties.Principal,
    });
    // The router's store-down fallback reads the URL: from another account only a grant here allows it.
    const readUrl = Object.values(
      t.findResources('AWS::Lambda::Permission', { Properties: { Action: 'lambda:GetFunctionUrlConfig' } }),
    );
    expect(readUrl.map((p) => p.Properties)).toEqual([
      {
        Action: 'lambda:GetFunctionUrlConfig',
        FunctionName: { Ref: 'ApiReleaseAliasE44B3E05' },
        Principal: perms[0].Properties.Principal,
      },
    ]);
  });

  test('the pre-traffic hook targets the new API version and may invoke only that', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('smoke test'),
      Environment: {
        Variables: Match.objectLike({
          TARGET_FUNCTION_ARN: { Ref: Match.stringLikeRegexp('^ApiCurrentVersion') },
        }),
      },
    });
    const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith('PreTrafficHookServiceRole')),
    )!;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        Resource: { Ref: expect.stringMatching(/^ApiCurrentVersion/) },
      }),
    );
  });
});

/** A custom resource's call, with deploy-time tokens shown as `<token>`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed SDK call is free-form JSON
function sdkCall(value: { 'Fn::Join': [string, unknown[]] }): Record<string, any> {
  const text = value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<token>')).join('');
  return JSON.parse(text);
}

describe('registration', () => {
  test('the cell writes its endpoint into the router’s registry, assuming its own registrar role in the router’s account and region', () => {
    const cr = Object.values(t.findResources('Custom::AWS'))[0].Properties;
    const create = sdkCall(cr.Create);
    expect(create).toMatchObject({
      service: 'DynamoDB',
      action: 'UpdateItem',
      region: 'us-east-1',
      assumedRoleArn: 'arn:<token>:iam::111111111111:role/bulkhead-registrar-use1-a',
      parameters: {
        TableName: 'bulkhead-cell-registry',
        Key: { cellId: { S: 'use1-a' } },
        ExpressionAttributeValues: {
          ':endpoint': { S: '<token>' },
          ':wave': { N: '0' },
          ':region': { S: 'us-east-1' },
        },
      },
    });
    // Created (again, after a deletion retired the row): the cell is back in service.
    expect(create.parameters.UpdateExpression).toMatch(/#status = :active$/);
    // A status an operator set (draining) survives a redeploy.
    const update = sdkCall(cr.Update);
    expect(update.parameters).toEqual({ ...create.parameters, UpdateExpression: expect.any(String) });
    expect(update.parameters.UpdateExpression).toContain('#status = if_not_exists(#status, :active)');
    expect(JSON.stringify(cr.Create)).toContain('ApiReleaseAliasFunctionUrl8A6AB447');
    expect(sdkCall(cr.Delete).parameters.ExpressionAttributeValues).toEqual({ ':retired': { S: 'retired' } });
  });

  test('its provider runs as the cell’s registration role, a fixed name that may only assume the cell’s registrar', () => {
    const roles = t.findResources('AWS::IAM::Role', {
      Properties: { RoleName: 'bulkhead-registration-use1-a' },
    });
    const [[roleId, role]] = Object.entries(roles);
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    const [provider] = Object.values(t.findResources('AWS::Lambda::Function')).filter(
      (f) => (f.Properties.Role as { 'Fn::GetAtt'?: string[] })['Fn::GetAtt']?.[0] === roleId,
    );
    expect(provider.Properties.Handler).toBe('index.handler');
    const own = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(own).toEqual([
      {
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Resource: {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:role/bulkhead-registrar-use1-a'],
          ],
        },
      },
    ]);
  });

  test('a cell in another region still registers in the router’s region', () => {
    const west = built.template('Bulkhead-Cell-usw2-a');
    const create = sdkCall(Object.values(west.findResources('Custom::AWS'))[0].Properties.Create);
    expect(create.region).toBe('us-east-1');
    expect(create.parameters.ExpressionAttributeValues[':region']).toEqual({ S: 'us-west-2' });
  });
});

describe('the operator role (what the release and tenants CLIs assume in the cell’s account)', () => {
  const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...parts]] });
  const operatorStatements = () =>
    Object.entries(t.findResources('AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('OperatorRole'))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
  const qualified = (id: string) => [
    { 'Fn::GetAtt': [id, 'Arn'] },
    { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, ':*']] },
  ];

  test('has a fixed name per cell and trusts the fleet’s operator account', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'bulkhead-use1-a-operator',
      AssumeRolePolicyDocument: {
        Statement: [
          { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: join(':iam::111111111111:root') } },
        ],
      },
    });
  });

  test('the fleet file’s operatorAccount is the account trusted', () => {
    const fleet = { ...built.fleet, operatorAccount: '999999999999' };
    const other = buildFleet(fleet, ['use1-a']).template('Bulkhead-Cell-use1-a');
    other.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'bulkhead-use1-a-operator',
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { AWS: join(':iam::999999999999:root') } })],
      },
    });
  });

  test('may do exactly what the AWS targets do, on this cell’s own resources only', () => {
    const statements = operatorStatements();
    expect(
      statements.filter(
        (st) => st.Resource === '*' || (Array.isArray(st.Resource) && st.Resource.includes('*')),
      ),
    ).toEqual([]);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'cloudformation:DescribeStacks',
          'cloudformation:GetTemplate',
          'cloudformation:ListStackResources',
          'cloudformation:UpdateStack',
        ],
        Resource: join(':cloudformation:us-east-1:111111111111:stack/Bulkhead-Cell-use1-a/*'),
      },
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: join(':iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-us-east-1'),
        Condition: { StringEquals: { 'iam:PassedToService': 'cloudformation.amazonaws.com' } },
      },
      {
        Effect: 'Allow',
        Action: 's3:PutObject',
        Resource: join(':s3:::cdk-hnb659fds-assets-111111111111-us-east-1/bulkhead/re-anchor/*'),
      },
      {
        Effect: 'Allow',
        Action: ['codedeploy:ListDeployments', 'codedeploy:GetDeployment', 'codedeploy:StopDeployment'],
        Resource: [
          'ApiReleaseDeploymentF0972FDC',
          'SyncWorkerReleaseDeploymentB2255245',
          'ReconcilerReleaseDeployment02A53C2D',
        ].map((group) =>
          join(':codedeploy:us-east-1:111111111111:deploymentgroup:', { Ref: 'ReleasesE6BA3EBF' }, '/', {
            Ref: group,
          }),
        ),
      },
      {
        Effect: 'Allow',
        Action: ['lambda:GetAlias', 'lambda:UpdateAlias', 'lambda:GetFunction'],
        Resource: ['ApiF70053CD', 'SyncWorker519C607D', 'Reconciler066B3B2B'].flatMap(qualified),
      },
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
        Resource: qualified('ApiF70053CD'),
      },
      {
        Effect: 'Allow',
        Action: 'cloudwatch:DescribeAlarms',
        Resource: expect.arrayContaining([{ 'Fn::GetAtt': ['ApiReleaseNewVersion5xxRateE895453F', 'Arn'] }]),
      },
      {
        Effect: 'Allow',
        Action: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:BatchWriteItem',
          'dynamodb:Query',
        ],
        Resource: { 'Fn::GetAtt': ['Data2D4B752F', 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Data2D4B752F', 'Arn'] }, '/index/pending']] },
      },
      {
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['SyncQueue14CFE323', 'Arn'] },
      },
      { Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: keyRef },
    ]);
  });

  test('reads only the release-health alarms, which judge a release (not the operational ones)', () => {
    const alarms = operatorStatements().find((st) => st.Action === 'cloudwatch:DescribeAlarms').Resource;
    const ids = alarms.map((a: { 'Fn::GetAtt': [string] }) => a['Fn::GetAtt'][0]);
    expect(ids).toHaveLength(10);
    expect(ids.filter((id: string) => !/ReleaseNewVersion/.test(id))).toEqual([]);
  });
});

test('the retained backup vault is named per stack creation, so creating the cell again does not collide', () => {
  const vault = Object.values(t.findResources('AWS::Backup::BackupVault'))[0];
  expect(vault.DeletionPolicy).toBe('Retain');
  // bulkhead-<cell>-<first part of the stack id's UUID>: new with every creation, at most 50 characters.
  expect(vault.Properties.BackupVaultName).toEqual({
    'Fn::Join': [
      '',
      [
        'bulkhead-use1-a-',
        {
          'Fn::Select': [
            0,
            { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] },
          ],
        },
      ],
    ],
  });
});

describe('stack', () => {
  test('each cell stack is in its own account and region and tagged with its cell id and wave', () => {
    const byName = Object.fromEntries(built.cells.map((s) => [s.stackName, s]));
    expect(byName['Bulkhead-Cell-use1-a'].region).toBe('us-east-1');
    expect(byName['Bulkhead-Cell-usw2-a'].region).toBe('us-west-2');
    expect(byName['Bulkhead-Cell-usw2-a'].account).toBe('111111111111');
    const west = built.template('Bulkhead-Cell-usw2-a');
    west.hasResourceProperties('AWS::DynamoDB::Table', {
      Tags: Match.arrayWith([
        { Key: 'bulkhead:cell', Value: 'usw2-a' },
        { Key: 'bulkhead:wave', Value: '2' },
      ]),
    });
  });

  test('cell stacks depend on the router stack, whose registry they write to', () => {
    for (const cell of built.cells) {
      expect(cell.dependencies.map((d) => d.stackName)).toEqual(['Bulkhead-Router']);
    }
  });

  test('operational alarms: DLQ not empty, sync backlog age, API errors', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': ['SyncDeadLetterQueue9F47D1DF', 'QueueName'] } },
      ],
      Threshold: 1,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 1200,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 5,
    });
  });
});

describe('the same release deployed again (after a stopped one left its versions behind)', () => {
  const apiVersion = (deployId?: string) => {
    const t = buildFleet(undefined, ['use1-a'], false, [], deployId).template('Bulkhead-Cell-use1-a');
    const fn = Object.values(t.findResources('AWS::Lambda::Function')).find(
      (f) => f.Properties.FunctionName === 'bulkhead-use1-a-api',
    )!;
    const [versionId] = Object.keys(t.findResources('AWS::Lambda::Version')).filter((id) =>
      id.startsWith('ApiCurrentVersion'),
    );
    return { env: fn.Properties.Environment.Variables as Record<string, unknown>, versionId };
  };

  test('each deploy id gives the function a configuration of its own, so Lambda publishes a new version', () => {
    const first = apiVersion('2026-12-02T04:00:00.000Z');
    const again = apiVersion('2026-12-02T04:30:00.000Z');
    expect(first.env.DEPLOY_ID).toBe('2026-12-02T04:00:00.000Z');
    expect(again.env.DEPLOY_ID).toBe('2026-12-02T04:30:00.000Z');
    expect(again.versionId).not.toBe(first.versionId);
  });

  test('a plain synth has no deploy id: the same input synthesizes the same template', () => {
    expect(apiVersion().env.DEPLOY_ID).toBeUndefined();
    expect(apiVersion().versionId).toBe(apiVersion().versionId);
  });
});

test('the API knows the router’s role: the one function URL caller whose tenant header it trusts', () => {
  const t = buildFleet(undefined, ['use1-a']).template('Bulkhead-Cell-use1-a');
  const api = Object.values(t.findResources('AWS::Lambda::Function')).find(
    (f) => f.Properties.FunctionName === 'bulkhead-use1-a-api',
  )!;
  expect(api.Properties.Environment.Variables.ROUTER_ACCOUNT).toBe('111111111111');
  // Only the API reads it.
  const others = Object.values(t.findResources('AWS::Lambda::Function')).filter(
    (f) => f.Properties.FunctionName !== 'bulkhead-use1-a-api',
  );
  expect(others.some((f) => f.Properties.Environment?.Variables?.ROUTER_ACCOUNT !== undefined)).toBe(false);
});
