import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

import { DynamoDbLocal } from '../lib/local/services/dynamodb-local';
import { FauxqsServer } from '../lib/local/services/fauxqs';

/** The cell table's properties as `cdk synth` writes them (CellTable: on-demand, KMS, PITR, TTL, two GSIs). */
export const CELL_TABLE_PROPS = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'sk', AttributeType: 'S' },
    { AttributeName: 'statusPk', AttributeType: 'S' },
    { AttributeName: 'createdAt', AttributeType: 'S' },
    { AttributeName: 'pendingTenant', AttributeType: 'S' },
    { AttributeName: 'pendingSince', AttributeType: 'S' },
    { AttributeName: 'unverifiedTenant', AttributeType: 'S' },
    { AttributeName: 'recordedAt', AttributeType: 'S' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
  DeletionProtectionEnabled: true,
  GlobalSecondaryIndexes: [
    {
      IndexName: 'byStatus',
      KeySchema: [
        { AttributeName: 'statusPk', KeyType: 'HASH' },
        { AttributeName: 'createdAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: 'pending',
      KeySchema: [
        { AttributeName: 'pendingTenant', KeyType: 'HASH' },
        { AttributeName: 'pendingSince', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
    {
      IndexName: 'unverified',
      KeySchema: [
        { AttributeName: 'unverifiedTenant', KeyType: 'HASH' },
        { AttributeName: 'recordedAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  SSESpecification: {
    KMSMasterKeyId: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] },
    SSEEnabled: true,
    SSEType: 'KMS',
  },
  TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
};

/** The sync queue's properties as `cdk synth` writes them (SyncQueues), with a low maxReceiveCount for tests. */
export const SYNC_QUEUE_PROPS = {
  KmsMasterKeyId: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] },
  MaximumMessageSize: 1048576,
  MessageRetentionPeriod: 1209600,
  RedrivePolicy: {
    deadLetterTargetArn: { 'Fn::GetAtt': ['QDeadLetterQueueA627FDEB', 'Arn'] },
    maxReceiveCount: 2,
  },
  VisibilityTimeout: 180,
};

/** The sync dead-letter queue's properties as `cdk synth` writes them. */
export const SYNC_DLQ_PROPS = {
  KmsMasterKeyId: { 'Fn::GetAtt': ['Key961B73FD', 'Arn'] },
  MaximumMessageSize: 1048576,
  MessageRetentionPeriod: 1209600,
};

/** Neither local service checks credentials, but the SDK signs every request and needs some. */
export const LOCAL_CLIENT_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface LocalAws {
  readonly dynamo: DynamoDbLocal;
  readonly sqs: FauxqsServer;
  readonly ddbClient: DynamoDBClient;
  readonly sqsClient: SQSClient;
  /** Closes the clients and stops both services; resolves once both processes have exited. */
  stop(): Promise<void>;
}

/**
 * A real DynamoDB (in memory) and a real SQS-protocol server on free loopback ports, with clients
 * pointed at them. Call it in `beforeAll` and `stop()` in `afterAll`.
 */
export async function startLocalAws(): Promise<LocalAws> {
  const dynamo = new DynamoDbLocal();
  const sqs = new FauxqsServer();
  const started = await Promise.allSettled([dynamo.start(), sqs.start()]);
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) {
    // One may have started while the other failed: leave no process behind.
    await Promise.all([dynamo.stop(), sqs.stop()]);
    throw failed.reason;
  }
  const ddbClient = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: dynamo.endpoint });
  const sqsClient = new SQSClient({ ...LOCAL_CLIENT_CONFIG, endpoint: sqs.endpoint });
  return {
    dynamo,
    sqs,
    ddbClient,
    sqsClient,
    async stop() {
      ddbClient.destroy();
      sqsClient.destroy();
      await Promise.all([dynamo.stop(), sqs.stop()]);
    },
  };
}
