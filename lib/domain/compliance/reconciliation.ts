/**
 * Reconciliation against the state system's own records, as one pure diff. The cell's side: orders the
 * state system should hold (synced but not yet seen there: "unverified"), and every order a receipt in
 * the window names. The state's side: the active receipts last modified in the window, plus receipts
 * read one by one (GET by id) to confirm what the window did not show.
 */
import { contentOfReceipt, contentOfSale, differences, type ReceiptContent, type SaleLine } from './receipt';

export interface CellOrder {
  readonly id: string;
  /** PENDING, SYNCED, REJECTED, NOT_REQUIRED or DISCREPANCY. */
  readonly syncStatus: string;
  readonly items: readonly SaleLine[];
  readonly totalCents: number;
  /** The state system's receipt id, once synced. */
  readonly complianceId?: string;
  /** Synced, and not yet seen in the state system by a reconciliation. */
  readonly unverified?: boolean;
  /** Epoch ms at which the state system was asked to record it (the POST was sent, or the lookup found it). */
  readonly recordedAt?: number;
  /** A worker holds it: its call may be in flight. */
  readonly claimed?: boolean;
}

export interface StateReceipt {
  readonly Id: number;
  readonly ExternalReceiptNumber?: string | null;
  readonly TotalPrice: number;
  readonly Transactions: readonly { PackageLabel: string; Quantity: number; TotalAmount: number }[];
  /** Set once voided: a voided receipt is no longer in the state's records. */
  readonly ArchivedDate?: string | null;
}

export interface ReconcileInput {
  readonly orders: readonly CellOrder[];
  /** Active receipts last modified in the window (every page). */
  readonly receipts: readonly StateReceipt[];
  /** Receipts read by id: null when there is none, or it was voided. */
  readonly confirmed?: ReadonlyMap<number, StateReceipt | null>;
  /**
   * Unverified orders recorded in `[judgeFrom, judgeTo]` (epoch ms) are judged missing when the state
   * system does not have them; outside it the window may not have shown their receipt.
   */
  readonly judgeFrom: number;
  readonly judgeTo: number;
}

export interface Mismatch {
  readonly orderId: string;
  readonly receiptId: number;
  readonly cell: ReceiptContent;
  readonly state: ReceiptContent;
  readonly differences: readonly string[];
}

export interface Reconciliation {
  /** Orders whose receipt is there and agrees: verified. */
  readonly matched: readonly { readonly orderId: string; readonly receiptId: number }[];
  /** Synced orders the state system does not have: send them again. */
  readonly missing: readonly string[];
  /** The same external number on several active receipts: keep one, void the rest. */
  readonly duplicates: readonly {
    readonly orderId: string;
    readonly keep: number;
    readonly void: readonly number[];
  }[];
  /** Orders whose receipt says something else: DISCREPANCY, both sides kept. */
  readonly mismatches: readonly Mismatch[];
  /** Pending orders the state system already has (an answer was lost): synced with that receipt. */
  readonly repaired: readonly { readonly orderId: string; readonly receiptId: number }[];
  /** Synced orders whose receipt was voided while another with their number is active: adopt it. */
  readonly relinked: readonly { readonly orderId: string; readonly receiptId: number }[];
  /** Receipts the cell never sold (or holds as not reportable): reported, never touched. */
  readonly unknown: readonly {
    readonly receiptId: number;
    readonly externalNumber: string | null;
    readonly totalCents: number;
    readonly reason: string;
  }[];
}

const active = (r: StateReceipt | null | undefined): r is StateReceipt => !!r && !r.ArchivedDate;
const byId = (a: StateReceipt, b: StateReceipt) => a.Id - b.Id;
const idOf = (order: CellOrder): number | undefined =>
  order.complianceId !== undefined && /^\d+$/.test(order.complianceId)
    ? Number(order.complianceId)
    : undefined;

function groupByNumber(receipts: readonly StateReceipt[]): Map<string, StateReceipt[]> {
  const groups = new Map<string, StateReceipt[]>();
  for (const r of receipts.filter(active)) {
    if (!r.ExternalReceiptNumber) continue;
    groups.set(r.ExternalReceiptNumber, [...(groups.get(r.ExternalReceiptNumber) ?? []), r]);
  }
  for (const group of groups.values()) group.sort(byId);
  return groups;
}

const judged = (o: CellOrder, input: ReconcileInput) =>
  o.unverified === true &&
  o.recordedAt !== undefined &&
  o.recordedAt >= input.judgeFrom &&
  o.recordedAt <= input.judgeTo;

/**
 * The receipts to read by id before {@link reconcile} can decide: the recorded receipt of every synced
 * order the window did not show it for (missing, or voided and replaced, or merely outside the window).
 */
export function receiptsToConfirm(input: Omit<ReconcileInput, 'confirmed'>): number[] {
  const groups = groupByNumber(input.receipts);
  const inWindow = new Set(input.receipts.filter(active).map((r) => r.Id));
  const ids = new Set<number>();
  for (const order of input.orders) {
    const id = idOf(order);
    if (id === undefined || inWindow.has(id) || order.syncStatus === 'PENDING') continue;
    if (groups.has(order.id) || judged(order, input)) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

export function reconcile(input: ReconcileInput): Reconciliation {
  const out = {
    matched: [] as { orderId: string; receiptId: number }[],
    missing: [] as string[],
    duplicates: [] as { orderId: string; keep: number; void: number[] }[],
    mismatches: [] as Mismatch[],
    repaired: [] as { orderId: string; receiptId: number }[],
    relinked: [] as { orderId: string; receiptId: number }[],
    unknown: [] as Reconciliation['unknown'][number][],
  };
  const groups = groupByNumber(input.receipts);
  const orders = new Map(input.orders.map((o) => [o.id, o]));
  const confirmedActive = (id: number | undefined) => id !== undefined && active(input.confirmed?.get(id));

  for (const [number, group] of groups) {
    const order = orders.get(number);
    if (!order || order.syncStatus === 'REJECTED' || order.syncStatus === 'NOT_REQUIRED') {
      const reason = order ? `the cell holds the order as ${order.syncStatus}` : 'no such order in the cell';
      for (const r of group) out.unknown.push(unknownOf(r, reason));
      continue;
    }
    if (order.syncStatus === 'PENDING' && order.claimed) continue;
    const recorded = idOf(order);
    const own = group.find((r) => r.Id === recorded);
    // The order's own receipt is active outside the window: everything here is an extra.
    const keep = own ?? (confirmedActive(recorded) ? undefined : group[0]);
    const extras = group.filter((r) => r !== keep).map((r) => r.Id);
    if (extras.length > 0)
      out.duplicates.push({ orderId: order.id, keep: keep?.Id ?? recorded!, void: extras });
    if (!keep) continue;
    if (order.syncStatus === 'PENDING') out.repaired.push({ orderId: order.id, receiptId: keep.Id });
    else if (keep.Id !== recorded) out.relinked.push({ orderId: order.id, receiptId: keep.Id });
    compare(order, keep, out);
  }
  // Receipts without an external number are the state system's own business: reported, never touched.
  for (const r of input.receipts.filter((x) => active(x) && !x.ExternalReceiptNumber)) {
    out.unknown.push(unknownOf(r, 'no external receipt number'));
  }

  for (const order of input.orders) {
    if (groups.has(order.id) || !judged(order, input)) continue;
    const recorded = idOf(order);
    const receipt = recorded === undefined ? undefined : input.confirmed?.get(recorded);
    if (active(receipt)) compare(order, receipt, out);
    else if (recorded === undefined || input.confirmed?.has(recorded)) out.missing.push(order.id);
  }
  return out;
}

function compare(
  order: CellOrder,
  receipt: StateReceipt,
  out: { matched: Reconciliation['matched'][number][]; mismatches: Mismatch[] },
): void {
  const cell = contentOfSale(order);
  const state = contentOfReceipt(receipt);
  const diff = differences(cell, state);
  if (diff.length === 0) out.matched.push({ orderId: order.id, receiptId: receipt.Id });
  else out.mismatches.push({ orderId: order.id, receiptId: receipt.Id, cell, state, differences: diff });
}

function unknownOf(r: StateReceipt, reason: string): Reconciliation['unknown'][number] {
  return {
    receiptId: r.Id,
    externalNumber: r.ExternalReceiptNumber ?? null,
    totalCents: contentOfReceipt(r).totalCents,
    reason,
  };
}
