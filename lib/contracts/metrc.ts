/**
 * Metrc's sales-receipts API (v2), the part Bulkhead speaks: the wire shapes the sync worker sends and
 * reads, and the local simulator serves. Facts and their sources are in /work/notes/metrc.md; where
 * a limit comes only from a third party it says so here, and stays configurable where it is used.
 */
import { z } from 'zod';

export const METRC_RECEIPTS_PATH = '/sales/v2/receipts';
export const METRC_ACTIVE_RECEIPTS_PATH = '/sales/v2/receipts/active';
export const METRC_INACTIVE_RECEIPTS_PATH = '/sales/v2/receipts/inactive';

/** "specifying a value that does not exceed 20" (GetActiveReceipts, official). */
export const METRC_MAX_PAGE_SIZE = 20;
/** Objects per POST/PUT body; larger bodies get 413 (third-party: thcompliance.com). */
export const METRC_MAX_OBJECTS_PER_REQUEST = 10;
/** The longest lastModifiedStart..End range (third-party: pymetrc, "24-hour periods"). */
export const METRC_MAX_FILTER_WINDOW_MS = 24 * 3600 * 1000;

/**
 * `SalesDateTime`: the facility's wall-clock time, no offset ("must already be in the same time zone as
 * the Facility ... and not in UTC", CreateReceipts, official). Example `2016-10-04T16:44:53.000`.
 */
export const METRC_LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$/;

export const MetrcTransaction = z.looseObject({
  PackageLabel: z.string().min(1),
  Quantity: z.number().positive(),
  UnitOfMeasure: z.string().min(1),
  TotalAmount: z.number().nonnegative(),
});
export type MetrcTransaction = z.infer<typeof MetrcTransaction>;

/** One element of the POST body's array. */
export const MetrcReceiptInput = z.looseObject({
  SalesDateTime: z.string().regex(METRC_LOCAL_DATE_TIME, 'local date and time without an offset'),
  SalesCustomerType: z.string().min(1),
  ExternalReceiptNumber: z.string().min(1).optional(),
  PatientLicenseNumber: z.string().nullable().optional(),
  Transactions: z.array(MetrcTransaction).min(1),
});
export type MetrcReceiptInput = z.infer<typeof MetrcReceiptInput>;

/** A receipt as GET returns it (by id, and each element of a page's `Data`). */
export const MetrcReceipt = z.looseObject({
  Id: z.number().int(),
  ReceiptNumber: z.string().nullable().optional(),
  ExternalReceiptNumber: z.string().nullable().optional(),
  SalesDateTime: z.string(),
  SalesCustomerType: z.string(),
  TotalPackages: z.number(),
  TotalPrice: z.number(),
  Transactions: z.array(MetrcTransaction),
  IsFinal: z.boolean(),
  ArchivedDate: z.string().nullable(),
  /** Server time, with an offset. */
  RecordedDateTime: z.string(),
  /** Server time, with an offset: what the lastModified filter compares. */
  LastModified: z.string(),
});
export type MetrcReceipt = z.infer<typeof MetrcReceipt>;

/** The v2 list envelope: both `Page`/`CurrentPage` and `Total`/`TotalRecords` are there. */
export const MetrcPage = z.looseObject({
  Data: z.array(MetrcReceipt),
  Total: z.number().int(),
  TotalRecords: z.number().int(),
  PageSize: z.number().int(),
  RecordsOnPage: z.number().int(),
  Page: z.number().int(),
  CurrentPage: z.number().int(),
  TotalPages: z.number().int(),
});
export type MetrcPage = z.infer<typeof MetrcPage>;

/** POST v2's answer: the new receipts' ids, in the order they were posted (implied, not documented). */
export const MetrcIds = z.looseObject({ Ids: z.array(z.number().int()), Warnings: z.unknown().optional() });

/** The customer types of `GET /sales/v2/customertypes` (2026 docs; they vary by state). */
export const METRC_CUSTOMER_TYPES = [
  'Consumer',
  'Patient',
  'Caregiver',
  'ExternalPatient',
  'NonResidentConsumer',
] as const;

/** The units of the `GET /unitsofmeasure/v2/active` example (a doc example, not exhaustive). */
export const METRC_UNITS = ['Each', 'Ounces', 'Pounds', 'Grams', 'Milligrams', 'Kilograms'] as const;

/** HTTP Basic as Metrc's Postman collection has it: the vendor key is the user name, the user key the password. */
export function metrcAuthorization(vendorKey: string, userKey: string): string {
  return `Basic ${Buffer.from(`${vendorKey}:${userKey}`, 'utf8').toString('base64')}`;
}
