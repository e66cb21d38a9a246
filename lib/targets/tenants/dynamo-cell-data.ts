/**
 * One cell's tenant data in its DynamoDB table and sync queue, the same on AWS and locally: only clients,
 * table name and queue URL differ, and those come from `aws-tenants-target.ts` or `local-tenants-target.ts`.
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

import { keys, SCHEMA_VERSION, type SyncMessage, tenantKeyItem } from '../../contracts/cell-items';
import { CELL_TABLE_KEYS as K } from '../../contracts/table-schema';
import { type Item, ItemsChecksum } from '../../domain/migration';

import { writeIf } from './dynamo-writes';
import type { CellData } from './tenants-target';

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
    await writeIf(
      this.props.ddb.send(
        new DeleteItemCommand({
          TableName: this.props.tableName,
          Key: tenantItemKey(tenantId),
          ConditionExpression: 'keyHash = :h',
          ExpressionAttributeValues: { ':h': { S: keyHash } },
        }),
      ),
    );
  }

  async setTenantMoved(tenantId: string, to: string): Promise<void> {
    await writeIf(
      this.props.ddb.send(
        new UpdateItemCommand({
          TableName: this.props.tableName,
          Key: tenantItemKey(tenantId),
          UpdateExpression: 'SET movedTo = :to',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': K.partitionKey },
          ExpressionAttributeValues: { ':to': { S: to } },
        }),
      ),
    );
  }

  isMoveMarker(item: Item): boolean {
    return (item as AttributeMap)[K.sortKey]?.S === keys.tenant('').sk;
  }

  async setTenantFrozen(tenantId: string, frozen: boolean): Promise<void> {
    await writeIf(
      this.props.ddb.send(
        new UpdateItemCommand({
          TableName: this.props.tableName,
          Key: tenantItemKey(tenantId),
          UpdateExpression: frozen ? 'SET frozen = :t' : 'REMOVE frozen',
          // Never create a TENANT item without a key hash: a tenant without one stays without one.
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: { '#pk': K.partitionKey },
          ...(frozen && { ExpressionAttributeValues: { ':t': { BOOL: true } } }),
        }),
      ),
    );
  }
}
