/**
 * The router's per-tenant counters in DynamoDB, shared by every router instance of the region: one item
 * per tenant holding its current second and the requests counted in it, and its requests in flight. A
 * request is admitted by one conditional `UpdateItem` that counts it in both (a new second, a limit
 * reached or a leaked count take a read and at most one more write), and gives its place back with
 * another when answered: two writes a request. A conditional write that fails is still a write DynamoDB
 * bills (DynamoDB Developer Guide, "Condition expressions": a conditional write whose condition is false
 * still consumes write capacity), so each router instance remembers a refusal (`RefusalMemory`) and a
 * flood past a tenant's limit costs a refused write per window per instance.
 *
 * Fail open: the counters protect tenants from each other and must not become the one thing whose outage
 * refuses everyone. A store error or a call slower than the timeout admits the request and is counted.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

import {
  type FleetLimits,
  isLeaked,
  limitsOfTenant,
  rateWindow,
  refusal,
  RefusalMemory,
  type Refusal,
  type TenantLimits,
} from '../../lib/domain/tenant-limits';

export type Admission =
  | { readonly allowed: true; readonly release: () => Promise<void> }
  | { readonly allowed: false; readonly refusal: Refusal };

/** Admits a tenant's request under its limits, or says which limit refused it and for how long. */
export interface TenantLimiter {
  admit(tenantId: string, now: number): Promise<Admission>;
}

export interface DynamoLimiterOptions {
  readonly tableName: string;
  readonly limits: FleetLimits;
  /** A counter call slower than this admits the request. @default 200 */
  readonly timeoutMs?: number;
  /** Told of every counter call that failed or timed out (the request was admitted). */
  readonly onStoreError?: (error: Error) => void;
  readonly memory?: RefusalMemory;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A tenant's counters: its second (`win`, epoch seconds) and requests in it (`n`), requests in flight (`c`). */
interface Counters {
  readonly win?: number;
  readonly n?: number;
  readonly c?: number;
  /** When `c` last moved (epoch ms). */
  readonly movedAt?: number;
}

const counterKey = (tenantId: string) => ({ counter: `limit#${tenantId}` });

export class DynamoTenantLimiter implements TenantLimiter {
  private readonly memory: RefusalMemory;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: DynamoLimiterOptions,
  ) {
    this.memory = options.memory ?? new RefusalMemory();
  }

  async admit(tenantId: string, now: number): Promise<Admission> {
    const remembered = this.memory.recall(tenantId, now);
    if (remembered) return { allowed: false, refusal: remembered };
    const taken = await this.take(tenantId, limitsOfTenant(this.options.limits, tenantId), now);
    if (taken === 'rate' || taken === 'concurrency') {
      this.memory.remember(tenantId, taken, now);
      return { allowed: false, refusal: refusal(taken, now) };
    }
    let released = false;
    return {
      allowed: true,
      // A place the store did not confirm ('unknown': a timeout may have taken it anyway) is given back
      // too: a count one low lets one request too many through, where one high would hold the tenant
      // back for good. The count never goes below 0.
      release: async () => {
        if (released) return;
        released = true;
        await this.giveBack(tenantId, (this.options.now ?? Date.now)());
      },
    };
  }

  /**
   * One write in the common case: this second's count and the count in flight, in the tenant's one item,
   * each under its limit. When that condition fails, the item says why: a new second (started here), a
   * limit reached, or a count in flight nobody has moved for `LEAKED_AFTER_MS` (started again). A race
   * lost twice, or a store that does not answer, admits the request ('unknown').
   */
  private async take(
    tenantId: string,
    limits: TenantLimits,
    now: number,
  ): Promise<'taken' | 'unknown' | 'rate' | 'concurrency'> {
    const win = rateWindow(now);
    // Each expression gets exactly the values it names: DynamoDB refuses an unused one.
    const values = { ':one': 1, ':zero': 0, ':now': now, ':win': win };
    const underCap = '(attribute_not_exists(c) OR c < :cap)';
    for (let attempt = 0; attempt < 2; attempt++) {
      const counted = await this.update(
        tenantId,
        'SET n = n + :one, c = if_not_exists(c, :zero) + :one, movedAt = :now',
        `win = :win AND n < :rate AND ${underCap}`,
        { ...values, ':rate': limits.requestsPerSecond, ':cap': limits.concurrentRequests },
      );
      if (counted !== 'refused') return counted === 'done' ? 'taken' : 'unknown';
      const item = await this.read(tenantId);
      if (item === 'failed') return 'unknown';
      const sameWindow = item?.win === win;
      if (sameWindow && (item.n ?? 0) >= limits.requestsPerSecond) return 'rate';
      let next: 'done' | 'refused' | 'failed';
      if ((item?.c ?? 0) >= limits.concurrentRequests) {
        if (!isLeaked(item?.movedAt, now)) return 'concurrency';
        next = sameWindow
          ? await this.update(tenantId, 'SET n = n + :one, c = :one, movedAt = :now', 'movedAt = :seen', {
              ':one': 1,
              ':now': now,
              ':seen': item?.movedAt,
            })
          : await this.update(
              tenantId,
              'SET win = :win, n = :one, c = :one, movedAt = :now',
              'movedAt = :seen',
              { ':one': 1, ':now': now, ':win': win, ':seen': item?.movedAt },
            );
      } else if (!sameWindow) {
        next = await this.update(
          tenantId,
          'SET win = :win, n = :one, c = if_not_exists(c, :zero) + :one, movedAt = :now',
          `(attribute_not_exists(win) OR win < :win) AND ${underCap}`,
          { ...values, ':cap': limits.concurrentRequests },
        );
      } else {
        continue; // below both limits now: another request moved the item meanwhile
      }
      if (next !== 'refused') return next === 'done' ? 'taken' : 'unknown';
    }
    return 'unknown';
  }

  private async giveBack(tenantId: string, now: number): Promise<void> {
    await this.update(tenantId, 'SET c = c - :one, movedAt = :now', 'c > :zero', {
      ':one': 1,
      ':zero': 0,
      ':now': now,
    });
  }

  private async read(tenantId: string): Promise<Counters | undefined | 'failed'> {
    try {
      const { Item } = await this.doc.send(
        new GetCommand({
          TableName: this.options.tableName,
          Key: counterKey(tenantId),
          ConsistentRead: true,
        }),
        { abortSignal: AbortSignal.timeout(this.timeoutMs) },
      );
      return Item as Counters | undefined;
    } catch (error) {
      this.options.onStoreError?.(error as Error);
      return 'failed';
    }
  }

  private update(
    tenantId: string,
    expression: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<'done' | 'refused' | 'failed'> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.options.tableName,
        Key: counterKey(tenantId),
        UpdateExpression: expression,
        ConditionExpression: condition,
        ExpressionAttributeValues: values,
      }),
    );
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 200;
  }

  private async conditional(command: UpdateCommand): Promise<'done' | 'refused' | 'failed'> {
    try {
      await this.doc.send(command, { abortSignal: AbortSignal.timeout(this.timeoutMs) });
      return 'done';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'refused';
      this.options.onStoreError?.(error as Error);
      return 'failed';
    }
  }
}
