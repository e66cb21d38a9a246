/**
 * Lookup before repost. An order whose last attempt ended with an unknown outcome carries the time of
 * that attempt; before it is posted again, the state system's receipts recorded since then are read
 * (GET active, by last-modified time) and searched for the order's external number. Found: the order is
 * synced with that receipt's id. Absent: the attempt recorded nothing, and posting again is safe.
 */
import { METRC_MAX_FILTER_WINDOW_MS } from '../../contracts/metrc';

/** The marks a pending order carries between attempts. */
export interface AttemptMarks {
  /** Epoch ms of the attempt whose outcome is not known. */
  readonly attemptedAt?: number;
  /** Epoch ms until which a worker holds the order: its call may be in flight. */
  readonly claimUntil?: number;
}

export interface LookupPolicy {
  /**
   * How long after an unknown attempt before a lookup may trust "absent": a server may still be
   * committing a request its client gave up on. At least the client's timeout.
   */
  readonly settleMs: number;
  /** How far the state system's clock may be from ours. */
  readonly skewMs: number;
}

export type NextStep =
  | { readonly kind: 'post' }
  /** Read the receipts modified from `since` until now, then decide. */
  | { readonly kind: 'lookup'; readonly since: number }
  /** Not now: another worker holds the order, or the unknown attempt may still be committing. */
  | { readonly kind: 'wait'; readonly untilMs: number; readonly why: 'claimed' | 'settling' };

export function nextStep(order: AttemptMarks, now: number, policy: LookupPolicy): NextStep {
  if (order.claimUntil !== undefined && order.claimUntil > now) {
    return { kind: 'wait', untilMs: order.claimUntil, why: 'claimed' };
  }
  if (order.attemptedAt === undefined) return { kind: 'post' };
  const settled = order.attemptedAt + policy.settleMs;
  if (now < settled) return { kind: 'wait', untilMs: settled, why: 'settling' };
  return { kind: 'lookup', since: order.attemptedAt - policy.skewMs };
}

export interface Window {
  readonly start: number;
  readonly end: number;
}

/**
 * `[since, until]` cut into the state system's longest filter window (24 h), oldest first. A receipt
 * edited after it was recorded has a later last-modified time, never an earlier one, so a window that
 * ends now also finds a receipt someone changed meanwhile.
 */
export function windows(since: number, until: number, maxMs: number = METRC_MAX_FILTER_WINDOW_MS): Window[] {
  const out: Window[] = [];
  for (let start = since; start < until; start += maxMs)
    out.push({ start, end: Math.min(until, start + maxMs) });
  return out.length > 0 ? out : [{ start: since, end: Math.max(since, until) }];
}

/** What a lookup needs of a receipt. */
export interface FoundReceipt {
  readonly Id: number;
  readonly ExternalReceiptNumber?: string | null;
}

export interface LookupResult<R extends FoundReceipt> {
  /** Order id → its receipt: the first one recorded, when there are several (the extras get voided). */
  readonly found: ReadonlyMap<string, R>;
  /** Orders with no receipt in the state system: safe to post again. */
  readonly absent: readonly string[];
}

/** Matches orders to the receipts a complete lookup read (every page of every window). */
export function matchReceipts<R extends FoundReceipt>(
  orderIds: readonly string[],
  receipts: readonly R[],
): LookupResult<R> {
  const first = new Map<string, R>();
  for (const receipt of receipts) {
    const number = receipt.ExternalReceiptNumber;
    if (!number) continue;
    const seen = first.get(number);
    if (!seen || receipt.Id < seen.Id) first.set(number, receipt);
  }
  const found = new Map<string, R>();
  const absent: string[] = [];
  for (const id of orderIds) {
    const receipt = first.get(id);
    if (receipt) found.set(id, receipt);
    else absent.push(id);
  }
  return { found, absent };
}
