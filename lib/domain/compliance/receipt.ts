/**
 * An order as a Metrc sales receipt, and the content two sides of a reconciliation compare. The order id
 * is the receipt's external number: the one key both the cell and the state system hold.
 */
import type { MetrcReceiptInput } from '../../contracts/metrc';

export interface SaleLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

/** What the cell knows of a sale. */
export interface Sale {
  readonly id: string;
  readonly items: readonly SaleLine[];
  readonly totalCents: number;
  /** ISO timestamp (UTC). */
  readonly createdAt: string;
}

export interface ReceiptOptions {
  /** The facility's IANA time zone: `SalesDateTime` is its wall-clock time, without an offset. */
  readonly timeZone: string;
  /** @default 'Each' (the cell's stock is counted in units) */
  readonly unitOfMeasure?: string;
  /** @default 'Consumer' */
  readonly customerType?: string;
}

/** Throws a RangeError naming the zone when it is not an IANA time zone this runtime knows. */
export function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new RangeError(`unknown time zone '${timeZone}' (an IANA name such as America/Los_Angeles)`);
  }
}

/** `iso` as the facility's wall-clock time, e.g. `2024-04-20T09:20:00.000` in America/Los_Angeles. */
export function facilityDateTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: '${iso}'`);
  checkTimeZone(timeZone);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  );
  const ms = String(date.getUTCMilliseconds()).padStart(3, '0');
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}.${ms}`;
}

const dollars = (cents: number): number => cents / 100;
const cents = (amount: number): number => Math.round(amount * 100);

/** The POST body element for one sale. */
export function receiptOf(sale: Sale, options: ReceiptOptions): MetrcReceiptInput {
  return {
    ExternalReceiptNumber: sale.id,
    SalesDateTime: facilityDateTime(sale.createdAt, options.timeZone),
    SalesCustomerType: options.customerType ?? 'Consumer',
    Transactions: sale.items.map((line) => ({
      PackageLabel: line.sku,
      Quantity: line.quantity,
      UnitOfMeasure: options.unitOfMeasure ?? 'Each',
      TotalAmount: dollars(line.quantity * line.unitPriceCents),
    })),
  };
}

/** What is compared: the total and the lines (label, quantity, amount), in cents. */
export interface ReceiptContent {
  readonly totalCents: number;
  readonly lines: readonly {
    readonly label: string;
    readonly quantity: number;
    readonly amountCents: number;
  }[];
}

const sorted = (lines: ReceiptContent['lines']) =>
  [...lines].sort(
    (a, b) => a.label.localeCompare(b.label) || a.quantity - b.quantity || a.amountCents - b.amountCents,
  );

export function contentOfSale(sale: Pick<Sale, 'items' | 'totalCents'>): ReceiptContent {
  return {
    totalCents: sale.totalCents,
    lines: sorted(
      sale.items.map((l) => ({
        label: l.sku,
        quantity: l.quantity,
        amountCents: l.quantity * l.unitPriceCents,
      })),
    ),
  };
}

export function contentOfReceipt(receipt: {
  readonly TotalPrice: number;
  readonly Transactions: readonly { PackageLabel: string; Quantity: number; TotalAmount: number }[];
}): ReceiptContent {
  return {
    totalCents: cents(receipt.TotalPrice),
    lines: sorted(
      receipt.Transactions.map((t) => ({
        label: t.PackageLabel,
        quantity: t.Quantity,
        amountCents: cents(t.TotalAmount),
      })),
    ),
  };
}

/** How the state system's copy differs from the cell's, in words; empty when they agree. */
export function differences(cell: ReceiptContent, state: ReceiptContent): string[] {
  const out: string[] = [];
  if (cell.totalCents !== state.totalCents) {
    out.push(`total: the cell has ${cell.totalCents} cents, the state system ${state.totalCents}`);
  }
  const line = (l: ReceiptContent['lines'][number]) => `${l.label} x${l.quantity} = ${l.amountCents}`;
  const a = cell.lines.map(line);
  const b = state.lines.map(line);
  if (a.length !== b.length || a.some((l, i) => l !== b[i])) {
    out.push(`lines: the cell has [${a.join(', ')}], the state system [${b.join(', ')}]`);
  }
  return out;
}
