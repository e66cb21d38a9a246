import {
  authorize,
  functionUrlRequests,
  impliedKmsActions,
  impliedKmsRequests,
  lambdaFunctionPolicy,
  parsePolicy,
} from '../../../../lib/domain/iam';

import { ACCOUNT, FUNCTION_ARN, KEY_ARN, keyPolicy, QUEUE_ARN, request, role, ROLE_ARN } from './builders';

describe('impliedKmsActions', () => {
  it('DynamoDB reads and writes both need kms:Decrypt (the table key is decrypted on access)', () => {
    for (const action of [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:TransactWriteItems',
    ]) {
      expect(impliedKmsActions(action)).toEqual(['kms:Decrypt']);
    }
    expect(impliedKmsActions('dynamodb:DescribeTable')).toEqual([]);
  });

  it('SQS producers need kms:GenerateDataKey and kms:Decrypt, consumers kms:Decrypt', () => {
    expect(impliedKmsActions('sqs:SendMessage')).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    expect(impliedKmsActions('sqs:SendMessageBatch')).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    expect(impliedKmsActions('sqs:ReceiveMessage')).toEqual(['kms:Decrypt']);
    expect(impliedKmsActions('sqs:DeleteMessage')).toEqual([]);
  });

  it('Secrets Manager GetSecretValue needs kms:Decrypt; action names are case-insensitive', () => {
    expect(impliedKmsActions('SecretsManager:getSecretValue')).toEqual(['kms:Decrypt']);
  });
});

describe('impliedKmsRequests', () => {
  it('asks for each KMS action on the key, as a call through the service on the caller’s behalf', () => {
    const send = request({ action: 'sqs:SendMessage', resource: QUEUE_ARN });
    expect(impliedKmsRequests(send, KEY_ARN)).toEqual(
      ['kms:GenerateDataKey', 'kms:Decrypt'].map((action) => ({
        principal: role(),
        action,
        resource: KEY_ARN,
        resourceAccount: ACCOUNT,
        context: {
          'kms:ViaService': 'sqs.us-east-1.amazonaws.com',
          'kms:CallerAccount': ACCOUNT,
          'aws:ViaAWSService': true,
        },
      })),
    );
  });

  it('lets a key policy restrict use to one service with kms:ViaService', () => {
    const viaSqsOnly = keyPolicy({
      Effect: 'Allow',
      Principal: { AWS: ROLE_ARN },
      Action: 'kms:*',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': 'sqs.us-east-1.amazonaws.com' } },
    });
    const viaSqs = impliedKmsRequests(
      request({ action: 'sqs:ReceiveMessage', resource: QUEUE_ARN }),
      KEY_ARN,
    );
    const viaDynamo = impliedKmsRequests(
      request({ action: 'dynamodb:GetItem', resource: QUEUE_ARN }),
      KEY_ARN,
    );
    expect(authorize(viaSqs[0], { identity: [], resource: viaSqsOnly }).decision).toBe('allow');
    expect(authorize(viaDynamo[0], { identity: [], resource: viaSqsOnly }).decision).toBe('implicit-deny');
  });

  it('rejects a key that is not an ARN', () => {
    expect(() => impliedKmsRequests(request({ action: 'sqs:SendMessage' }), 'alias/cell')).toThrow(
      /not a KMS key ARN/,
    );
  });
});

describe('functionUrlRequests', () => {
  it('an AWS_IAM function URL call needs InvokeFunctionUrl and InvokeFunction (via the URL)', () => {
    const [url, invoke] = functionUrlRequests(role(), FUNCTION_ARN);
    expect(url).toEqual(
      request({ action: 'lambda:InvokeFunctionUrl', context: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } }),
    );
    expect(invoke).toEqual(
      request({ action: 'lambda:InvokeFunction', context: { 'lambda:InvokedViaFunctionUrl': true } }),
    );
  });
});

describe('lambdaFunctionPolicy', () => {
  it('renders AddPermission calls as Lambda documents them', () => {
    const policy = lambdaFunctionPolicy(FUNCTION_ARN, [
      {
        action: 'lambda:InvokeFunctionUrl',
        principal: ROLE_ARN,
        functionUrlAuthType: 'AWS_IAM',
        statementId: 'Url',
      },
      { action: 'lambda:InvokeFunction', principal: '210987654321' },
      {
        action: 'lambda:InvokeFunction',
        principal: 'events.amazonaws.com',
        sourceArn: 'arn:aws:events:us-east-1:111111111111:rule/r',
        sourceAccount: ACCOUNT,
      },
    ]);
    expect(policy.Statement).toEqual([
      {
        Sid: 'Url',
        Effect: 'Allow',
        Principal: { AWS: ROLE_ARN },
        Action: 'lambda:InvokeFunctionUrl',
        Resource: FUNCTION_ARN,
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'AWS_IAM' } },
      },
      {
        Sid: 'permission-1',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::210987654321:root' },
        Action: 'lambda:InvokeFunction',
        Resource: FUNCTION_ARN,
      },
      {
        Sid: 'permission-2',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'lambda:InvokeFunction',
        Resource: FUNCTION_ARN,
        Condition: {
          StringEquals: { 'AWS:SourceAccount': ACCOUNT },
          ArnLike: { 'AWS:SourceArn': 'arn:aws:events:us-east-1:111111111111:rule/r' },
        },
      },
    ]);
    expect(() => parsePolicy(FUNCTION_ARN, 'resource', policy)).not.toThrow();
  });
});
