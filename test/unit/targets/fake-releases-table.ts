/**
 * The releases table (shared release log and release locks) behind a mocked `DynamoDBDocumentClient`,
 * checking the conditions `DynamoReleaseStore` writes with as DynamoDB would, and failing them with
 * DynamoDB's `ConditionalCheckFailedException`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DeleteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';

export const doc = mockClient(DynamoDBDocumentClient);

type Item = Record<string, unknown>;

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

export class FakeReleasesTable {
  /** Items by `pk|sk`. */
  readonly items = new Map<string, Item>();
  /** Log writes still to fail, as an unreachable table would. */
  failLogWrites = 0;

  private static key = (k: Record<string, unknown>) => `${String(k.pk)}|${String(k.sk)}`;

  /** Whether the stored item meets a condition of the forms the store uses. */
  private meets(input: PutCommandInput | DeleteCommandInput, stored: Item | undefined): boolean {
    const condition = input.ConditionExpression;
    const values = input.ExpressionAttributeValues ?? {};
    if (!condition) return true;
    if (condition === 'attribute_not_exists(pk)') return stored === undefined;
    if (condition === 'attribute_not_exists(pk) OR expiresAt < :now')
      return stored === undefined || Number(stored.expiresAt) < Number(values[':now']);
    if (condition === '#token = :token') return stored?.token === values[':token'];
    throw new Error(`the fake releases table does not know the condition ${condition}`);
  }

  lock(cellId: string): Item | undefined {
    return this.items.get(`LOCK#${cellId}|LOCK`);
  }

  putLock(lock: Item & { cellId: string }): void {
    this.items.set(`LOCK#${lock.cellId}|LOCK`, { pk: `LOCK#${lock.cellId}`, sk: 'LOCK', ...lock });
  }

  logEntries(): Item[] {
    return [...this.items.values()]
      .filter((i) => i.pk === 'LOG')
      .map((i) => JSON.parse(String(i.entry)) as Item);
  }

  install(): void {
    doc.on(GetCommand).callsFake((input) => ({ Item: this.items.get(FakeReleasesTable.key(input.Key)) }));
    doc.on(PutCommand).callsFake((input: PutCommandInput) => {
      const key = FakeReleasesTable.key(input.Item!);
      if (input.Item!.pk === 'LOG' && this.failLogWrites > 0) {
        this.failLogWrites--;
        throw new Error('connect ETIMEDOUT');
      }
      if (!this.meets(input, this.items.get(key))) throw conditionFailed();
      this.items.set(key, { ...input.Item });
      return {};
    });
    doc.on(DeleteCommand).callsFake((input: DeleteCommandInput) => {
      const key = FakeReleasesTable.key(input.Key!);
      if (!this.meets(input, this.items.get(key))) throw conditionFailed();
      this.items.delete(key);
      return {};
    });
    doc.on(QueryCommand).callsFake((input) => ({
      Items: [...this.items.values()]
        .filter((i) => i.pk === input.ExpressionAttributeValues?.[':log'])
        .sort((a, b) => String(a.sk).localeCompare(String(b.sk))),
    }));
  }
}
