/**
 * The DynamoDB and SQS side of a target, the same on AWS and locally: only clients, table names and
 * queue URLs differ, and those come from `aws-target.ts` or `local-target.ts`.
 *
 * Cell data is handled as raw attribute values (the low-level client), so a moved item is written back
 * exactly as it was read: numbers keep their precision, sets stay sets, binary stays binary.
 */
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteItemCommand,
  PutItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';

import { keys, SCHEMA_VERSION, type SyncMessage, tenantKeyItem } from '../../contracts/cell-items';
import { CELL_TABLE_KEYS as K } from '../../contracts/table-schema';
import { type Item, ItemsChecksum, MOVE_STEPS, type MoveProgress } from '../../domain/migration';

import type {
  CellData,
  CellRecord,
  RouteCondition,
  RouteRecord,
  RouteUpdate,
  Target,
} from './tenants-target';

type AttributeMap = Record<string, AttributeValue>;

const BATCH_WRITE_MAX = 25;
const SEND_BATCH_MAX = 10;
const WRITE_CONCURRENCY = 4;
const MAX_UNPROCESSED_ATTEMPTS = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Sets come back in no particular order: sort them so equal items have equal checksums. */
function normalize(value: AttributeValue): unknown {
  if (value.SS) return { SS: [...value.SS].sort() };
  if (value.NS) return { NS: [...value.NS].sort() };
  if (value.BS) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')).sort() };
  if (value.M) return { M: Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, normalize(v)])) };
  if (value.L) return { L: value.L.map(normalize) };
  return value;
}

const conditionFailed = (error: unknown): boolean =>
  (error as Error).name === 'ConditionalCheckFailedException';

function tenantItemKey(tenantId: string): AttributeMap {
  const { pk, sk } = keys.tenant(tenantId);
  return { [K.partitionKey]: { S: pk }, [K.sortKey]: { S: sk } };
}

/**
 * Writes a tenant's `TENANT` item (the cell's copy of its key hash) into a cell table, replacing any
 * there. What `tenants place`/`seed` write.
 */
export async function putTenantKeyItem(
  ddb: DynamoDBClient,
  tableName: string,
  tenantId: string,
  keyHash: string,
): Promise<void> {
  const item = tenantKeyItem(tenantId, keyHash);
  await ddb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        ...tenantItemKey(tenantId),
        keyHash: { S: item.keyHash },
        schemaVersion: { N: String(item.schemaVersion) },
        updatedAt: { S: item.updatedAt },
      },
    }),
  );
}

export interface DynamoCellDataProps {
  readonly ddb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly tableName: string;
  readonly queueUrl: string;
  /** Tenants the cell syncs to a compliance API; `undefined` when unknown. */
  readonly integratedTenants?: ReadonlySet<string>;
}

/** One cell's table and sync queue, as the tenant move and placement use them. */
export class DynamoCellData implements CellData {
  constructor(private readonly props: DynamoCellDataProps) {}

  private tenantQuery(tenantId: string): QueryCommandInput {
    return {
      TableName: this.props.tableName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': K.partitionKey },
      ExpressionAttributeValues: { ':pk': { S: tenantId } },
      ConsistentRead: true,
    };
  }

  async count(tenantId: string): Promise<number> {
    let count = 0;
    let start: AttributeMap | undefined;
    do {
      const out = await this.props.ddb.send(
        new QueryCommand({ ...this.tenantQuery(tenantId), Select: 'COUNT', ExclusiveStartKey: start }),
      );
      count += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return count;
  }

  async page(tenantId: string, cursor: string | undefined, limit: number) {
    const out = await this.props.ddb.send(
      new QueryCommand({
        ...this.tenantQuery(tenantId),
        Limit: limit,
        ExclusiveStartKey: cursor === undefined ? undefined : (JSON.parse(cursor) as AttributeMap),
      }),
    );
    const items: Item[] = out.Items ?? [];
    return out.LastEvaluatedKey ? { items, cursor: JSON.stringify(out.LastEvaluatedKey) } : { items };
  }

  async put(items: readonly Item[]): Promise<void> {
    await this.batchWrite(items.map((item) => ({ PutRequest: { Item: item as AttributeMap } })));
  }

  async remove(items: readonly Item[]): Promise<void> {
    await this.batchWrite(
      items.map((item) => {
        const { [K.partitionKey]: pk, [K.sortKey]: sk } = item as AttributeMap;
        return { DeleteRequest: { Key: { [K.partitionKey]: pk, [K.sortKey]: sk } } };
      }),
    );
  }

  /** BatchWriteItem in batches of 25, a few at a time, retrying what DynamoDB leaves unprocessed. */
  private async batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    const table = this.props.tableName;
    await inParallel(chunks(requests, BATCH_WRITE_MAX), WRITE_CONCURRENCY, async (batch) => {
      let pending: WriteRequest[] = batch;
      for (let attempt = 1; pending.length > 0; attempt++) {
        if (attempt > MAX_UNPROCESSED_ATTEMPTS) {
          throw new Error(
            `${table}: ${pending.length} writes still unprocessed after ${attempt - 1} attempts`,
          );
        }
        if (attempt > 1) await sleep(Math.min(50 * 2 ** attempt, 2000) * Math.random());
        const out = await this.props.ddb.send(
          new BatchWriteItemCommand({ RequestItems: { [table]: pending } }),
        );
        pending = out.UnprocessedItems?.[table] ?? [];
      }
    });
  }

  async summarize(tenantId: string, asOf: number): Promise<string> {
    const sum = new ItemsChecksum();
    const live = (item: AttributeMap) => {
      const expiresAt = item[K.ttlAttribute]?.N;
      return expiresAt === undefined || Number(expiresAt) * 1000 > asOf;
    };
    let start: AttributeMap | undefined;
    do {
      const out = await this.props.ddb.send(
        new QueryCommand({ ...this.tenantQuery(tenantId), ExclusiveStartKey: start }),
      );
      sum.add((out.Items ?? []).filter(live).map((item) => normalize({ M: item })));
      start = out.LastEvaluatedKey;
    } while (start);
    return sum.toString();
  }

  private settingsKey(tenantId: string): AttributeMap {
    const { pk, sk } = keys.integration(tenantId);
    return { [K.partitionKey]: { S: pk }, [K.sortKey]: { S: sk } };
  }

  async integrationEnabled(tenantId: string): Promise<boolean> {
    const { Item } = await this.props.ddb.send(
      new GetItemCommand({
        TableName: this.props.tableName,
        Key: this.settingsKey(tenantId),
        ConsistentRead: true,
      }),
    );
    // No settings item: the integration has never been switched, and is on (as the API reads it).
    return Item?.enabled?.BOOL !== false;
  }

  async setIntegrationEnabled(tenantId: string, enabled: boolean): Promise<void> {
    await this.props.ddb.send(
      new UpdateItemCommand({
        TableName: this.props.tableName,
        Key: this.settingsKey(tenantId),
        UpdateExpression:
          'SET enabled = :e, updatedAt = :now, schemaVersion = if_not_exists(schemaVersion, :v)',
        ExpressionAttributeValues: {
          ':e': { BOOL: enabled },
          ':now': { S: new Date().toISOString() },
          ':v': { N: String(SCHEMA_VERSION) },
        },
      }),
    );
  }

  async enqueuePendingSyncs(tenantId: string): Promise<number> {
    const orderPrefix = keys.order(tenantId, '').sk;
    const messages: SyncMessage[] = [];
    let start: AttributeMap | undefined;
    do {
      const out = await this.props.ddb.send(
        new QueryCommand({
          TableName: this.props.tableName,
          IndexName: K.pendingIndex,
          KeyConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': K.pendingPartitionKey },
          ExpressionAttributeValues: { ':t': { S: tenantId } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) {
        const sk = item[K.sortKey]?.S;
        if (sk?.startsWith(orderPrefix)) {
          messages.push({ schemaVersion: SCHEMA_VERSION, tenantId, orderId: sk.slice(orderPrefix.length) });
        }
      }
      start = out.LastEvaluatedKey;
    } while (start);

    for (const batch of chunks(messages, SEND_BATCH_MAX)) {
      let entries = batch.map((m, i) => ({ Id: String(i), MessageBody: JSON.stringify(m) }));
      for (let attempt = 1; entries.length > 0; attempt++) {
        const { Failed = [] } = await this.props.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.props.queueUrl, Entries: entries }),
        );
        if (Failed.length > 0 && attempt >= 3) {
          throw new Error(
            `could not enqueue ${Failed.length} pending orders: ${Failed[0].Code} ${Failed[0].Message}`,
          );
        }
        const failed = new Set(Failed.map((f) => f.Id));
        entries = entries.filter((e) => failed.has(e.Id));
      }
    }
    return messages.length;
  }

  async integrationConfigured(tenantId: string): Promise<boolean | undefined> {
    return this.props.integratedTenants?.has(tenantId);
  }

  putTenantKey(tenantId: string, keyHash: string): Promise<void> {
    return putTenantKeyItem(this.props.ddb, this.props.tableName, tenantId, keyHash);
  }

  async removeTenantKey(tenantId: string, keyHash: string): Promise<void> {
    try {
      await this.props.ddb.send(
        new DeleteItemCommand({
          TableName: this.props.tableName,
          Key: tenantItemKey(tenantId),
          ConditionExpression: 'keyHash = :h',
          ExpressionAttributeValues: { ':h': { S: keyHash } },
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }

  async setTenantFrozen(tenantId: string, frozen: boolean): Promise<void> {
    try {
      await this.props.ddb.send(
        new UpdateItemCommand({
          TableName: this.props.tableName,
          Key: tenantItemKey(tenantId),
          UpdateExpression: frozen ? 'SET frozen = :t' : 'REMOVE frozen',
          // Never create a TENANT item without a key hash: a tenant without one stays without one.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': K.partitionKey },
          ...(frozen && { ExpressionAttributeValues: { ':t': { BOOL: true } } }),
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }
}

const MoveProgressSchema = z.looseObject({
  tenantId: z.string(),
  from: z.string(),
  to: z.string(),
  step: z.enum(MOVE_STEPS),
  cursor: z.string().optional(),
  copied: z.number(),
  total: z.number().optional(),
  checksum: z.string().optional(),
  startedAt: z.string(),
  integrationWasEnabled: z.boolean().optional(),
  enqueued: z.number().optional(),
  flippedAt: z.string().optional(),
  restarts: z.number().optional(),
  finishedAt: z.string().optional(),
});

const RouteSchema = z.looseObject({
  tenantId: z.string(),
  cellId: z.string(),
  status: z.string(),
  keyHash: z.string(),
  createdAt: z.string().default(''),
  move: MoveProgressSchema.optional(),
});

const CellSchema = z.looseObject({
  cellId: z.string(),
  endpoint: z.string().default(''),
  region: z.string().default(''),
  account: z.string().optional(),
  wave: z.number().optional(),
  status: z.string().default('active'),
  maxTenants: z.number().optional(),
});

function routeOf(item: Record<string, unknown>): RouteRecord {
  const parsed = RouteSchema.safeParse(item);
  if (!parsed.success) {
    throw new Error(
      `unreadable route for tenant '${String(item.tenantId)}': ${parsed.error.issues[0]?.message}`,
    );
  }
  const { tenantId, cellId, status, keyHash, createdAt, move } = parsed.data;
  return { tenantId, cellId, status, keyHash, createdAt, ...(move && { move: move as MoveProgress }) };
}

export interface DynamoRoutingAdminProps {
  readonly doc: DynamoDBDocumentClient;
  readonly routesTable: string;
  readonly registryTable: string;
  /** Capacity per cell from the fleet file, for cells whose registry item declares none. */
  readonly maxTenants?: Readonly<Record<string, number>>;
}

/** The routing store, for the operator (the router only reads it: `lambdas/router/store.ts`). */
export class DynamoRoutingAdmin {
  constructor(private readonly props: DynamoRoutingAdminProps) {}

  private async scan(table: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.props.doc.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async listRoutes(): Promise<RouteRecord[]> {
    const routes = (await this.scan(this.props.routesTable)).map(routeOf);
    return routes.sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
  }

  async getRoute(tenantId: string): Promise<RouteRecord | undefined> {
    const { Item } = await this.props.doc.send(
      new GetCommand({ TableName: this.props.routesTable, Key: { tenantId }, ConsistentRead: true }),
    );
    return Item ? routeOf(Item) : undefined;
  }

  async createRoute(route: Omit<RouteRecord, 'move'>): Promise<boolean> {
    try {
      await this.props.doc.send(
        new PutCommand({
          TableName: this.props.routesTable,
          Item: { ...route },
          ConditionExpression: 'attribute_not_exists(tenantId)',
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async updateRoute(tenantId: string, update: RouteUpdate, condition: RouteCondition): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const conditions = ['attribute_exists(tenantId)'];
    const field = (name: string) => {
      names[`#${name}`] = name;
      return `#${name}`;
    };
    for (const name of ['cellId', 'status', 'move'] as const) {
      if (update[name] === undefined) continue;
      values[`:new_${name}`] = update[name];
      sets.push(`${field(name)} = :new_${name}`);
    }
    for (const name of ['cellId', 'status'] as const) {
      if (condition[name] === undefined) continue;
      values[`:was_${name}`] = condition[name];
      conditions.push(`${field(name)} = :was_${name}`);
    }
    if (condition.move === 'none') {
      values[':done'] = 'done';
      conditions.push(
        `(attribute_not_exists(${field('move')}) OR ${field('move')}.${field('step')} = :done)`,
      );
    } else if (condition.move) {
      values[':was_step'] = condition.move.step;
      values[':was_started'] = condition.move.startedAt;
      const move = field('move');
      conditions.push(
        `${move}.${field('step')} = :was_step AND ${move}.${field('startedAt')} = :was_started`,
      );
    }
    if (sets.length === 0) throw new Error('updateRoute: nothing to update');
    try {
      await this.props.doc.send(
        new UpdateCommand({
          TableName: this.props.routesTable,
          Key: { tenantId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async listCells(): Promise<CellRecord[]> {
    const [registry, routes] = await Promise.all([this.scan(this.props.registryTable), this.listRoutes()]);
    const counts = new Map<string, number>();
    const count = (cellId: string) => counts.set(cellId, (counts.get(cellId) ?? 0) + 1);
    for (const route of routes) {
      count(route.cellId);
      // A tenant on its way in already takes a slot, so two moves cannot overfill a cell.
      if (route.move && route.move.step !== 'done' && route.move.to !== route.cellId) count(route.move.to);
    }
    return registry
      .map((item) => CellSchema.parse(item))
      .map((c) => {
        const maxTenants = c.maxTenants ?? this.props.maxTenants?.[c.cellId];
        return {
          cellId: c.cellId,
          endpoint: c.endpoint,
          region: c.region,
          status: c.status,
          tenantCount: counts.get(c.cellId) ?? 0,
          ...(c.account !== undefined && { account: c.account }),
          ...(c.wave !== undefined && { wave: c.wave }),
          ...(maxTenants !== undefined && { maxTenants }),
        };
      })
      .sort((a, b) => (a.cellId < b.cellId ? -1 : 1));
  }
}

/** A target over DynamoDB and SQS; subclasses say where the routing store and each cell are. */
export abstract class DynamoTarget implements Target {
  private readonly cells = new Map<string, Promise<CellData>>();

  protected constructor(
    readonly description: string,
    protected readonly routing: DynamoRoutingAdmin,
  ) {}

  /** Opens the data of one cell (called once per cell). */
  protected abstract openCell(cellId: string): Promise<CellData>;

  abstract close(): void;

  listRoutes(): Promise<RouteRecord[]> {
    return this.routing.listRoutes();
  }

  getRoute(tenantId: string): Promise<RouteRecord | undefined> {
    return this.routing.getRoute(tenantId);
  }

  createRoute(route: Omit<RouteRecord, 'move'>): Promise<boolean> {
    return this.routing.createRoute(route);
  }

  updateRoute(tenantId: string, update: RouteUpdate, condition: RouteCondition): Promise<boolean> {
    return this.routing.updateRoute(tenantId, update, condition);
  }

  listCells(): Promise<CellRecord[]> {
    return this.routing.listCells();
  }

  cell(cellId: string): Promise<CellData> {
    let cell = this.cells.get(cellId);
    if (!cell) {
      cell = this.openCell(cellId);
      this.cells.set(cellId, cell);
      // A failed lookup is not cached: the next call tries again.
      cell.catch(() => this.cells.delete(cellId));
    }
    return cell;
  }
}
