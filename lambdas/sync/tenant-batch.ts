/**
 * One tenant's share of an invocation: first the lookups (orders whose last attempt has an unknown
 * outcome, read back from the state system before anything is posted again), then the posts, oldest
 * order first, several receipts per POST, the POSTs after the first side by side under the rate limit.
 */
import { randomUUID } from 'node:crypto';

import type { OrderItem } from '../../lib/contracts/cell-items';
import { matchReceipts, type NextStep } from '../../lib/domain/compliance/lookup';
import { rowErrors, type Verdict } from '../../lib/domain/compliance/outcome';
import { receiptOf } from '../../lib/domain/compliance/receipt';
import { activeReceipts } from '../shared/active-receipts';
import { BreakerOpenedError, type FacilitySession } from '../shared/facility-session';
import type { Answer } from '../shared/metrc-client';
import { MAX_TOKEN_WAIT_MS, RateLimitedError } from '../shared/rate-limiter';

import { rejoinDelaySeconds, retryDelaySeconds, shortened } from './decide';
import type { OrderStore } from './orders';

export interface Entry {
  readonly order: OrderItem;
  readonly step: Extract<NextStep, { kind: 'post' | 'lookup' }>;
  /** The SQS message body, for the DLQ. */
  readonly body: string;
  readonly receiveCount: number;
}

export type EntryResult =
  | { readonly kind: 'synced'; readonly receiptId: number; readonly found: boolean }
  | { readonly kind: 'rejected'; readonly reason: string }
  /** Drop the message: the order stays PENDING for the probe's drain or the reconciler. */
  | { readonly kind: 'deferred'; readonly why: string }
  /** SQS delivers the message again after `seconds`. */
  | { readonly kind: 'retry'; readonly seconds: number; readonly why: string }
  /**
   * No token in time: back in line as a new message due in `seconds`, so waiting for the rate limit
   * spends none of the message's receives (SQS dead-letters at the queue's `maxReceiveCount`).
   */
  | { readonly kind: 'requeue'; readonly seconds: number; readonly why: string }
  /** Someone else settled or holds it meanwhile. */
  | { readonly kind: 'settled' };

export interface BatchDeps {
  readonly orders: OrderStore;
  /** DLQ first, then REJECTED: a failure between the two rejects (and dead-letters) again, losing nothing. */
  reject(body: string, order: OrderItem, reason: string): Promise<void>;
  readonly now: () => number;
  /** Milliseconds before "not found" may be trusted after an unknown attempt (`LookupPolicy.settleMs`). */
  readonly settleMs: number;
  readonly skewMs: number;
  /** The client's timeout: a claim outlives the call it covers by this and a margin. */
  readonly callTimeoutMs: number;
}

/** How long a claim outlives its call's timeout, for the writes after the call. */
const CLAIM_MARGIN_MS = 5000;

export class TenantBatch {
  readonly results = new Map<string, EntryResult>();
  /** POSTs of this batch turned away for want of a token so far: their place in the line. */
  private turnedAway = 0;

  constructor(
    private readonly deps: BatchDeps,
    private readonly session: FacilitySession,
  ) {}

  async run(entries: readonly Entry[]): Promise<Map<string, EntryResult>> {
    const lookups = entries.filter((e) => e.step.kind === 'lookup');
    const postable: { entry: Entry; seenAttemptedAt?: number }[] = entries
      .filter((e) => e.step.kind === 'post')
      .map((entry) => ({ entry }));
    if (lookups.length > 0) postable.push(...(await this.lookUp(lookups)));
    postable.sort((a, b) => a.entry.order.createdAt.localeCompare(b.entry.order.createdAt));
    const size = this.session.integration.batchSize;
    const chunks = Array.from({ length: Math.ceil(postable.length / size) }, (_, i) =>
      postable.slice(i * size, (i + 1) * size),
    );
    // The first POST alone (it may be the breaker's probe, which is one call), then the others side by
    // side: the shared bucket spaces them at the rate, so their claims and settling writes overlap.
    const [first, ...rest] = chunks;
    if (first) await this.postAll(first, size);
    await Promise.all(rest.map((chunk) => this.postAll(chunk, size)));
    return this.results;
  }

  /** Posts `entries`, `size` receipts a POST, until none is left to post again. */
  private async postAll(entries: { entry: Entry; seenAttemptedAt?: number }[], size: number): Promise<void> {
    let queue = entries;
    while (queue.length > 0) {
      const chunk = queue.slice(0, size);
      const again = await this.post(chunk);
      // A 400 that names no rows is retried one receipt a time, so it falls on the receipt it is about.
      if (again.split) size = 1;
      queue = [...again.entries, ...queue.slice(chunk.length)];
    }
  }

  /** Reads the receipts recorded since the oldest unknown attempt; the orders not found may be posted. */
  private async lookUp(lookups: readonly Entry[]): Promise<{ entry: Entry; seenAttemptedAt?: number }[]> {
    const since = Math.min(...lookups.map((e) => (e.step.kind === 'lookup' ? e.step.since : Infinity)));
    const read = await this.guarded(() =>
      activeReceipts(this.session, since, this.deps.now() + this.deps.skewMs),
    );
    if ('failed' in read || !read.complete) {
      for (const e of lookups)
        this.results.set(e.order.id, this.unsent(e, 'failed' in read ? read.failed : read));
      return [];
    }
    const { found, absent } = matchReceipts(
      lookups.map((e) => e.order.id),
      read.receipts,
    );
    await Promise.all(
      lookups.map((e) => {
        const receipt = found.get(e.order.id);
        return receipt && this.synced(e, receipt.Id, Date.parse(receipt.LastModified), true);
      }),
    );
    const absentIds = new Set(absent);
    return lookups
      .filter((e) => absentIds.has(e.order.id))
      .map((entry) => ({ entry, seenAttemptedAt: entry.order.attemptedAt }));
  }

  /** Posts one chunk; answers with the entries to post again (the rest of a chunk a row of which was invalid). */
  private async post(
    chunk: readonly { entry: Entry; seenAttemptedAt?: number }[],
  ): Promise<{ entries: { entry: Entry; seenAttemptedAt?: number }[]; split?: boolean }> {
    const { orders, now, callTimeoutMs } = this.deps;
    const attemptId = randomUUID();
    const at = now();
    // Side by side: one write per order, and in a drain these writes, not the POST, set the pace.
    const won = await Promise.all(
      chunk.map(({ entry, seenAttemptedAt }) =>
        orders.claim(this.session.tenantId, entry.order.id, {
          attemptId,
          at,
          until: at + callTimeoutMs + CLAIM_MARGIN_MS,
          seenAttemptedAt,
        }),
      ),
    );
    const claimed = chunk.filter((_, i) => won[i]).map(({ entry }) => entry);
    for (const [i, { entry }] of chunk.entries()) {
      if (!won[i])
        this.results.set(entry.order.id, {
          kind: 'retry',
          seconds: 1,
          why: 'another worker holds the order',
        });
    }
    if (claimed.length === 0) return { entries: [] };
    const release = (known: boolean) =>
      Promise.all(
        claimed.map((e) => orders.release(this.session.tenantId, e.order.id, attemptId, known, now())),
      );
    const timeZone = this.session.integration.timeZone;
    const sent = await this.guarded(() =>
      this.session.call('writes', (c) =>
        c.postReceipts(claimed.map((e) => receiptOf(e.order, { timeZone }))),
      ),
    );
    if ('failed' in sent) {
      await release(true);
      const place = sent.failed instanceof RateLimitedError ? this.turnedAway++ : 0;
      for (const e of claimed) this.results.set(e.order.id, this.unsent(e, sent.failed, place));
      return { entries: [] };
    }
    const { verdict, value: ids } = sent;
    if (verdict.committed === 'yes' && ids?.length === claimed.length) {
      await Promise.all(claimed.map((e, i) => this.synced(e, ids[i], at, false)));
      return { entries: [] };
    }
    if (verdict.committed === 'no' && verdict.invalid) return this.invalid(claimed, sent, release);
    // Nothing recorded (429, 401...): post again soon. Unknown (or a 2xx without ids): look up first.
    await release(verdict.committed === 'no');
    for (const e of claimed) this.results.set(e.order.id, this.unsent(e, sent));
    return { entries: [] };
  }

  private async invalid(
    claimed: readonly Entry[],
    answer: Answer<unknown>,
    release: (known: boolean) => Promise<unknown>,
  ): Promise<{ entries: { entry: Entry }[]; split?: boolean }> {
    const rows = rowErrors(answer.body);
    if (claimed.length === 1 || rows) {
      const bad = new Map(rows?.map((r) => [r.row, r.message]) ?? []);
      const rejected = claimed.filter((_, i) => claimed.length === 1 || bad.has(i));
      const others = claimed.filter((e) => !rejected.includes(e));
      // The whole array was refused: the other receipts were not recorded and go again.
      await release(true);
      for (const [i, e] of claimed.entries()) {
        if (!rejected.includes(e)) continue;
        const reason = shortened(claimed.length === 1 ? answer.description : `400 ${bad.get(i)}`);
        await this.deps.reject(e.body, e.order, reason);
        this.results.set(e.order.id, { kind: 'rejected', reason });
      }
      return { entries: others.map((entry) => ({ entry })) };
    }
    await release(true);
    return { entries: claimed.map((entry) => ({ entry })), split: true };
  }

  private async synced(e: Entry, receiptId: number, recordedAt: number, found: boolean): Promise<void> {
    const settled = await this.deps.orders.markSynced(this.session.tenantId, e.order.id, {
      at: new Date(this.deps.now()),
      complianceId: String(receiptId),
      recordedAt,
    });
    this.results.set(e.order.id, settled ? { kind: 'synced', receiptId, found } : { kind: 'settled' });
  }

  /**
   * What becomes of an entry whose call did not record it (or may have). `place`: of the POSTs this batch
   * could not get a token for, which one this entry's was.
   */
  private unsent(
    e: Entry,
    failed: Answer<unknown> | { reason: string; answer?: Answer<unknown> } | Error,
    place = 0,
  ): EntryResult {
    if (failed instanceof BreakerOpenedError || this.session.opened) {
      return { kind: 'deferred', why: 'the breaker is open' };
    }
    if (failed instanceof RateLimitedError) {
      // The POSTs turned away come back a token apart, in line, not all at the first token.
      const inLine = failed.waitMs / 1000 + place / this.session.integration.ratePerSecond;
      return {
        kind: 'requeue',
        seconds: rejoinDelaySeconds(inLine, MAX_TOKEN_WAIT_MS / 1000),
        why: failed.message,
      };
    }
    if (failed instanceof Error) throw failed;
    const answer = 'verdict' in failed ? failed : failed.answer;
    const verdict: Verdict | undefined = answer?.verdict;
    const why = answer?.description ?? ('reason' in failed ? failed.reason : 'no answer');
    if (verdict?.committed === 'no' && !verdict.invalid && verdict.reason === 'throttled') {
      return {
        kind: 'retry',
        seconds: retryDelaySeconds(e.receiveCount, answer?.retryAfterSeconds ?? 1),
        why,
      };
    }
    const backoff = retryDelaySeconds(e.receiveCount);
    // After an unknown outcome the next try is a lookup, which must wait for the attempt to settle.
    const seconds =
      verdict?.committed === 'unknown' ? Math.max(backoff, Math.ceil(this.deps.settleMs / 1000)) : backoff;
    return { kind: 'retry', seconds, why };
  }

  /** Runs a call, turning the two "no call was made" errors into a value. */
  private async guarded<T>(work: () => Promise<T>): Promise<T | { failed: Error }> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RateLimitedError || error instanceof BreakerOpenedError) return { failed: error };
      throw error;
    }
  }
}
