/**
 * The mapping from each SDK call the code makes (the cell API, sync worker, reconciler, router, event
 * sources and the registration custom resource) to the IAM actions and resources it needs, with the KMS
 * uses a customer managed key on the resource implies.
 */
import {
  accessRequests,
  globalContextKeys,
  lambdaFunctionArn,
  queueNameOfUrl,
  serviceAccess,
  type ServiceCall,
  type ServiceResources,
  UnsupportedOperationError,
} from '../../../../lib/domain/iam';

import { ACCOUNT, KEY_ARN, role } from './builders';

const REGION = 'us-east-1';
const TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/bulkhead-cell-a`;
const PLAIN_TABLE_ARN = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/plain`;
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:bulkhead-cell-a-sync`;

const resources: ServiceResources = {
  partition: 'aws',
  account: ACCOUNT,
  table: (name) =>
    ({
      'bulkhead-cell-a': { arn: TABLE_ARN, key: KEY_ARN, partitionKey: 'pk' },
      plain: { arn: PLAIN_TABLE_ARN, partitionKey: 'id' },
    })[name],
  queue: (name) => (name === 'bulkhead-cell-a-sync' ? { arn: QUEUE_ARN, key: KEY_ARN } : undefined),
};

const dynamodb = (operation: string, input: Record<string, unknown>): ServiceCall => ({
  service: 'dynamodb',
  operation,
  input,
  region: REGION,
});
const sqs = (operation: string, input: Record<string, unknown>): ServiceCall => ({
  service: 'sqs',
  operation,
  input,
  region: REGION,
});
const queueUrl = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bulkhead-cell-a-sync`;

describe('DynamoDB', () => {
  it('an item call is its own action on the table, with the partition key as dynamodb:LeadingKeys', () => {
    const access = serviceAccess(
      dynamodb('GetItem', { TableName: 'bulkhead-cell-a', Key: { pk: { S: 'tenant#t1' }, sk: { S: 'x' } } }),
      resources,
    );
    expect(access).toEqual([
      {
        action: 'dynamodb:GetItem',
        resource: TABLE_ARN,
        context: { 'dynamodb:LeadingKeys': ['tenant#t1'] },
        key: KEY_ARN,
      },
    ]);
  });

  it('a query of an index is authorized on the index ARN; its leading key comes from the key condition', () => {
    const [access] = serviceAccess(
      dynamodb('Query', {
        TableName: 'bulkhead-cell-a',
        IndexName: 'byStatus',
        KeyConditionExpression: '#p = :p AND begins_with(sk, :s)',
        ExpressionAttributeNames: { '#p': 'pk' },
        ExpressionAttributeValues: { ':p': { S: 'tenant#t2' }, ':s': { S: 'order#' } },
      }),
      resources,
    );
    expect(access.resource).toBe(`${TABLE_ARN}/index/byStatus`);
    expect(access.context).toEqual({ 'dynamodb:LeadingKeys': ['tenant#t2'] });
  });

  it('a transaction is each item’s underlying action, with dynamodb:EnclosingOperation', () => {
    const access = serviceAccess(
      dynamodb('TransactWriteItems', {
        TransactItems: [
          { Put: { TableName: 'bulkhead-cell-a', Item: { pk: { S: 'o' } } } },
          { Update: { TableName: 'bulkhead-cell-a', Key: { pk: { S: 'i' } } } },
          { ConditionCheck: { TableName: 'plain', Key: { id: { S: 'c' } } } },
        ],
      }),
      resources,
    );
    expect(access.map((a) => [a.action, a.resource, a.context?.['dynamodb:EnclosingOperation']])).toEqual([
      ['dynamodb:PutItem', TABLE_ARN, 'TransactWriteItems'],
      ['dynamodb:UpdateItem', TABLE_ARN, 'TransactWriteItems'],
      ['dynamodb:ConditionCheckItem', PLAIN_TABLE_ARN, 'TransactWriteItems'],
    ]);
  });

  it('a batch is the batch action on every table it names', () => {
    const access = serviceAccess(
      dynamodb('BatchWriteItem', { RequestItems: { 'bulkhead-cell-a': [], plain: [] } }),
      resources,
    );
    expect(access.map((a) => [a.action, a.resource])).toEqual([
      ['dynamodb:BatchWriteItem', TABLE_ARN],
      ['dynamodb:BatchWriteItem', PLAIN_TABLE_ARN],
    ]);
  });

  it('a table the account does not know is still named by its ARN in the call’s region', () => {
    const [access] = serviceAccess(dynamodb('PutItem', { TableName: 'ghost', Item: {} }), resources);
    expect(access).toEqual({
      action: 'dynamodb:PutItem',
      resource: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/ghost`,
    });
  });

  it('a call without a table is refused as unsupported', () => {
    expect(() => serviceAccess(dynamodb('GetItem', {}), resources)).toThrow(UnsupportedOperationError);
  });
});

describe('SQS', () => {
  it('a batch is authorized as its single-message action, on the queue named by its URL', () => {
    expect(serviceAccess(sqs('SendMessageBatch', { QueueUrl: queueUrl }), resources)).toEqual([
      { action: 'sqs:SendMessage', resource: QUEUE_ARN, key: KEY_ARN },
    ]);
    expect(serviceAccess(sqs('DeleteMessageBatch', { QueueUrl: queueUrl }), resources)[0].action).toBe(
      'sqs:DeleteMessage',
    );
    expect(serviceAccess(sqs('ReceiveMessage', { QueueUrl: queueUrl }), resources)[0].action).toBe(
      'sqs:ReceiveMessage',
    );
  });

  it('GetQueueUrl names the queue by QueueName; a queue URL’s last segment is its name', () => {
    expect(serviceAccess(sqs('GetQueueUrl', { QueueName: 'bulkhead-cell-a-sync' }), resources)).toEqual([
      { action: 'sqs:GetQueueUrl', resource: QUEUE_ARN, key: KEY_ARN },
    ]);
    expect(queueNameOfUrl(`${queueUrl}/`)).toBe('bulkhead-cell-a-sync');
  });
});

describe('Lambda', () => {
  const defaults = { partition: 'aws', region: REGION, account: ACCOUNT };

  it('a function named by name, partial ARN or ARN, with a Qualifier, is its qualified ARN', () => {
    const live = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:api:live`;
    expect(lambdaFunctionArn('api', 'live', defaults)).toBe(live);
    expect(lambdaFunctionArn(`${ACCOUNT}:function:api`, 'live', defaults)).toBe(live);
    expect(lambdaFunctionArn(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:api`, 'live', defaults)).toBe(
      live,
    );
    expect(lambdaFunctionArn(live, undefined, defaults)).toBe(live);
  });

  it('GetFunctionUrlConfig (the router’s store-down fallback) is lambda:GetFunctionUrlConfig on the alias', () => {
    const call: ServiceCall = {
      service: 'lambda',
      operation: 'GetFunctionUrlConfig',
      input: { FunctionName: 'bulkhead-use1-a-api', Qualifier: 'live' },
      region: REGION,
    };
    expect(serviceAccess(call, resources)).toEqual([
      {
        action: 'lambda:GetFunctionUrlConfig',
        resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:bulkhead-use1-a-api:live`,
      },
    ]);
  });
});

describe('the authorization requests of a call, implied KMS uses included', () => {
  const principal = role(`arn:aws:iam::${ACCOUNT}:role/api`);
  const context = globalContextKeys(principal, { secureTransport: true, region: REGION });

  it('a write to a CMK-encrypted table is followed by kms:Decrypt on its key, via DynamoDB', () => {
    const access = serviceAccess(
      dynamodb('PutItem', { TableName: 'bulkhead-cell-a', Item: { pk: { S: 't' } } }),
      resources,
    );
    const requests = accessRequests(principal, access, context);
    expect(requests.map((r) => [r.action, r.resource])).toEqual([
      ['dynamodb:PutItem', TABLE_ARN],
      ['kms:Decrypt', KEY_ARN],
    ]);
    expect(requests[0].context).toMatchObject({
      'aws:SecureTransport': true,
      'aws:PrincipalArn': principal.arn,
      'dynamodb:LeadingKeys': ['t'],
    });
    expect(requests[1].context).toMatchObject({ 'kms:ViaService': `dynamodb.${REGION}.amazonaws.com` });
  });

  it('sending to an SSE-KMS queue needs kms:GenerateDataKey and kms:Decrypt; receiving kms:Decrypt', () => {
    const send = accessRequests(
      principal,
      serviceAccess(sqs('SendMessage', { QueueUrl: queueUrl }), resources),
      context,
    );
    expect(send.map((r) => r.action)).toEqual(['sqs:SendMessage', 'kms:GenerateDataKey', 'kms:Decrypt']);
    const receive = accessRequests(
      principal,
      serviceAccess(sqs('ReceiveMessage', { QueueUrl: queueUrl }), resources),
      context,
    );
    expect(receive.map((r) => r.action)).toEqual(['sqs:ReceiveMessage', 'kms:Decrypt']);
  });

  it('a table without a customer managed key implies no KMS request', () => {
    const access = serviceAccess(
      dynamodb('GetItem', { TableName: 'plain', Key: { id: { S: '1' } } }),
      resources,
    );
    expect(accessRequests(principal, access, context).map((r) => r.action)).toEqual(['dynamodb:GetItem']);
  });

  it('plain HTTP sets aws:SecureTransport false (what the queues’ TLS-only deny looks at)', () => {
    expect(globalContextKeys(principal, { secureTransport: false, region: REGION })).toMatchObject({
      'aws:SecureTransport': false,
    });
  });
});
