import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type AttributeDefinition,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type KeySchemaElement,
  type Projection,
  type ProvisionedThroughput,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type CreateQueueCommandInput,
  type QueueAttributeName,
  type SQSClient,
} from '@aws-sdk/client-sqs';

import { type CfnProperties, PropertyReader, type PropertyRules } from './property-reader';

/** Table properties accepted without effect, each with why it means nothing locally. */
export const IGNORED_TABLE_PROPERTIES: Readonly<Record<string, string>> = {
  SSESpecification: 'encryption',
  PointInTimeRecoverySpecification: 'backups',
  DeletionProtectionEnabled: 'protection',
  Tags: 'metadata',
  ContributorInsightsSpecification: 'monitoring',
  StreamSpecification: 'unconsumed',
  TableName: 'renamed',
};

/** Queue properties accepted without effect, each with why it means nothing locally. */
export const IGNORED_QUEUE_PROPERTIES: Readonly<Record<string, string>> = {
  KmsMasterKeyId: 'encryption',
  KmsDataKeyReusePeriodSeconds: 'encryption',
  SqsManagedSseEnabled: 'encryption',
  Tags: 'metadata',
  QueueName: 'renamed',
};

const TABLE_PROPERTIES: PropertyRules = {
  accepted: [
    'KeySchema',
    'AttributeDefinitions',
    'BillingMode',
    'ProvisionedThroughput',
    'GlobalSecondaryIndexes',
    'LocalSecondaryIndexes',
    'TimeToLiveSpecification',
  ],
  ignored: IGNORED_TABLE_PROPERTIES,
};
const GSI_PROPERTIES: PropertyRules = {
  accepted: ['IndexName', 'KeySchema', 'Projection', 'ProvisionedThroughput'],
  ignored: { ContributorInsightsSpecification: 'monitoring' },
};
const LSI_PROPERTIES: PropertyRules = { accepted: ['IndexName', 'KeySchema', 'Projection'] };
const QUEUE_NUMBER_PROPERTIES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'MaximumMessageSize',
] as const;
const QUEUE_PROPERTIES: PropertyRules = {
  accepted: [...QUEUE_NUMBER_PROPERTIES, 'RedrivePolicy', 'FifoQueue'],
  ignored: IGNORED_QUEUE_PROPERTIES,
};
/**
 * CreateQueue's "exists with other attributes" error: `QueueNameExists` from AWS; fauxqs 1.9 sends
 * the query-compatible code `AWS.SimpleQueueService.QueueNameExists` instead of AWS's
 * `QueueAlreadyExists`, so the SDK cannot map it and names the error after that code.
 */
const QUEUE_EXISTS_ERRORS = ['QueueNameExists', 'AWS.SimpleQueueService.QueueNameExists'];

/** A property (or a value) the local platform cannot reproduce; `property` is its path in `Properties`. */
export class UnsupportedCfnPropertyError extends Error {
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
    readonly property: string,
    problem: string,
  ) {
    super(`${resourceType} ${resourceName}: ${property} ${problem}`);
    this.name = 'UnsupportedCfnPropertyError';
  }
}

/** A reader whose failures are {@link UnsupportedCfnPropertyError}s naming the resource. */
function cfnReader(resourceType: string, resourceName: string): PropertyReader {
  return new PropertyReader((property, problem) => {
    throw new UnsupportedCfnPropertyError(resourceType, resourceName, property ?? '', problem);
  });
}

function keySchema(r: PropertyReader, value: unknown, at: string): KeySchemaElement[] {
  return r.array(value, at).map((item, i) => {
    const path = `${at}[${i}]`;
    const element = r.object(item, path);
    r.onlyKnown(element, path, { accepted: ['AttributeName', 'KeyType'] });
    return {
      AttributeName: r.string(r.required(element, 'AttributeName', path), `${path}.AttributeName`),
      KeyType: r.oneOf(r.required(element, 'KeyType', path), `${path}.KeyType`, ['HASH', 'RANGE']),
    };
  });
}

function attributeDefinitions(r: PropertyReader, value: unknown): AttributeDefinition[] {
  return r.array(value, 'AttributeDefinitions').map((item, i) => {
    const at = `AttributeDefinitions[${i}]`;
    const d = r.object(item, at);
    r.onlyKnown(d, at, { accepted: ['AttributeName', 'AttributeType'] });
    return {
      AttributeName: r.string(r.required(d, 'AttributeName', at), `${at}.AttributeName`),
      AttributeType: r.oneOf(r.required(d, 'AttributeType', at), `${at}.AttributeType`, ['S', 'N', 'B']),
    };
  });
}

function projection(r: PropertyReader, value: unknown, at: string): Projection {
  const p = r.object(value, at);
  r.onlyKnown(p, at, { accepted: ['ProjectionType', 'NonKeyAttributes'] });
  return {
    ProjectionType:
      p.ProjectionType === undefined
        ? undefined
        : r.oneOf(p.ProjectionType, `${at}.ProjectionType`, ['ALL', 'KEYS_ONLY', 'INCLUDE']),
    NonKeyAttributes:
      p.NonKeyAttributes === undefined
        ? undefined
        : r
            .array(p.NonKeyAttributes, `${at}.NonKeyAttributes`)
            .map((n, i) => r.string(n, `${at}.NonKeyAttributes[${i}]`)),
  };
}

/** Provisioned tables (and their GSIs) need a throughput; on-demand ones must not have one, as on AWS. */
function throughput(
  r: PropertyReader,
  provisioned: boolean,
  owner: CfnProperties,
  at: string,
): ProvisionedThroughput | undefined {
  const path = at ? `${at}.ProvisionedThroughput` : 'ProvisionedThroughput';
  if (!provisioned) {
    if (owner.ProvisionedThroughput !== undefined)
      r.fail(path, 'must not be set with BillingMode PAY_PER_REQUEST');
    return undefined;
  }
  const t = r.object(r.required(owner, 'ProvisionedThroughput', at), path);
  r.onlyKnown(t, path, { accepted: ['ReadCapacityUnits', 'WriteCapacityUnits'] });
  return {
    ReadCapacityUnits: r.number(r.required(t, 'ReadCapacityUnits', path), `${path}.ReadCapacityUnits`),
    WriteCapacityUnits: r.number(r.required(t, 'WriteCapacityUnits', path), `${path}.WriteCapacityUnits`),
  };
}

/** A table's GSIs or LSIs: each with a name, a key schema and a projection, plus what `extra` reads. */
function secondaryIndexes<T extends object>(
  r: PropertyReader,
  props: CfnProperties,
  key: 'GlobalSecondaryIndexes' | 'LocalSecondaryIndexes',
  rules: PropertyRules,
  extra: (index: CfnProperties, at: string) => T,
) {
  return r.array(props[key], key).map((item, i) => {
    const at = `${key}[${i}]`;
    const index = r.object(item, at);
    r.onlyKnown(index, at, rules);
    return {
      IndexName: r.string(r.required(index, 'IndexName', at), `${at}.IndexName`),
      KeySchema: keySchema(r, r.required(index, 'KeySchema', at), `${at}.KeySchema`),
      Projection: projection(r, r.required(index, 'Projection', at), `${at}.Projection`),
      ...extra(index, at),
    };
  });
}

/** The TTL attribute of an enabled `TimeToLiveSpecification`. */
function ttlAttributeOf(r: PropertyReader, props: CfnProperties): string | undefined {
  if (props.TimeToLiveSpecification === undefined) return undefined;
  const at = 'TimeToLiveSpecification';
  const ttl = r.object(props.TimeToLiveSpecification, at);
  r.onlyKnown(ttl, at, { accepted: ['AttributeName', 'Enabled'] });
  if (!r.boolean(r.required(ttl, 'Enabled', at), `${at}.Enabled`)) return undefined;
  return r.string(r.required(ttl, 'AttributeName', at), `${at}.AttributeName`);
}

/**
 * The CreateTable input (and the TTL attribute, set by a separate call) for an `AWS::DynamoDB::Table`.
 * `reader` reports what cannot be reproduced. @default failures are {@link UnsupportedCfnPropertyError}s
 */
export function tableInputFromCfn(
  tableName: string,
  props: CfnProperties,
  reader: PropertyReader = cfnReader('AWS::DynamoDB::Table', tableName),
): { create: CreateTableCommandInput; ttlAttribute?: string } {
  const r = reader;
  r.onlyKnown(props, '', TABLE_PROPERTIES);
  const provisioned =
    props.BillingMode === undefined ||
    r.oneOf(props.BillingMode, 'BillingMode', ['PROVISIONED', 'PAY_PER_REQUEST']) === 'PROVISIONED';
  const create: CreateTableCommandInput = {
    TableName: tableName,
    KeySchema: keySchema(r, r.required(props, 'KeySchema'), 'KeySchema'),
    AttributeDefinitions: attributeDefinitions(r, r.required(props, 'AttributeDefinitions')),
    BillingMode: provisioned ? 'PROVISIONED' : 'PAY_PER_REQUEST',
    ProvisionedThroughput: throughput(r, provisioned, props, ''),
  };
  if (props.GlobalSecondaryIndexes !== undefined) {
    create.GlobalSecondaryIndexes = secondaryIndexes(
      r,
      props,
      'GlobalSecondaryIndexes',
      GSI_PROPERTIES,
      (gsi, at) => ({
        ProvisionedThroughput: throughput(r, provisioned, gsi, at),
      }),
    );
  }
  if (props.LocalSecondaryIndexes !== undefined) {
    create.LocalSecondaryIndexes = secondaryIndexes(
      r,
      props,
      'LocalSecondaryIndexes',
      LSI_PROPERTIES,
      () => ({}),
    );
  }
  const ttlAttribute = ttlAttributeOf(r, props);
  return ttlAttribute === undefined ? { create } : { create, ttlAttribute };
}

/**
 * The CreateQueue input for an `AWS::SQS::Queue`. `resolveArn` turns the dead-letter queue's
 * reference (a `Fn::GetAtt` in the template) into the ARN of the queue created locally.
 * `reader` reports what cannot be reproduced. @default failures are {@link UnsupportedCfnPropertyError}s
 */
export function queueInputFromCfn(
  queueName: string,
  props: CfnProperties,
  resolveArn: (ref: unknown) => string,
  reader: PropertyReader = cfnReader('AWS::SQS::Queue', queueName),
): CreateQueueCommandInput {
  const r = reader;
  r.onlyKnown(props, '', QUEUE_PROPERTIES);
  const attributes: Partial<Record<QueueAttributeName, string>> = {};
  for (const name of QUEUE_NUMBER_PROPERTIES) {
    if (props[name] !== undefined) attributes[name] = String(r.number(props[name], name));
  }
  // SQS refuses FifoQueue=false on CreateQueue; a standard queue simply leaves it out.
  if (props.FifoQueue !== undefined && r.boolean(props.FifoQueue, 'FifoQueue')) attributes.FifoQueue = 'true';
  if (props.RedrivePolicy !== undefined) {
    // The property is of type Json, which a template may also give as a JSON string.
    const raw =
      typeof props.RedrivePolicy === 'string' ? parseJson(r, props.RedrivePolicy) : props.RedrivePolicy;
    const policy = r.object(raw, 'RedrivePolicy');
    r.onlyKnown(policy, 'RedrivePolicy', { accepted: ['deadLetterTargetArn', 'maxReceiveCount'] });
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: resolveArn(r.required(policy, 'deadLetterTargetArn', 'RedrivePolicy')),
      maxReceiveCount: r.number(
        r.required(policy, 'maxReceiveCount', 'RedrivePolicy'),
        'RedrivePolicy.maxReceiveCount',
      ),
    });
  }
  return { QueueName: queueName, Attributes: attributes };
}

function parseJson(r: PropertyReader, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return r.fail('RedrivePolicy', `must be an object or a JSON string, got ${JSON.stringify(text)}`);
  }
}

/**
 * Creates the table (and turns on its TTL) from its template properties. A table that already
 * exists is kept as it is, data included; only its TTL is brought in line.
 */
export async function createTableFromCfn(
  client: DynamoDBClient,
  tableName: string,
  props: CfnProperties,
): Promise<void> {
  const { create, ttlAttribute } = tableInputFromCfn(tableName, props);
  try {
    await client.send(new CreateTableCommand(create));
  } catch (error) {
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { TableName: tableName });
  if (ttlAttribute === undefined) return;
  const { TimeToLiveDescription: ttl } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  // UpdateTimeToLive fails when TTL is already on, so only call it when something changes.
  if (ttl?.TimeToLiveStatus === 'ENABLED' && ttl.AttributeName === ttlAttribute) return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
    }),
  );
}

/**
 * Creates the queue from its template properties and returns its URL. A queue that already exists
 * gets the template's attributes, as a CloudFormation update would give it.
 */
export async function createQueueFromCfn(
  client: SQSClient,
  queueName: string,
  props: CfnProperties,
  resolveArn: (ref: unknown) => string,
): Promise<string> {
  const input = queueInputFromCfn(queueName, props, resolveArn);
  try {
    const { QueueUrl } = await client.send(new CreateQueueCommand(input));
    if (QueueUrl === undefined) throw new Error(`CreateQueue ${queueName} returned no QueueUrl`);
    return QueueUrl;
  } catch (error) {
    if (!QUEUE_EXISTS_ERRORS.includes((error as Error).name)) throw error;
  }
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: queueName }));
  if (QueueUrl === undefined) throw new Error(`GetQueueUrl ${queueName} returned no QueueUrl`);
  // FifoQueue is fixed at creation: SetQueueAttributes does not accept it.
  const attributes = { ...input.Attributes };
  delete attributes.FifoQueue;
  await client.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  return QueueUrl;
}
