import {
  reconcile,
  receiptsToConfirm,
  type CellOrder,
  type StateReceipt,
} from '../../../../lib/domain/compliance/reconciliation';

const line = { sku: 'PRE-ROLL-1G', quantity: 2, unitPriceCents: 1200 };
const order = (id: string, extra: Partial<CellOrder> = {}): CellOrder => ({
  id,
  syncStatus: 'SYNCED',
  items: [line],
  totalCents: 2400,
  unverified: true,
  recordedAt: 1000,
  ...extra,
});
const receipt = (Id: number, external: string | null, extra: Partial<StateReceipt> = {}): StateReceipt => ({
  Id,
  ExternalReceiptNumber: external,
  TotalPrice: 24,
  Transactions: [{ PackageLabel: 'PRE-ROLL-1G', Quantity: 2, TotalAmount: 24 }],
  ArchivedDate: null,
  ...extra,
});
const window = { judgeFrom: 0, judgeTo: 5000 };

describe('reconciliation diff', () => {
  it('matches an order whose receipt is there and agrees', () => {
    const out = reconcile({
      orders: [order('o-1', { complianceId: '1' })],
      receipts: [receipt(1, 'o-1')],
      ...window,
    });
    expect(out.matched).toEqual([{ orderId: 'o-1', receiptId: 1 }]);
    expect([out.missing, out.duplicates, out.mismatches, out.unknown].flat()).toEqual([]);
  });

  it('finds a synced order missing in the state system once its own receipt is confirmed gone', () => {
    const input = { orders: [order('o-1', { complianceId: '5' })], receipts: [], ...window };
    expect(receiptsToConfirm(input)).toEqual([5]);
    expect(reconcile({ ...input, confirmed: new Map([[5, null]]) }).missing).toEqual(['o-1']);
    // Not yet confirmed: not judged.
    expect(reconcile(input).missing).toEqual([]);
  });

  it('does not judge an order recorded outside the window', () => {
    const input = {
      orders: [order('o-1', { complianceId: '5', recordedAt: 9000 })],
      receipts: [],
      ...window,
    };
    expect(receiptsToConfirm(input)).toEqual([]);
    expect(reconcile({ ...input, confirmed: new Map([[5, null]]) }).missing).toEqual([]);
  });

  it('keeps the receipt the order recorded and voids the other receipts with its external number', () => {
    const out = reconcile({
      orders: [order('o-1', { complianceId: '4' })],
      receipts: [receipt(3, 'o-1'), receipt(4, 'o-1'), receipt(6, 'o-1')],
      ...window,
    });
    expect(out.duplicates).toEqual([{ orderId: 'o-1', keep: 4, void: [3, 6] }]);
    expect(out.matched).toEqual([{ orderId: 'o-1', receiptId: 4 }]);
  });

  it("voids every copy in the window when the order's own receipt is active outside it", () => {
    const out = reconcile({
      orders: [order('o-1', { complianceId: '2' })],
      receipts: [receipt(8, 'o-1')],
      confirmed: new Map([[2, receipt(2, 'o-1')]]),
      ...window,
    });
    expect(out.duplicates).toEqual([{ orderId: 'o-1', keep: 2, void: [8] }]);
  });

  it('ignores voided receipts: one active copy left is no duplicate', () => {
    const out = reconcile({
      orders: [order('o-1', { complianceId: '4' })],
      receipts: [receipt(3, 'o-1', { ArchivedDate: '2026-01-01T00:00:00+00:00' }), receipt(4, 'o-1')],
      ...window,
    });
    expect(out.duplicates).toEqual([]);
    expect(out.matched).toHaveLength(1);
  });

  it('flags a receipt whose total or lines differ, with both sides', () => {
    const out = reconcile({
      orders: [order('o-1', { complianceId: '1' })],
      receipts: [
        receipt(1, 'o-1', {
          TotalPrice: 30,
          Transactions: [{ PackageLabel: 'PRE-ROLL-1G', Quantity: 2, TotalAmount: 30 }],
        }),
      ],
      ...window,
    });
    expect(out.matched).toEqual([]);
    expect(out.mismatches).toEqual([
      expect.objectContaining({
        orderId: 'o-1',
        receiptId: 1,
        cell: expect.objectContaining({ totalCents: 2400 }),
        state: expect.objectContaining({ totalCents: 3000 }),
        differences: [expect.stringMatching(/^total/), expect.stringMatching(/^lines/)],
      }),
    ]);
  });

  it('reports receipts the cell never sold, or holds as not reportable, without touching them', () => {
    const out = reconcile({
      orders: [order('o-9', { syncStatus: 'REJECTED', unverified: false })],
      receipts: [receipt(1, 'stranger'), receipt(2, null), receipt(3, 'o-9')],
      ...window,
    });
    expect(out.unknown.map((u) => [u.receiptId, u.reason])).toEqual([
      [1, 'no such order in the cell'],
      [3, 'the cell holds the order as REJECTED'],
      [2, 'no external receipt number'],
    ]);
    expect([out.duplicates, out.missing].flat()).toEqual([]);
  });

  it('repairs a pending order whose answer was lost: synced with the receipt the state system has', () => {
    const out = reconcile({
      orders: [order('o-1', { syncStatus: 'PENDING', unverified: false, recordedAt: undefined })],
      receipts: [receipt(7, 'o-1')],
      ...window,
    });
    expect(out.repaired).toEqual([{ orderId: 'o-1', receiptId: 7 }]);
  });

  it('leaves a pending order a worker holds alone: its call may be in flight', () => {
    const out = reconcile({
      orders: [order('o-1', { syncStatus: 'PENDING', claimed: true })],
      receipts: [receipt(7, 'o-1'), receipt(8, 'o-1')],
      ...window,
    });
    expect([out.repaired, out.duplicates, out.matched].flat()).toEqual([]);
  });

  it('relinks a synced order whose receipt was voided to the active one with its number', () => {
    const out = reconcile({
      orders: [order('o-1', { complianceId: '2' })],
      receipts: [receipt(9, 'o-1')],
      confirmed: new Map([[2, null]]),
      ...window,
    });
    expect(out.relinked).toEqual([{ orderId: 'o-1', receiptId: 9 }]);
    expect(out.missing).toEqual([]);
  });
});
