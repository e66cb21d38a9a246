/**
 * A small AWS for the tenants target, behind `aws-sdk-client-mock`: the routing store's two tables (as the
 * document client sees them), each cell's table (raw attribute values) with its `pending` index, each cell's
 * sync queue, and the cells' API functions whose environment names their table and queue. Condition and
 * update expressions are evaluated for the shapes the target writes, so a test can assert what is stored.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  GetFunctionConfigurationCommand,
  LambdaClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

import type { Fleet } from '../../../lib/config/types';
import { CELL_REGISTRY_TABLE, cellApiFunctionName, ROUTES_TABLE } from '../../../lib/contracts/names';

export const doc = mockClient(DynamoDBDocumentClient);
export const ddb = mockClient(DynamoDBClient);
export const lambda = mockClient(LambdaClient);
export const sqs = mockClient(SQSClient);

type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;
type Raw = Record<string, AttributeValue>;
type Doc = Record<string, unknown>;

/** How attributes are read and compared: document values, or raw attribute values. */
interface Flavor<I> {
  get(item: I, path: readonly string[]): unknown;
  set(item: I, name: string, value: unknown): void;
  remove(item: I, name: string): void;
}

const docFlavor: Flavor<Doc> = {
  get: (item, path) => path.reduce<unknown>((v, k) => (v as Doc | undefined)?.[k], item),
  set: (item, name, value) => void (item[name] = value),
  remove: (item, name) => void delete item[name],
};

const rawFlavor: Flavor<Raw> = {
  get: (item, path) =>
    path.reduce<unknown>(
      (v, k, i) => (i === 0 ? (v as Raw)[k] : (v as AttributeValue | undefined)?.M?.[k]),
      item,
    ),
  set: (item, name, value) => void (item[name] = value as AttributeValue),
  remove: (item, name) => void delete item[name],
};

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Splits at `separator` outside parentheses. */
function splitTop(expression: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    if (expression[i] === '(') depth++;
    if (expression[i] === ')') depth--;
    if (depth === 0 && expression.startsWith(separator, i)) {
      parts.push(expression.slice(start, i));
      start = i + separator.length;
      i += separator.length - 1;
    }
  }
  parts.push(expression.slice(start));
  return parts.map((p) => p.trim());
}

const pathOf = (raw: string, names: Names): string[] =>
  raw.split('.').map((part) => (part.startsWith('#') ? names![part] : part));

function holds<I>(
  expression: string,
  item: I | undefined,
  names: Names,
  values: Values,
  flavor: Flavor<I>,
): boolean {
  const or = splitTop(expression, ' OR ');
  if (or.length > 1) return or.some((e) => holds(e, item, names, values, flavor));
  const and = splitTop(expression, ' AND ');
  if (and.length > 1) return and.every((e) => holds(e, item, names, values, flavor));
  const term = expression.trim();
  if (term.startsWith('(') && term.endsWith(')'))
    return holds(term.slice(1, -1), item, names, values, flavor);
  const fn = /^(attribute_exists|attribute_not_exists)\((.+)\)$/.exec(term);
  const read = (p: string) => (item === undefined ? undefined : flavor.get(item, pathOf(p, names)));
  if (fn) return (read(fn[2]) !== undefined) === (fn[1] === 'attribute_exists');
  const [left, right] = term.split(' = ');
  if (right === undefined) throw new Error(`the fake cannot evaluate '${term}'`);
  return item !== undefined && same(read(left), values![right]);
}

function update<I>(item: I, expression: string, names: Names, values: Values, flavor: Flavor<I>): void {
  const [verb, ...rest] = expression.split(' ');
  const clauses = splitTop(rest.join(' '), ', ');
  for (const clause of clauses) {
    const [target] = pathOf(clause.split(' = ')[0], names);
    if (verb === 'REMOVE') {
      flavor.remove(item, target);
      continue;
    }
    const rhs = clause.split(' = ')[1];
    const ifNotExists = /^if_not_exists\((.+), (:\w+)\)$/.exec(rhs);
    const value = ifNotExists
      ? (flavor.get(item, pathOf(ifNotExists[1], names)) ?? values![ifNotExists[2]])
      : values![rhs];
    flavor.set(item, target, value);
  }
}

/** Throws as DynamoDB does when a write's condition does not hold for the stored item. */
function guard<I>(
  input: {
    ConditionExpression?: string;
    ExpressionAttributeNames?: Names;
    ExpressionAttributeValues?: Values;
  },
  stored: I | undefined,
  flavor: Flavor<I>,
): void {
  const {
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  } = input;
  if (condition && !holds(condition, stored, names, values, flavor)) {
    throw Object.assign(new Error('The conditional request failed'), {
      name: 'ConditionalCheckFailedException',
    });
  }
}

const S = (v: AttributeValue | undefined) => v?.S ?? '';
const keyOf = (item: Raw) => `${S(item.pk)}\u0000${S(item.sk)}`;

export class FakeTenantsAws {
  /** Routing store tables by name: items by partition key. */
  readonly routing = new Map<string, Map<string, Doc>>([
    [ROUTES_TABLE, new Map()],
    [CELL_REGISTRY_TABLE, new Map()],
  ]);
  /** Cell tables by name. */
  readonly tables = new Map<string, Map<string, Raw>>();
  /** Sync queues by URL: the message bodies sent. */
  readonly queues = new Map<string, string[]>();

  constructor(private readonly fleet: Fleet) {
    for (const c of fleet.cells) {
      this.tables.set(this.tableOf(c.id), new Map());
      this.queues.set(this.queueOf(c.id), []);
    }
  }

  tableOf = (cellId: string) => `Bulkhead-Cell-${cellId}-CellTable-ABC123`;
  queueOf = (cellId: string) => `https://sqs.example.com/111111111111/Bulkhead-Cell-${cellId}-SyncQueue`;

  private table(name: string | undefined): Map<string, Raw> {
    const table = this.tables.get(name ?? '');
    if (!table)
      throw Object.assign(new Error(`table ${name} not found`), { name: 'ResourceNotFoundException' });
    return table;
  }

  private routingTable(name: string | undefined): Map<string, Doc> {
    const table = this.routing.get(name ?? '');
    if (!table)
      throw Object.assign(new Error(`table ${name} not found`), { name: 'ResourceNotFoundException' });
    return table;
  }

  private routingKey = (table: string | undefined, key: Doc) =>
    String(table === CELL_REGISTRY_TABLE ? key.cellId : key.tenantId);

  install(): void {
    this.installRouting();
    this.installCells();
    lambda.on(GetFunctionConfigurationCommand).callsFake((input) => {
      const cell = this.fleet.cells.find((c) => cellApiFunctionName(c.id) === input.FunctionName);
      if (!cell) throw new ResourceNotFoundException({ message: 'Function not found', $metadata: {} });
      return {
        Environment: {
          Variables: { TABLE_NAME: this.tableOf(cell.id), QUEUE_URL: this.queueOf(cell.id) },
        },
      };
    });
    sqs.on(SendMessageBatchCommand).callsFake((input) => {
      const queue = this.queues.get(input.QueueUrl ?? '');
      if (!queue) throw new Error(`no queue ${input.QueueUrl}`);
      const entries: SendMessageBatchRequestEntry[] = input.Entries ?? [];
      queue.push(...entries.map((e) => e.MessageBody ?? ''));
      return {
        Successful: entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
        Failed: [],
      };
    });
  }

  private installRouting(): void {
    doc.on(ScanCommand).callsFake((input) => ({
      Items: [...this.routingTable(input.TableName).values()].map((i) => structuredClone(i)),
    }));
    doc.on(GetCommand).callsFake((input) => {
      const item = this.routingTable(input.TableName).get(this.routingKey(input.TableName, input.Key));
      return item ? { Item: structuredClone(item) } : {};
    });
    doc.on(PutCommand).callsFake((input) => {
      const table = this.routingTable(input.TableName);
      const key = this.routingKey(input.TableName, input.Item);
      guard(input, table.get(key), docFlavor);
      table.set(key, structuredClone(input.Item));
      return {};
    });
    doc.on(UpdateCommand).callsFake((input) => {
      const table = this.routingTable(input.TableName);
      const key = this.routingKey(input.TableName, input.Key);
      const { ExpressionAttributeNames: names, ExpressionAttributeValues: values } = input;
      guard(input, table.get(key), docFlavor);
      const item = structuredClone(table.get(key) ?? { ...input.Key });
      update(item, input.UpdateExpression, names, values, docFlavor);
      table.set(key, item);
      return {};
    });
  }

  private installCells(): void {
    ddb.on(QueryCommand).callsFake((input) => {
      const values: Raw = input.ExpressionAttributeValues!;
      const wanted = S(Object.values(values)[0]);
      let items = [...this.table(input.TableName).values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
      if (input.IndexName === 'pending') {
        items = items
          .filter((i) => S(i.pendingTenant) === wanted && i.pendingSince)
          .sort((a, b) => (S(a.pendingSince) < S(b.pendingSince) ? -1 : 1))
          .map((i) => ({ pk: i.pk, sk: i.sk, pendingTenant: i.pendingTenant, pendingSince: i.pendingSince }));
      } else {
        items = items.filter((i) => S(i.pk) === wanted);
      }
      if (input.ExclusiveStartKey) {
        const after = keyOf(input.ExclusiveStartKey);
        items = items.filter((i) => keyOf(i) > after);
      }
      const limited = input.Limit !== undefined && items.length >= input.Limit;
      const page = items.slice(0, input.Limit ?? items.length);
      const last = page.at(-1);
      return {
        ...(input.Select === 'COUNT'
          ? { Count: page.length }
          : { Items: page.map((i) => structuredClone(i)), Count: page.length }),
        ...(limited && last && { LastEvaluatedKey: { pk: last.pk, sk: last.sk } }),
      };
    });
    ddb.on(GetItemCommand).callsFake((input) => {
      const item = this.table(input.TableName).get(keyOf(input.Key!));
      return item ? { Item: structuredClone(item) } : {};
    });
    ddb.on(PutItemCommand).callsFake((input) => {
      this.table(input.TableName).set(keyOf(input.Item!), structuredClone(input.Item!));
      return {};
    });
    ddb.on(DeleteItemCommand).callsFake((input) => {
      const table = this.table(input.TableName);
      const key = keyOf(input.Key!);
      guard(input, table.get(key), rawFlavor);
      table.delete(key);
      return {};
    });
    ddb.on(UpdateItemCommand).callsFake((input) => {
      const table = this.table(input.TableName);
      const key = keyOf(input.Key!);
      const { ExpressionAttributeNames: names, ExpressionAttributeValues: values } = input;
      guard(input, table.get(key), rawFlavor);
      const item = structuredClone(table.get(key) ?? { ...input.Key! });
      update(item, input.UpdateExpression!, names, values, rawFlavor);
      table.set(key, item);
      return {};
    });
    ddb.on(BatchWriteItemCommand).callsFake((input) => {
      for (const [name, requests] of Object.entries<WriteRequest[]>(input.RequestItems ?? {})) {
        const table = this.table(name);
        for (const r of requests) {
          if (r.PutRequest) table.set(keyOf(r.PutRequest.Item!), structuredClone(r.PutRequest.Item!));
          if (r.DeleteRequest) table.delete(keyOf(r.DeleteRequest.Key!));
        }
      }
      return { UnprocessedItems: {} };
    });
  }
}
