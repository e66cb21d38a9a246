/**
 * The releases table (router stack, `RELEASES_TABLE`): the release log every operator reads, and each
 * cell's release lock. The same table on AWS (the router's account and region) and locally (the local
 * platform's routing store), so `--target local` locks and logs as AWS does. The lock decisions are the
 * domain's (lib/domain/release/cell-lock.ts); this side writes them on their conditions, atomically.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';

import type { CellLock, LockExpectation } from '../../domain/release/cell-lock';
import { writeIf } from '../tenants/dynamo-writes';

/** Where the locks live: read, write on a condition, give back. */
export interface LockStore {
  read(cellId: string): Promise<CellLock | undefined>;
  /** False when the stored lock no longer meets `expect` (another run decided first). */
  write(lock: CellLock, expect: LockExpectation): Promise<boolean>;
  /** Deletes the cell's lock if this run (`token`) holds it; false when it does not. */
  remove(cellId: string, token: string): Promise<boolean>;
}

/** The shared copy of the release log; entries are JSON text with a unique key (`<at>#<id>`). */
export interface SharedLog {
  /** Every entry, oldest first. */
  entries(): Promise<{ readonly key: string; readonly entry: string }[]>;
  /** Adds an entry; one already there under that key is left as it is. */
  put(key: string, entry: string): Promise<void>;
}

const LOG_PK = 'LOG';
const lockKey = (cellId: string) => ({ pk: `LOCK#${cellId}`, sk: 'LOCK' });

export class DynamoReleaseStore implements LockStore, SharedLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(cellId: string): Promise<CellLock | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: lockKey(cellId), ConsistentRead: true }),
    );
    const item = out.Item;
    if (!item) return undefined;
    return {
      cellId,
      holder: String(item.holder),
      token: String(item.token),
      reason: String(item.reason),
      since: Number(item.since),
      expiresAt: Number(item.expiresAt),
    };
  }

  write(lock: CellLock, expect: LockExpectation): Promise<boolean> {
    const { cellId, ...rest } = lock;
    const condition =
      expect.kind === 'free'
        ? {
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
            ExpressionAttributeValues: { ':now': expect.now },
          }
        : {
            ConditionExpression: '#token = :token',
            ExpressionAttributeNames: { '#token': 'token' },
            ExpressionAttributeValues: { ':token': expect.token },
          };
    return writeIf(
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...lockKey(cellId), cellId, ...rest },
          ...condition,
        }),
      ),
    );
  }

  remove(cellId: string, token: string): Promise<boolean> {
    return writeIf(
      this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: lockKey(cellId),
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': token },
        }),
      ),
    );
  }

  async entries(): Promise<{ key: string; entry: string }[]> {
    const found: { key: string; entry: string }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :log',
          ExpressionAttributeValues: { ':log': LOG_PK },
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      for (const item of out.Items ?? []) found.push({ key: String(item.sk), entry: String(item.entry) });
      start = out.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async put(key: string, entry: string): Promise<void> {
    await writeIf(
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: LOG_PK, sk: key, entry },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }
}
