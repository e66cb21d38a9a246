/**
 * What an AWS API call must be allowed to do: the IAM actions and resource ARNs of each DynamoDB, SQS and
 * Lambda operation the code makes, with the request context keys AWS evaluates, and the KMS requests a
 * customer managed key on the resource implies. Pure: the caller says which tables and queues exist and
 * which key encrypts each.
 *
 * - DynamoDB ("Using IAM with DynamoDB transactions"): "Permissions for Put, Update, Delete, and Get
 *   actions are governed by the permissions used for the underlying PutItem, UpdateItem, DeleteItem, and
 *   GetItem operations. For the ConditionCheck action, you can use the dynamodb:ConditionCheckItem
 *   permission"; `dynamodb:EnclosingOperation` names the transaction. A query or scan of an index is
 *   authorized on the index's ARN (`table/<name>/index/<index>`). BatchGetItem and BatchWriteItem are
 *   actions of their own, on every table they name.
 * - SQS ("Amazon SQS batch actions"): "You cannot set permissions explicitly for SendMessageBatch,
 *   DeleteMessageBatch, or ChangeMessageVisibilityBatch. Instead, setting permissions for SendMessage,
 *   DeleteMessage, or ChangeMessageVisibility sets permissions for the corresponding batch versions".
 * - Lambda: an operation on a qualified function (`Qualifier`, or an ARN ending in one) is authorized on
 *   the qualified ARN, whose resource policy is the alias's or version's own.
 */
import type { RequestContextKeys } from './conditions';
import type { AuthorizationRequest, CallerPrincipal } from './evaluate';
import { impliedKmsRequests } from './implied-requests';
import { arnAccount } from './matching';

/** One API call as the service receives it: the operation and its JSON input. */
export interface ServiceCall {
  /** The signing name of the service: `dynamodb`, `sqs`, `lambda`. */
  readonly service: string;
  /** `PutItem`, `SendMessageBatch`, `GetFunctionUrlConfig`, … */
  readonly operation: string;
  /** The JSON body (DynamoDB, SQS), or the path and query parameters (Lambda's REST API). */
  readonly input: Readonly<Record<string, unknown>>;
  /** The region the call is signed for. */
  readonly region: string;
}

/** A table or queue of the account the call reaches. */
export interface KnownResource {
  readonly arn: string;
  /** The customer managed key that encrypts it, if any. */
  readonly key?: string;
  /** A table's partition key attribute (for `dynamodb:LeadingKeys`). */
  readonly partitionKey?: string;
}

/** Where the call lands: the account's tables and queues as the service knows them. */
export interface ServiceResources {
  readonly partition: string;
  readonly account: string;
  table(name: string): KnownResource | undefined;
  queue(name: string): KnownResource | undefined;
}

/** One action the call needs on one resource. */
export interface ServiceAccess {
  readonly action: string;
  readonly resource: string;
  readonly context?: RequestContextKeys;
  /** The customer managed key of the resource: the service uses it on the caller's behalf. */
  readonly key?: string;
}

export class UnsupportedOperationError extends Error {}

type Input = Readonly<Record<string, unknown>>;
const isObject = (v: unknown): v is Input => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A DynamoDB attribute value (`{ S: 'x' }`, `{ N: '1' }`, `{ B: '…' }`) as IAM compares it. */
function scalar(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  return str(value.S) ?? str(value.N) ?? str(value.B);
}

/**
 * The partition key value of a key-condition expression (`#pk = :pk AND begins_with(#sk, :p)`): the
 * operand compared for equality with the partition key attribute, by name or through `#name`.
 */
function leadingKeyOfCondition(input: Input, partitionKey: string): string | undefined {
  const expression = str(input.KeyConditionExpression);
  if (!expression) return undefined;
  const names = isObject(input.ExpressionAttributeNames) ? input.ExpressionAttributeNames : {};
  const values = isObject(input.ExpressionAttributeValues) ? input.ExpressionAttributeValues : {};
  for (const match of expression.matchAll(/([#\w.-]+)\s*=\s*(:[\w-]+)/g)) {
    const name = match[1].startsWith('#') ? names[match[1]] : match[1];
    if (name === partitionKey) return scalar(values[match[2]]);
  }
  return undefined;
}

/** `dynamodb:LeadingKeys`: the partition key values the request touches (from its Key, Item or condition). */
function leadingKeys(input: Input, table: KnownResource | undefined): RequestContextKeys {
  const pk = table?.partitionKey;
  if (!pk) return {};
  const item = isObject(input.Key) ? input.Key : isObject(input.Item) ? input.Item : undefined;
  const value = item ? scalar(item[pk]) : leadingKeyOfCondition(input, pk);
  return value === undefined ? {} : { 'dynamodb:LeadingKeys': [value] };
}

function tableAccess(
  action: string,
  tableName: unknown,
  input: Input,
  resources: ServiceResources,
  region: string,
  extra: RequestContextKeys = {},
): ServiceAccess {
  const name = str(tableName);
  if (!name) throw new UnsupportedOperationError(`${action} without a TableName`);
  const table = resources.table(name);
  const arn =
    table?.arn ?? `arn:${resources.partition}:dynamodb:${region}:${resources.account}:table/${name}`;
  const index = str(input.IndexName);
  const context = { ...leadingKeys(input, table), ...extra };
  return {
    action,
    resource: index ? `${arn}/index/${index}` : arn,
    ...(Object.keys(context).length > 0 && { context }),
    ...(table?.key && { key: table.key }),
  };
}

const TRANSACT_WRITE: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/** Each item of a transaction, as the underlying single-item action. */
function transactAccess(call: ServiceCall, resources: ServiceResources, actions: Input): ServiceAccess[] {
  const items = Array.isArray(call.input.TransactItems) ? (call.input.TransactItems as unknown[]) : [];
  const enclosing = { 'dynamodb:EnclosingOperation': call.operation };
  return items.flatMap((item) =>
    Object.entries(isObject(item) ? item : {}).map(([kind, body]) => {
      const action = actions[kind];
      if (typeof action !== 'string' || !isObject(body))
        throw new UnsupportedOperationError(`${call.operation} item ${kind} is not a transaction action`);
      return tableAccess(action, body.TableName, body, resources, call.region, enclosing);
    }),
  );
}

/** BatchGetItem / BatchWriteItem: the batch action on every table it names. */
function batchAccess(call: ServiceCall, resources: ServiceResources): ServiceAccess[] {
  const tables = isObject(call.input.RequestItems) ? Object.keys(call.input.RequestItems) : [];
  return tables.map((name) => tableAccess(`dynamodb:${call.operation}`, name, {}, resources, call.region));
}

function dynamodbAccess(call: ServiceCall, resources: ServiceResources): ServiceAccess[] {
  switch (call.operation) {
    case 'TransactWriteItems':
      return transactAccess(call, resources, TRANSACT_WRITE);
    case 'TransactGetItems':
      return transactAccess(call, resources, { Get: 'dynamodb:GetItem' });
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return batchAccess(call, resources);
    case 'ListTables':
      return [{ action: 'dynamodb:ListTables', resource: '*' }];
    default:
      return [
        tableAccess(`dynamodb:${call.operation}`, call.input.TableName, call.input, resources, call.region),
      ];
  }
}

/** The batch operations SQS authorizes as their single-message action. */
const SQS_BATCH: Readonly<Record<string, string>> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

/** A queue's name from its URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`). */
export const queueNameOfUrl = (url: string): string => url.replace(/\/+$/, '').split('/').pop() ?? url;

function sqsAccess(call: ServiceCall, resources: ServiceResources): ServiceAccess[] {
  const action = `sqs:${SQS_BATCH[call.operation] ?? call.operation}`;
  if (call.operation === 'ListQueues') return [{ action, resource: '*' }];
  const url = str(call.input.QueueUrl);
  const name = url ? queueNameOfUrl(url) : str(call.input.QueueName);
  if (!name) throw new UnsupportedOperationError(`${call.operation} without a QueueUrl or QueueName`);
  const queue = resources.queue(name);
  const arn = queue?.arn ?? `arn:${resources.partition}:sqs:${call.region}:${resources.account}:${name}`;
  return [{ action, resource: arn, ...(queue?.key && { key: queue.key }) }];
}

/** A Lambda function reference (name, partial or full ARN, maybe qualified) as a full, qualified ARN. */
export function lambdaFunctionArn(
  functionName: string,
  qualifier: string | undefined,
  defaults: { readonly partition: string; readonly region: string; readonly account: string },
): string {
  const parts = functionName.split(':');
  let arn: string[];
  if (functionName.startsWith('arn:')) arn = parts;
  else if (parts.length >= 3 && parts[1] === 'function')
    arn = ['arn', defaults.partition, 'lambda', defaults.region, ...parts];
  else arn = ['arn', defaults.partition, 'lambda', defaults.region, defaults.account, 'function', ...parts];
  if (qualifier && arn.length === 7) arn.push(qualifier);
  return arn.join(':');
}

function lambdaAccess(call: ServiceCall, resources: ServiceResources): ServiceAccess[] {
  const name = str(call.input.FunctionName);
  if (!name) throw new UnsupportedOperationError(`${call.operation} without a FunctionName`);
  const resource = lambdaFunctionArn(name, str(call.input.Qualifier), { ...resources, region: call.region });
  return [{ action: `lambda:${call.operation}`, resource }];
}

/** The actions and resources one call needs, in the order AWS would check them. */
export function serviceAccess(call: ServiceCall, resources: ServiceResources): ServiceAccess[] {
  switch (call.service) {
    case 'dynamodb':
      return dynamodbAccess(call, resources);
    case 'sqs':
      return sqsAccess(call, resources);
    case 'lambda':
      return lambdaAccess(call, resources);
    default:
      throw new UnsupportedOperationError(`the ${call.service} service is not modelled`);
  }
}

/** Context keys AWS sets on every request of a role session (IAM: "AWS global condition context keys"). */
export function globalContextKeys(
  principal: CallerPrincipal,
  request: { readonly secureTransport: boolean; readonly region: string },
): RequestContextKeys {
  return {
    // "aws:SecureTransport … is always present in the request context".
    'aws:SecureTransport': request.secureTransport,
    'aws:RequestedRegion': request.region,
    'aws:PrincipalAccount': principal.account,
    ...(principal.type === 'role' && {
      'aws:PrincipalArn': principal.arn,
      'aws:PrincipalType': 'AssumedRole',
    }),
  };
}

/**
 * The authorization requests of `access` made by `principal`: each action on its resource, followed by the
 * KMS requests the resource's customer managed key implies (`impliedKmsRequests`).
 */
export function accessRequests(
  principal: CallerPrincipal,
  access: readonly ServiceAccess[],
  context: RequestContextKeys,
): AuthorizationRequest[] {
  return access.flatMap((a) => {
    const resourceAccount = arnAccount(a.resource) ?? principal.account;
    const request: AuthorizationRequest = {
      principal,
      action: a.action,
      resource: a.resource,
      resourceAccount,
      context: { ...context, ...a.context },
    };
    return [request, ...(a.key ? impliedKmsRequests(request, a.key) : [])];
  });
}
