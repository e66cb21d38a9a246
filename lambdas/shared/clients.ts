import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import type { Tracing } from './tracing';

/** The plain DynamoDB client, traced (the document client and the idempotency layer share it). */
export function dynamoClient(tracing: Tracing): DynamoDBClient {
  return tracing.client(new DynamoDBClient({}));
}

/** The document client every handler uses; `undefined` attributes are dropped, not an error. */
export function documentClient(tracing: Tracing, client = dynamoClient(tracing)): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * SQS client that always sends to the configured endpoint. On AWS that is the queue's own regional
 * endpoint anyway; locally the SQS server's queue URLs carry a host name that need not resolve.
 */
export function sqsClient(tracing: Tracing): SQSClient {
  return tracing.client(new SQSClient({ useQueueUrlAsEndpoint: false }));
}
