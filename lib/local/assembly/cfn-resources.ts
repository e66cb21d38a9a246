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

/** A resource's `Properties`, as found in a synthesized CloudFormation template. */
export type CfnProperties = Readonly<Record<string, unknown>>;

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

const TABLE_PROPERTIES = [
  'KeySchema',
  'AttributeDefinitions',
  'BillingMode',
  'ProvisionedThroughput',
  'GlobalSecondaryIndexes',
  'LocalSecondaryIndexes',
  'TimeToLiveSpecification',
];
const QUEUE_NUMBER_PROPERTIES = [
  'VisibilityTimeout',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'MaximumMessageSize',
] as const;
const QUEUE_PROPERTIES = [...QUEUE_NUMBER_PROPERTIES, 'RedrivePolicy', 'FifoQueue'];
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

/** Reads template values with errors that name the resource and the property path. */
class PropertyReader {
  constructor(
    private readonly resourceType: string,
    private readonly resourceName: string,
  ) {}

  fail(at: string, problem: string): never {
    throw new UnsupportedCfnPropertyError(this.resourceType, this.resourceName, at, problem);
  }

  /** Fails on the first key that is neither supported nor ignored. */
  onlyKnown(
    value: Readonly<Record<string, unknown>>,
    at: string,
    supported: readonly string[],
    ignored: Readonly<Record<string, string>> = {},
  ): void {
    for (const key of Object.keys(value)) {
      if (supported.includes(key) || key in ignored) continue;
      const known = [...supported, ...Object.keys(ignored).map((name) => `${name} (ignored)`)].join(', ');
      this.fail(at ? `${at}.${key}` : key, `is not supported by the local platform (known: ${known})`);
    }
  }

  object(value: unknown, at: string): Readonly<Record<string, unknown>> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(at, `must be an object, got ${JSON.stringify(value)}`);
    }
    return value as Record<string, unknown>;
  }

  array(value: unknown, at: string): readonly unknown[] {
    if (!Array.isArray(value)) this.fail(at, `must be a list, got ${JSON.stringify(value)}`);
    return value;
  }

  /** Intrinsic functions (`Ref`, `Fn::GetAtt`, ...) land here as objects and fail by name. */
  string(value: unknown, at: string): string {
    if (typeof value !== 'string') this.fail(at, `must be a plain string, got ${JSON.stringify(value)}`);
    return value;
  }

  oneOf<const T extends string>(value: unknown, at: string, allowed: readonly T[]): T {
    const text = this.string(value, at);
    if (!(allowed as readonly string[]).includes(text))
      this.fail(at, `must be one of ${allowed.join(', ')}, got "${text}"`);
    return text as T;
  }

  /** CloudFormation accepts numbers as numbers or numeric strings. */
  number(value: unknown, at: string): number {
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number)) {
      this.fail(at, `must be a number, got ${JSON.stringify(value)}`);
    }
    return number;
  }

  /** CloudFormation accepts booleans as booleans or "true"/"false". */
  boolean(value: unknown, at: string): boolean {
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return this.fail(at, `must be true or false, got ${JSON.stringify(value)}`);
  }

  required(props: Readonly<Record<string, unknown>>, key: string, at: string): unknown {
    if (props[key] === undefined) this.fail(at ? `${at}.${key}` : key, 'is required');
    return props[key];
  }
}

/** The CreateTable input (and the TTL attribute, set by a separate call) for an `AWS::DynamoDB::Table`. */
export function tableInputFromCfn(
  tableName: string,
  props: CfnProperties,
): { create: CreateTableCommandInput; ttlAttribute?: string } {
  const r = new PropertyReader('AWS::DynamoDB::Table', tableName);
  r.onlyKnown(props, '', TABLE_PROPERTIES, IGNORED_TABLE_PROPERTIES);

  const keySchema = (value: unknown, at: string): KeySchemaElement[] =>
    r.array(value, at).map((item, i) => {
      const element = r.object(item, `${at}[${i}]`);
      r.onlyKnown(element, `${at}[${i}]`, ['AttributeName', 'KeyType']);
      return {
        AttributeName: r.string(
          r.required(element, 'AttributeName', `${at}[${i}]`),
          `${at}[${i}].AttributeName`,
        ),
        KeyType: r.oneOf(r.required(element, 'KeyType', `${at}[${i}]`), `${at}[${i}].KeyType`, [
          'HASH',
          'RANGE',
        ]),
      };
    });
  const projection = (value: unknown, at: string): Projection => {
    const p = r.object(value, at);
    r.onlyKnown(p, at, ['ProjectionType', 'NonKeyAttributes']);
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
  };
  const provisioned =
    props.BillingMode === undefined ||
    r.oneOf(props.BillingMode, 'BillingMode', ['PROVISIONED', 'PAY_PER_REQUEST']) === 'PROVISIONED';
  // Provisioned tables (and their GSIs) need a throughput; on-demand ones must not have one, as on AWS.
  const throughput = (
    owner: Readonly<Record<string, unknown>>,
    at: string,
  ): ProvisionedThroughput | undefined => {
    const path = at ? `${at}.ProvisionedThroughput` : 'ProvisionedThroughput';
    if (!provisioned) {
      if (owner.ProvisionedThroughput !== undefined)
        r.fail(path, 'must not be set with BillingMode PAY_PER_REQUEST');
      return undefined;
    }
    const t = r.object(r.required(owner, 'ProvisionedThroughput', at), path);
    r.onlyKnown(t, path, ['ReadCapacityUnits', 'WriteCapacityUnits']);
    return {
      ReadCapacityUnits: r.number(r.required(t, 'ReadCapacityUnits', path), `${path}.ReadCapacityUnits`),
      WriteCapacityUnits: r.number(r.required(t, 'WriteCapacityUnits', path), `${path}.WriteCapacityUnits`),
    };
  };

  const create: CreateTableCommandInput = {
    TableName: tableName,
    KeySchema: keySchema(r.required(props, 'KeySchema', ''), 'KeySchema'),
    AttributeDefinitions: r
      .array(r.required(props, 'AttributeDefinitions', ''), 'AttributeDefinitions')
      .map((item, i): AttributeDefinition => {
        const at = `AttributeDefinitions[${i}]`;
        const d = r.object(item, at);
        r.onlyKnown(d, at, ['AttributeName', 'AttributeType']);
        return {
          AttributeName: r.string(r.required(d, 'AttributeName', at), `${at}.AttributeName`),
          AttributeType: r.oneOf(r.required(d, 'AttributeType', at), `${at}.AttributeType`, ['S', 'N', 'B']),
        };
      }),
    BillingMode: provisioned ? 'PROVISIONED' : 'PAY_PER_REQUEST',
    ProvisionedThroughput: throughput(props, ''),
  };
  if (props.GlobalSecondaryIndexes !== undefined) {
    create.GlobalSecondaryIndexes = r
      .array(props.GlobalSecondaryIndexes, 'GlobalSecondaryIndexes')
      .map((item, i) => {
        const at = `GlobalSecondaryIndexes[${i}]`;
        const gsi = r.object(item, at);
        r.onlyKnown(gsi, at, ['IndexName', 'KeySchema', 'Projection', 'ProvisionedThroughput'], {
          ContributorInsightsSpecification: 'monitoring',
        });
        return {
          IndexName: r.string(r.required(gsi, 'IndexName', at), `${at}.IndexName`),
          KeySchema: keySchema(r.required(gsi, 'KeySchema', at), `${at}.KeySchema`),
          Projection: projection(r.required(gsi, 'Projection', at), `${at}.Projection`),
          ProvisionedThroughput: throughput(gsi, at),
        };
      });
  }
  if (props.LocalSecondaryIndexes !== undefined) {
    create.LocalSecondaryIndexes = r
      .array(props.LocalSecondaryIndexes, 'LocalSecondaryIndexes')
      .map((item, i) => {
        const at = `LocalSecondaryIndexes[${i}]`;
        const lsi = r.object(item, at);
        r.onlyKnown(lsi, at, ['IndexName', 'KeySchema', 'Projection']);
        return {
          IndexName: r.string(r.required(lsi, 'IndexName', at), `${at}.IndexName`),
          KeySchema: keySchema(r.required(lsi, 'KeySchema', at), `${at}.KeySchema`),
          Projection: projection(r.required(lsi, 'Projection', at), `${at}.Projection`),
        };
      });
  }

  if (props.TimeToLiveSpecification === undefined) return { create };
  const ttl = r.object(props.TimeToLiveSpecification, 'TimeToLiveSpecification');
  r.onlyKnown(ttl, 'TimeToLiveSpecification', ['AttributeName', 'Enabled']);
  if (!r.boolean(r.required(ttl, 'Enabled', 'TimeToLiveSpecification'), 'TimeToLiveSpecification.Enabled')) {
    return { create };
  }
  const ttlAttribute = r.string(
    r.required(ttl, 'AttributeName', 'TimeToLiveSpecification'),
    'TimeToLiveSpecification.AttributeName',
  );
  return { create, ttlAttribute };
}

/**
 * The CreateQueue input for an `AWS::SQS::Queue`. `resolveArn` turns the dead-letter queue's
 * reference (a `Fn::GetAtt` in the template) into the ARN of the queue created locally.
 */
export function queueInputFromCfn(
  queueName: string,
  props: CfnProperties,
  resolveArn: (ref: unknown) => string,
): CreateQueueCommandInput {
  const r = new PropertyReader('AWS::SQS::Queue', queueName);
  r.onlyKnown(props, '', QUEUE_PROPERTIES, IGNORED_QUEUE_PROPERTIES);
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
    r.onlyKnown(policy, 'RedrivePolicy', ['deadLetterTargetArn', 'maxReceiveCount']);
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
