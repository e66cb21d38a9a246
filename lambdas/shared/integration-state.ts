/**
 * A tenant's integration state in the cell table: its settings (on/off switch, last success and
 * error) and its circuit breaker. The sync worker reads and writes it, the reconciler and the API
 * read it. Breaker writes are optimistic (a `version` number), because every concurrent worker
 * shares one breaker per integration.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';

import { IntegrationSettingsItem, keys, SCHEMA_VERSION } from '../../lib/contracts/cell-items';
import {
  CLOSED,
  DEFAULT_BREAKER_POLICY,
  recordFailure,
  type Breaker,
  type BreakerPolicy,
} from '../../lib/domain/circuit-breaker';

import { numberOr } from './env';

export const BreakerItem = z.looseObject({
  state: z.enum(['closed', 'open', 'half-open']),
  failures: z.number().int().nonnegative(),
  openedAt: z.number().optional(),
  probeStartedAt: z.number().optional(),
  version: z.number().int().nonnegative(),
});

export interface IntegrationSettings {
  readonly enabled: boolean;
  readonly lastSuccessAt?: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly lastReconciledAt?: number;
  readonly drainCursor?: string;
  readonly drainUpdatedAt?: number;
}

/** A breaker as read, with the version a write must match; no version: no item yet. */
export interface StoredBreaker {
  readonly breaker: Breaker;
  readonly version?: number;
}

/** The breaker settings in the environment schema of each function that applies them (api, worker, reconciler). */
export const BREAKER_ENV = {
  BREAKER_FAILURES: numberOr(DEFAULT_BREAKER_POLICY.failureThreshold),
  BREAKER_COOLDOWN_MS: numberOr(DEFAULT_BREAKER_POLICY.cooldownMs),
};

/**
 * The breaker settings both the worker and the reconciler apply. The probe timeout keeps the
 * domain default (60 s): twice the worker's 30 s timeout, so a probe never outlives its invocation.
 */
export function breakerPolicyOf(env: {
  readonly BREAKER_FAILURES: number;
  readonly BREAKER_COOLDOWN_MS: number;
}): BreakerPolicy {
  return {
    ...DEFAULT_BREAKER_POLICY,
    failureThreshold: env.BREAKER_FAILURES,
    cooldownMs: env.BREAKER_COOLDOWN_MS,
  };
}

const isConditionFailure = (error: unknown) => error instanceof ConditionalCheckFailedException;

/** Concurrent failures that keep losing the race: give up rather than spin; the next failure counts again. */
const MAX_FAILURE_WRITE_ATTEMPTS = 5;

export class IntegrationStateStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async settings(tenantId: string): Promise<IntegrationSettings> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.integration(tenantId), ConsistentRead: true }),
    );
    return IntegrationSettingsItem.parse(Item ?? {});
  }

  async breaker(tenantId: string): Promise<StoredBreaker> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.breaker(tenantId), ConsistentRead: true }),
    );
    if (!Item) return { breaker: CLOSED };
    const { state, failures, openedAt, probeStartedAt, version } = BreakerItem.parse(Item);
    return {
      breaker: {
        state,
        failures,
        ...(openedAt !== undefined && { openedAt }),
        ...(probeStartedAt !== undefined && { probeStartedAt }),
      },
      version,
    };
  }

  /** Writes `next` only if nobody else wrote since `read`; false when the race was lost. */
  async replaceBreaker(tenantId: string, read: StoredBreaker, next: Breaker): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.breaker(tenantId),
            type: 'breaker',
            schemaVersion: SCHEMA_VERSION,
            ...next,
            version: (read.version ?? 0) + 1,
          },
          ...(read.version === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: 'version = :version',
                ExpressionAttributeValues: { ':version': read.version },
              }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * A call succeeded: the breaker closes. `seen` is the breaker as the caller last saw it; when it was
   * already closed with no failures there is nothing to write, which keeps the common path write-free.
   * True when the stored breaker was open or half-open: this success ended an outage, whoever opened it
   * (another worker may have, and dropped its records, after this caller looked), so the caller drains.
   */
  async recordSuccess(tenantId: string, seen: Breaker): Promise<boolean> {
    if (seen.state === 'closed' && seen.failures === 0) return false;
    // Unconditional: success is the truth whatever happened meanwhile; the version bump makes racing writers re-read.
    const { Attributes } = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.breaker(tenantId),
        UpdateExpression:
          'SET #state = :closed, failures = :zero, #type = :type, schemaVersion = :schemaVersion, ' +
          'version = if_not_exists(version, :zero) + :one REMOVE openedAt, probeStartedAt',
        ExpressionAttributeNames: { '#state': 'state', '#type': 'type' },
        ExpressionAttributeValues: {
          ':closed': 'closed',
          ':zero': 0,
          ':one': 1,
          ':type': 'breaker',
          ':schemaVersion': SCHEMA_VERSION,
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    const before = Attributes?.state;
    return before === 'open' || before === 'half-open';
  }

  /** A call failed: counts it (re-reading on a lost race) and returns the breaker as written. */
  async recordFailure(tenantId: string, now: number, policy: BreakerPolicy): Promise<Breaker | undefined> {
    for (let attempt = 0; attempt < MAX_FAILURE_WRITE_ATTEMPTS; attempt++) {
      const read = await this.breaker(tenantId);
      const next = recordFailure(read.breaker, now, policy);
      if (await this.replaceBreaker(tenantId, read, next)) return next;
    }
    return undefined;
  }

  /**
   * Marks that a message will carry the probe due at `dueAt` (epoch ms), so exactly one is sent per
   * cool-down: false when another worker has already scheduled it (or the breaker moved on).
   */
  async claimProbe(tenantId: string, dueAt: number, now: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.breaker(tenantId),
          UpdateExpression: 'SET probeDueAt = :due',
          // Unless one is already on its way for this time or sooner: one scheduled at a later time (the
          // probe timeout, while a probe was in flight) must not hold back the next cool-down's probe.
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(probeDueAt) OR probeDueAt <= :now OR probeDueAt > :due)',
          ExpressionAttributeValues: { ':due': dueAt, ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** A call to the state system answered (whatever it thought of the request): the integration is reachable. */
  async recordLastSuccess(tenantId: string, at: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.integration(tenantId),
          UpdateExpression:
            'SET lastSuccessAt = :at, schemaVersion = if_not_exists(schemaVersion, :schemaVersion)',
          // Concurrent workers finish out of order; the time must never go backwards.
          ConditionExpression: 'attribute_not_exists(lastSuccessAt) OR lastSuccessAt < :at',
          ExpressionAttributeValues: { ':at': at, ':schemaVersion': SCHEMA_VERSION },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async recordLastError(tenantId: string, message: string, at: number): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.integration(tenantId),
        UpdateExpression:
          'SET lastError = :message, lastErrorAt = :at, schemaVersion = if_not_exists(schemaVersion, :schemaVersion)',
        ExpressionAttributeValues: { ':message': message, ':at': at, ':schemaVersion': SCHEMA_VERSION },
      }),
    );
  }
}
