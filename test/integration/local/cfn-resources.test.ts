import { CELL_TABLE_PROPS } from '../../../harness/local-aws';
import {
  IGNORED_QUEUE_PROPERTIES,
  IGNORED_TABLE_PROPERTIES,
  UnsupportedCfnPropertyError,
  queueInputFromCfn,
  tableInputFromCfn,
} from '../../../lib/local/assembly/cfn-resources';

const resolveNothing = (ref: unknown): string => {
  throw new Error(`unexpected reference ${JSON.stringify(ref)}`);
};

function thrown(action: () => unknown): UnsupportedCfnPropertyError {
  try {
    action();
  } catch (error) {
    if (error instanceof UnsupportedCfnPropertyError) return error;
    throw error;
  }
  throw new Error('expected an UnsupportedCfnPropertyError');
}

describe('tableInputFromCfn', () => {
  it('converts the cell table and drops what has no local meaning', () => {
    const { create, ttlAttribute } = tableInputFromCfn('cell-a', CELL_TABLE_PROPS);

    expect(ttlAttribute).toBe('expiresAt');
    expect(create).toEqual({
      TableName: 'cell-a',
      KeySchema: CELL_TABLE_PROPS.KeySchema,
      AttributeDefinitions: CELL_TABLE_PROPS.AttributeDefinitions,
      BillingMode: 'PAY_PER_REQUEST',
      ProvisionedThroughput: undefined,
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byStatus',
          KeySchema: CELL_TABLE_PROPS.GlobalSecondaryIndexes[0].KeySchema,
          Projection: { ProjectionType: 'ALL', NonKeyAttributes: undefined },
          ProvisionedThroughput: undefined,
        },
        {
          IndexName: 'pending',
          KeySchema: CELL_TABLE_PROPS.GlobalSecondaryIndexes[1].KeySchema,
          Projection: { ProjectionType: 'KEYS_ONLY', NonKeyAttributes: undefined },
          ProvisionedThroughput: undefined,
        },
        {
          IndexName: 'unverified',
          KeySchema: CELL_TABLE_PROPS.GlobalSecondaryIndexes[2].KeySchema,
          Projection: { ProjectionType: 'KEYS_ONLY', NonKeyAttributes: undefined },
          ProvisionedThroughput: undefined,
        },
      ],
    });
  });

  it('converts a provisioned table with a local index and an INCLUDE projection', () => {
    const { create, ttlAttribute } = tableInputFromCfn('t', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'at', AttributeType: 'N' },
      ],
      ProvisionedThroughput: { ReadCapacityUnits: '5', WriteCapacityUnits: 2 },
      LocalSecondaryIndexes: [
        {
          IndexName: 'byAt',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['total'] },
        },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: 'false' },
    });

    expect(ttlAttribute).toBeUndefined();
    expect(create.BillingMode).toBe('PROVISIONED');
    expect(create.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 5, WriteCapacityUnits: 2 });
    expect(create.LocalSecondaryIndexes?.[0]?.Projection).toEqual({
      ProjectionType: 'INCLUDE',
      NonKeyAttributes: ['total'],
    });
  });

  it('accepts every ignored property and gives each a reason', () => {
    expect(Object.keys(IGNORED_TABLE_PROPERTIES).sort()).toEqual([
      'ContributorInsightsSpecification',
      'DeletionProtectionEnabled',
      'PointInTimeRecoverySpecification',
      'SSESpecification',
      'StreamSpecification',
      'TableName',
      'Tags',
    ]);
    const withAll = {
      ...CELL_TABLE_PROPS,
      ...Object.fromEntries(Object.keys(IGNORED_TABLE_PROPERTIES).map((k) => [k, {}])),
    };
    expect(() => tableInputFromCfn('t', withAll)).not.toThrow();
    for (const reason of Object.values(IGNORED_TABLE_PROPERTIES)) expect(reason).toMatch(/^[a-z]+$/);
  });

  it('throws naming an unsupported property', () => {
    const error = thrown(() =>
      tableInputFromCfn('cell-a', { ...CELL_TABLE_PROPS, KinesisStreamSpecification: { StreamArn: 'arn' } }),
    );

    expect(error.property).toBe('KinesisStreamSpecification');
    expect(error.message).toContain(
      'AWS::DynamoDB::Table cell-a: KinesisStreamSpecification is not supported',
    );
  });

  it('throws naming an unsupported property inside an index, with its path', () => {
    const [byStatus, pending] = CELL_TABLE_PROPS.GlobalSecondaryIndexes;
    const error = thrown(() =>
      tableInputFromCfn('cell-a', {
        ...CELL_TABLE_PROPS,
        GlobalSecondaryIndexes: [byStatus, { ...pending, WarmThroughput: { ReadUnitsPerSecond: 12000 } }],
      }),
    );

    expect(error.property).toBe('GlobalSecondaryIndexes[1].WarmThroughput');
  });

  it('throws when a value is an intrinsic function it cannot resolve', () => {
    const error = thrown(() =>
      tableInputFromCfn('t', {
        ...CELL_TABLE_PROPS,
        TimeToLiveSpecification: { AttributeName: { Ref: 'TtlName' }, Enabled: true },
      }),
    );

    expect(error.property).toBe('TimeToLiveSpecification.AttributeName');
    expect(error.message).toContain('must be a plain string, got {"Ref":"TtlName"}');
  });

  it('requires a throughput for a provisioned table and refuses one for an on-demand table', () => {
    const provisioned: Record<string, unknown> = { ...CELL_TABLE_PROPS };
    delete provisioned.BillingMode;
    expect(thrown(() => tableInputFromCfn('t', provisioned)).message).toContain(
      'ProvisionedThroughput is required',
    );
    expect(
      thrown(() =>
        tableInputFromCfn('t', {
          ...CELL_TABLE_PROPS,
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
        }),
      ).message,
    ).toContain('ProvisionedThroughput must not be set with BillingMode PAY_PER_REQUEST');
  });
});

describe('queueInputFromCfn', () => {
  const dlqRef = { 'Fn::GetAtt': ['QDeadLetterQueueA627FDEB', 'Arn'] };

  it('converts the sync queue, resolving its dead-letter queue through the callback', () => {
    const refs: unknown[] = [];
    const input = queueInputFromCfn(
      'cell-a-sync',
      {
        KmsMasterKeyId: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] },
        MessageRetentionPeriod: 1209600,
        RedrivePolicy: { deadLetterTargetArn: dlqRef, maxReceiveCount: 8 },
        VisibilityTimeout: 180,
        DelaySeconds: '0',
        ReceiveMessageWaitTimeSeconds: 20,
        MaximumMessageSize: 262144,
      },
      (ref) => {
        refs.push(ref);
        return 'arn:aws:sqs:us-east-1:000000000000:cell-a-sync-dlq';
      },
    );

    expect(refs).toEqual([dlqRef]);
    expect(input).toEqual({
      QueueName: 'cell-a-sync',
      Attributes: {
        MessageRetentionPeriod: '1209600',
        VisibilityTimeout: '180',
        DelaySeconds: '0',
        ReceiveMessageWaitTimeSeconds: '20',
        MaximumMessageSize: '262144',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:cell-a-sync-dlq',
          maxReceiveCount: 8,
        }),
      },
    });
  });

  it('sets FifoQueue only when true, and accepts a redrive policy given as a JSON string', () => {
    expect(queueInputFromCfn('q.fifo', { FifoQueue: true }, resolveNothing).Attributes).toEqual({
      FifoQueue: 'true',
    });
    expect(queueInputFromCfn('q', { FifoQueue: 'false' }, resolveNothing).Attributes).toEqual({});
    const input = queueInputFromCfn(
      'q',
      { RedrivePolicy: '{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":"3"}' },
      (ref) => String(ref),
    );
    expect(JSON.parse(input.Attributes?.RedrivePolicy ?? '')).toEqual({
      deadLetterTargetArn: 'arn:dlq',
      maxReceiveCount: 3,
    });
  });

  it('accepts every ignored property and gives each a reason', () => {
    expect(Object.keys(IGNORED_QUEUE_PROPERTIES).sort()).toEqual([
      'KmsDataKeyReusePeriodSeconds',
      'KmsMasterKeyId',
      'QueueName',
      'SqsManagedSseEnabled',
      'Tags',
    ]);
    const withAll = Object.fromEntries(Object.keys(IGNORED_QUEUE_PROPERTIES).map((k) => [k, 'x']));
    expect(queueInputFromCfn('q', withAll, resolveNothing)).toEqual({ QueueName: 'q', Attributes: {} });
  });

  it('throws naming an unsupported property, at the top level and inside the redrive policy', () => {
    const top = thrown(() => queueInputFromCfn('q', { ContentBasedDeduplication: true }, resolveNothing));
    expect(top.property).toBe('ContentBasedDeduplication');
    expect(top.message).toContain('AWS::SQS::Queue q: ContentBasedDeduplication is not supported');

    const nested = thrown(() =>
      queueInputFromCfn(
        'q',
        { RedrivePolicy: { deadLetterTargetArn: dlqRef, maxReceiveCount: 2, redrivePermission: 'allowAll' } },
        () => 'arn:dlq',
      ),
    );
    expect(nested.property).toBe('RedrivePolicy.redrivePermission');
  });

  it('throws naming a property whose value is not a number', () => {
    const error = thrown(() =>
      queueInputFromCfn('q', { VisibilityTimeout: 'three minutes' }, resolveNothing),
    );
    expect(error.property).toBe('VisibilityTimeout');
  });
});
