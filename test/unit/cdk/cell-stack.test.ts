import { Match, Template } from 'aws-cdk-lib/assertions';

import { CELL_TABLE_KEYS } from '../../../lib/contracts/table-schema';

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

  test('tenant integration settings from the fleet file reach the sync worker', () => {
    const worker = t.findResources('AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('compliance') },
    });
    const env = Object.values(worker)[0].Properties.Environment.Variables;
    expect(JSON.parse(env.INTEGRATIONS)).toEqual({
      greenleaf: {
        baseUrl: 'https://sandbox-api-ca.metrc.com',
        ratePerSecond: 5,
        burst: 2,
        apiKeySecret: 'bulkhead/compliance/greenleaf',
      },
      'high-noon': {
        baseUrl: 'https://sandbox-api-ca.metrc.com',
        ratePerSecond: 5,
        burst: 2,
        apiKeySecret: 'bulkhead/compliance/high-noon',
      },
    });
  });

  test('the sync worker consumes the queue through its live alias with partial batch responses and a concurrency cap', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': ['SyncQueue14CFE323', 'Arn'] },
      FunctionName: {
        'Fn::Join': [
          '',
          [{ 'Fn::Select': [6, { 'Fn::Split': [':', { Ref: 'SyncWorkerReleaseAlias9F7B1956' }] }] }, ':live'],
        ],
      },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
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
  test('the cell writes its endpoint into the router’s registry, assuming the registrar role in the router’s account and region', () => {
    const cr = Object.values(t.findResources('Custom::AWS'))[0].Properties;
    const create = sdkCall(cr.Create);
    expect(create).toMatchObject({
      service: 'DynamoDB',
      action: 'UpdateItem',
      region: 'us-east-1',
      assumedRoleArn: 'arn:<token>:iam::111111111111:role/bulkhead-cell-registrar',
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
    // A status an operator set (draining) survives a redeploy.
    expect(create.parameters.UpdateExpression).toContain('#status = if_not_exists(#status, :active)');
    expect(JSON.stringify(cr.Create)).toContain('ApiReleaseAliasFunctionUrl8A6AB447');
    expect(sdkCall(cr.Delete).parameters.ExpressionAttributeValues).toEqual({ ':retired': { S: 'retired' } });
  });

  test('a cell in another region still registers in the router’s region', () => {
    const west = built.template('Bulkhead-Cell-usw2-a');
    const create = sdkCall(Object.values(west.findResources('Custom::AWS'))[0].Properties.Create);
    expect(create.region).toBe('us-east-1');
    expect(create.parameters.ExpressionAttributeValues[':region']).toEqual({ S: 'us-west-2' });
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
