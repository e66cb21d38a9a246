/**
 * What the state system holds: every receipt ever recorded, per facility, with Metrc's fields. Nothing
 * is deduplicated: a receipt posted twice is there twice, as on the real API.
 */
import type { MetrcReceipt, MetrcReceiptInput } from '../../contracts/metrc';

/** A stored receipt: Metrc's shape, plus the facility and its last-modified time as a number. */
export interface StoredReceipt extends MetrcReceipt {
  readonly licenseNumber: string;
  readonly lastModifiedMs: number;
}

const cents = (amount: number) => Math.round(amount * 100);

export class ReceiptStore {
  private receipts: StoredReceipt[] = [];
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  /** Records `inputs` for `licenseNumber` as new receipts; returns their ids in the order given. */
  record(licenseNumber: string, inputs: readonly MetrcReceiptInput[], user: string): number[] {
    const at = this.now();
    const stamp = new Date(at).toISOString().replace('Z', '+00:00');
    return inputs.map((input) => {
      const receipt: StoredReceipt = {
        ...this.fields(input),
        Id: this.nextId++,
        ReceiptNumber: null,
        IsFinal: false,
        ArchivedDate: null,
        RecordedDateTime: stamp,
        RecordedByUserName: user,
        LastModified: stamp,
        licenseNumber,
        lastModifiedMs: at,
      };
      this.receipts.push(receipt);
      return receipt.Id;
    });
  }

  private fields(input: MetrcReceiptInput) {
    const Transactions = input.Transactions.map((t) => ({ ...t }));
    return {
      ExternalReceiptNumber: input.ExternalReceiptNumber ?? null,
      SalesDateTime: input.SalesDateTime,
      SalesCustomerType: input.SalesCustomerType,
      PatientLicenseNumber: input.PatientLicenseNumber ?? null,
      Transactions,
      TotalPackages: Transactions.length,
      TotalPrice: Transactions.reduce((sum, t) => sum + cents(t.TotalAmount), 0) / 100,
    };
  }

  /** The receipt, if it belongs to `licenseNumber` (voided ones too). */
  get(licenseNumber: string, id: number): StoredReceipt | undefined {
    return this.receipts.find((r) => r.Id === id && r.licenseNumber === licenseNumber);
  }

  /** Replaces a receipt's content (Metrc's PUT): false when it is not this facility's, or voided. */
  update(licenseNumber: string, id: number, input: MetrcReceiptInput): boolean {
    const index = this.receipts.findIndex((r) => r.Id === id && r.licenseNumber === licenseNumber);
    const current = this.receipts[index];
    if (!current || current.ArchivedDate) return false;
    this.receipts[index] = { ...current, ...this.fields(input), ...this.modified() };
    return true;
  }

  /** Voids a receipt (Metrc's DELETE, idempotent): false when it is not this facility's. */
  void(licenseNumber: string, id: number): boolean {
    const index = this.receipts.findIndex((r) => r.Id === id && r.licenseNumber === licenseNumber);
    const current = this.receipts[index];
    if (!current) return false;
    if (!current.ArchivedDate) {
      const modified = this.modified();
      this.receipts[index] = { ...current, ...modified, ArchivedDate: modified.LastModified };
    }
    return true;
  }

  private modified() {
    const at = this.now();
    return { LastModified: new Date(at).toISOString().replace('Z', '+00:00'), lastModifiedMs: at };
  }

  /** Active (not voided) or inactive receipts of a facility last modified in `[start, end]`, by id. */
  list(licenseNumber: string, active: boolean, start: number, end: number): StoredReceipt[] {
    return this.receipts.filter(
      (r) =>
        r.licenseNumber === licenseNumber &&
        !r.ArchivedDate === active &&
        r.lastModifiedMs >= start &&
        r.lastModifiedMs <= end,
    );
  }

  /** Every receipt of a facility (or of all), in the order recorded: copies. */
  all(licenseNumber?: string): StoredReceipt[] {
    return structuredClone(
      licenseNumber === undefined
        ? this.receipts
        : this.receipts.filter((r) => r.licenseNumber === licenseNumber),
    );
  }

  clear(): void {
    this.receipts = [];
  }
}

/** Metrc's shape of a stored receipt, for an answer (without the simulator's own fields). */
export function wire(receipt: StoredReceipt): MetrcReceipt {
  const metrc: Record<string, unknown> = { ...receipt };
  delete metrc.licenseNumber;
  delete metrc.lastModifiedMs;
  return metrc as MetrcReceipt;
}
