/**
 * One tenant's reconciliation against the state system's records (the seed's "auto-reconciliation and
 * auto-repair"): the active receipts last modified since the previous run, against the orders that
 * should be there. Missing ones are sent again, duplicates voided, mismatches flagged DISCREPANCY with
 * both sides, receipts the cell never sold reported. Bounded per run: one window of at most 24 h, a
 * bounded number of pages, orders and single reads; a run that stops early says why, and the next one
 * goes on from where the last complete run ended.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import {
  keys,
  ReconciliationItem,
  SCHEMA_VERSION,
  type ReconciliationReport,
} from '../../lib/contracts/cell-items';
import { METRC_MAX_FILTER_WINDOW_MS, type MetrcReceipt } from '../../lib/contracts/metrc';
import {
  reconcile,
  receiptsToConfirm,
  type Reconciliation,
} from '../../lib/domain/compliance/reconciliation';
import { activeReceipts } from '../shared/active-receipts';
import type { FacilitySession } from '../shared/facility-session';

import { cellOrderOf, type OrderRepairs } from './order-repairs';

export interface ReconciliationPolicy {
  /** How far the state system's clock may be from ours. */
  readonly skewMs: number;
  /** Receipts recorded this recently may still be on their way: judged next run. */
  readonly settleMs: number;
  /** How far back the first run of a tenant looks. */
  readonly firstLookbackMs: number;
  /** Unverified orders judged per run. */
  readonly maxOrders: number;
  /** Receipts read one by one (GET by id) per run. */
  readonly maxConfirmations: number;
  /** Pages of receipts per run. */
  readonly maxPages: number;
}

/** Cases kept in a report, per kind: the counts stay exact. */
const REPORT_CASES = 50;

export class StateReconciliation {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly repairs: OrderRepairs,
    private readonly policy: ReconciliationPolicy,
    private readonly logger: Logger,
  ) {}

  /**
   * Runs one reconciliation of `session`'s facility and stores its report: window after window (each at
   * most 24 h) until it is caught up with now, or a bound or the state system stops it.
   */
  async run(session: FacilitySession, now: number): Promise<ReconciliationReport> {
    const { tenantId } = session;
    const previous = await this.previous(tenantId);
    let through = previous?.reconciledThrough ?? now - this.policy.firstLookbackMs;
    let report: ReconciliationReport | undefined;
    let pages = 0;
    for (;;) {
      const run = await this.window(session, through, now, this.policy.maxPages - pages);
      pages += run.pages;
      report = report ? merged(report, run.report) : run.report;
      through = run.through;
      if (run.report.incomplete || run.caughtUp || pages >= this.policy.maxPages) break;
    }
    return this.store(tenantId, through, now, report);
  }

  /** One window from `through`: its report, and where the next window starts. */
  private async window(
    session: FacilitySession,
    through: number,
    now: number,
    maxPages: number,
  ): Promise<{ report: ReconciliationReport; through: number; pages: number; caughtUp: boolean }> {
    const { tenantId } = session;
    const { skewMs, settleMs } = this.policy;
    const oldest = await this.repairs.oldestUnverified(tenantId);
    const from = Math.min(through - skewMs, oldest !== undefined ? oldest - skewMs : Infinity);
    const end = Math.min(from + METRC_MAX_FILTER_WINDOW_MS, now + skewMs);
    const judgeTo = Math.min(end, now - settleMs) - skewMs;
    const caughtUp = end >= now + skewMs;

    const read = await activeReceipts(session, from, end, Math.max(1, maxPages));
    if (!read.complete) {
      const reason = `the state system's receipts could not all be read: ${read.reason}`;
      return {
        report: { ...emptyReport(now, from, end), incomplete: reason },
        through,
        pages: read.pages,
        caughtUp,
      };
    }
    const unverified = await this.repairs.unverified(tenantId, judgeTo, this.policy.maxOrders);
    const known = new Set(unverified.map((o) => o.id));
    const named = read.receipts
      .map((r) => r.ExternalReceiptNumber)
      .filter((n): n is string => !!n && !known.has(n));
    const orders = [...unverified, ...(await this.repairs.orders(tenantId, named))].map((o) =>
      cellOrderOf(o, now),
    );
    // Every unverified order up to judgeTo lies in [from, end]: from is before the oldest of them.
    const input = { orders, receipts: read.receipts, judgeFrom: -Infinity, judgeTo };
    const toConfirm = receiptsToConfirm(input);
    const confirmed = await this.confirm(session, toConfirm.slice(0, this.policy.maxConfirmations));
    // Orders whose receipt could not be read this run are judged next run, not called missing now.
    const unread = new Set(toConfirm.filter((id) => !confirmed.has(id)));
    const judged = orders.filter((o) => !unread.has(Number(o.complianceId)));
    const diff = reconcile({ ...input, orders: judged, confirmed });
    const voided = await this.apply(session, diff, orders, now);
    const report = reportOf(diff, voided, { now, from, end, receipts: read.receipts, orders: orders.length });
    if (unread.size > 0 || unverified.length >= this.policy.maxOrders) {
      // A bounded run that left work goes on from the same place.
      return {
        report: { ...report, incomplete: 'more to judge than one run takes' },
        through,
        pages: read.pages + confirmed.size,
        caughtUp,
      };
    }
    return { report, through: Math.max(through, judgeTo), pages: read.pages + confirmed.size, caughtUp };
  }

  /** Receipts by id: null for none (401: not this facility's) or voided; absent when the read failed. */
  private async confirm(
    session: FacilitySession,
    ids: readonly number[],
  ): Promise<Map<number, MetrcReceipt | null>> {
    const out = new Map<number, MetrcReceipt | null>();
    for (const id of ids) {
      const answer = await session.call('reads', (c) => c.receipt(id));
      if (answer.value) out.set(id, answer.value.ArchivedDate ? null : answer.value);
      else if (answer.end.kind === 'answer' && answer.end.status === 401) out.set(id, null);
      else break;
    }
    return out;
  }

  /** Applies the diff; answers with the receipts actually voided. */
  private async apply(
    session: FacilitySession,
    diff: Reconciliation,
    orders: readonly ReturnType<typeof cellOrderOf>[],
    now: number,
  ): Promise<{ orderId: string; kept: number; voided: number[] }[]> {
    const { tenantId } = session;
    const byId = new Map(orders.map((o) => [o.id, o]));
    const mismatchOf = new Map(diff.mismatches.map((m) => [m.orderId, m]));
    for (const { orderId, receiptId } of diff.repaired) {
      await this.repairs.repaired(tenantId, orderId, receiptId, now, mismatchOf.get(orderId));
    }
    const repaired = new Set(diff.repaired.map((r) => r.orderId));
    for (const { orderId, receiptId } of diff.relinked) {
      await this.repairs.relinked(tenantId, orderId, byId.get(orderId)?.complianceId, receiptId);
    }
    for (const { orderId } of diff.matched) {
      const order = byId.get(orderId);
      if (order && !repaired.has(orderId) && (order.unverified || order.syncStatus === 'DISCREPANCY')) {
        await this.repairs.verified(tenantId, orderId, order.syncStatus);
      }
    }
    for (const m of diff.mismatches) {
      if (!repaired.has(m.orderId) && byId.get(m.orderId)?.syncStatus === 'SYNCED') {
        await this.repairs.discrepancy(tenantId, m.orderId, m, now);
      }
    }
    for (const orderId of diff.missing) {
      const order = byId.get(orderId);
      if (order?.complianceId) await this.repairs.missing(tenantId, orderId, order.complianceId, now);
    }
    const voided: { orderId: string; kept: number; voided: number[] }[] = [];
    for (const d of diff.duplicates) {
      const done: number[] = [];
      for (const id of d.void) {
        const answer = await session.call('writes', (c) => c.void(id));
        if (answer.verdict.committed === 'yes') done.push(id);
        else
          this.logger.warn('could not void a duplicate receipt', {
            tenantId,
            receiptId: id,
            answer: answer.description,
          });
      }
      voided.push({ orderId: d.orderId, kept: d.keep, voided: done });
    }
    return voided;
  }

  private async previous(tenantId: string) {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keys.reconciliation(tenantId), ConsistentRead: true }),
    );
    const parsed = ReconciliationItem.safeParse(Item);
    return parsed.success ? parsed.data : undefined;
  }

  private async store(
    tenantId: string,
    reconciledThrough: number,
    now: number,
    report: ReconciliationReport,
  ): Promise<ReconciliationReport> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...keys.reconciliation(tenantId),
          type: 'reconciliation',
          schemaVersion: SCHEMA_VERSION,
          reconciledThrough,
          report,
        },
      }),
    );
    if (!report.incomplete) {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.integration(tenantId),
          UpdateExpression: 'SET lastReconciledAt = :now, schemaVersion = if_not_exists(schemaVersion, :v)',
          ExpressionAttributeValues: { ':now': now, ':v': SCHEMA_VERSION },
        }),
      );
    }
    return report;
  }
}

function emptyReport(now: number, from: number, end: number): ReconciliationReport {
  return {
    at: new Date(now).toISOString(),
    window: { from: new Date(from).toISOString(), to: new Date(end).toISOString() },
    receiptsSeen: 0,
    ordersChecked: 0,
    counts: { matched: 0, missing: 0, duplicates: 0, mismatched: 0, unknown: 0, repaired: 0 },
    missing: [],
    duplicates: [],
    mismatches: [],
    unknown: [],
    repaired: [],
  };
}

type CountName = 'matched' | 'missing' | 'duplicates' | 'mismatched' | 'unknown' | 'repaired';

/** Two windows' reports as one: the later window, the counts and cases of both. */
function merged(a: ReconciliationReport, b: ReconciliationReport): ReconciliationReport {
  const sum = (k: CountName) => a.counts[k] + b.counts[k];
  const cases = <T>(x: readonly T[], y: readonly T[]) => [...x, ...y].slice(0, REPORT_CASES);
  return {
    ...b,
    window: { from: a.window.from, to: b.window.to },
    receiptsSeen: a.receiptsSeen + b.receiptsSeen,
    ordersChecked: a.ordersChecked + b.ordersChecked,
    counts: {
      matched: sum('matched'),
      missing: sum('missing'),
      duplicates: sum('duplicates'),
      mismatched: sum('mismatched'),
      unknown: sum('unknown'),
      repaired: sum('repaired'),
    },
    missing: cases(a.missing, b.missing),
    duplicates: cases(a.duplicates, b.duplicates),
    mismatches: cases(a.mismatches, b.mismatches),
    unknown: cases(a.unknown, b.unknown),
    repaired: cases(a.repaired, b.repaired),
  };
}

function reportOf(
  diff: Reconciliation,
  voided: { orderId: string; kept: number; voided: number[] }[],
  run: { now: number; from: number; end: number; receipts: readonly MetrcReceipt[]; orders: number },
): ReconciliationReport {
  const cases = <T>(list: readonly T[]) => list.slice(0, REPORT_CASES);
  return {
    ...emptyReport(run.now, run.from, run.end),
    receiptsSeen: run.receipts.length,
    ordersChecked: run.orders,
    counts: {
      matched: diff.matched.length,
      missing: diff.missing.length,
      duplicates: voided.reduce((n, d) => n + d.voided.length, 0),
      mismatched: diff.mismatches.length,
      unknown: diff.unknown.length,
      repaired: diff.repaired.length,
    },
    missing: cases(diff.missing),
    duplicates: cases(voided),
    mismatches: cases(diff.mismatches.map((m) => ({ ...m, differences: [...m.differences] }))),
    unknown: cases(diff.unknown),
    repaired: cases(diff.repaired),
  };
}
