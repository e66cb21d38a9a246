/**
 * The cell table's items and the sync message, as zod schemas. Readers accept the current schema
 * version and the next one and keep unknown attributes out of their way, so a rolled-back version
 * still reads what a newer one wrote.
 */
import { z } from 'zod';

import { CELL_TABLE_KEYS } from './table-schema';

export const SCHEMA_VERSION = 1;
/** Readers accept items up to this version (one ahead of what they write). */
export const MAX_READABLE_SCHEMA_VERSION = SCHEMA_VERSION + 1;

const schemaVersion = z.number().int().min(1).max(MAX_READABLE_SCHEMA_VERSION);

export const K = CELL_TABLE_KEYS;

/**
 * PENDING until the state system holds the sale: SYNCED; REJECTED when it refused it as invalid;
 * NOT_REQUIRED for a tenant without an integration; DISCREPANCY when a reconciliation found the state
 * system's receipt saying something else than the order (both sides are kept on the order).
 */
export const SYNC_STATUSES = ['PENDING', 'SYNCED', 'REJECTED', 'NOT_REQUIRED', 'DISCREPANCY'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export const keys = {
  inventory: (tenantId: string, sku: string) => ({ pk: tenantId, sk: `INV#${sku}` }),
  order: (tenantId: string, orderId: string) => ({ pk: tenantId, sk: `ORDER#${orderId}` }),
  idempotency: (tenantId: string, key: string) => ({ pk: tenantId, sk: `IDEMP#${key}` }),
  integration: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#SETTINGS' }),
  breaker: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#BREAKER' }),
  /** The write (POST, DELETE) token bucket. */
  bucket: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#BUCKET' }),
  /** The read (GET) token bucket: lookups and reconciliations. */
  readBucket: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#READBUCKET' }),
  /** The latest reconciliation report and where the next one starts. */
  reconciliation: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#RECONCILIATION' }),
  /** The tenant's key hash, the cell's own copy (see {@link TenantItem}). */
  tenant: (tenantId: string) => ({ pk: tenantId, sk: 'TENANT' }),
  statusPk: (tenantId: string, status: SyncStatus) => `${tenantId}#${status}`,
};

export const InventoryItem = z.looseObject({
  schemaVersion,
  sku: z.string(),
  quantity: z.number().int(),
  name: z.string().optional(),
  priceCents: z.number().int().optional(),
  updatedAt: z.string(),
});
export type InventoryItem = z.infer<typeof InventoryItem>;

export const OrderLine = z.looseObject({
  sku: z.string(),
  quantity: z.number().int(),
  unitPriceCents: z.number().int(),
});

export const OrderItem = z.looseObject({
  schemaVersion,
  id: z.string(),
  items: z.array(OrderLine),
  totalCents: z.number().int(),
  customerId: z.string().optional(),
  syncStatus: z.string(),
  createdAt: z.string(),
  syncedAt: z.string().optional(),
  rejectReason: z.string().optional(),
  /** The state system's receipt id. */
  complianceId: z.string().optional(),
  /** Epoch ms of the attempt whose outcome is not known: look the receipt up before posting again. */
  attemptedAt: z.number().optional(),
  /** The attempt holding the order (a worker's batch), until `claimUntil` (epoch ms). */
  attemptId: z.string().optional(),
  claimUntil: z.number().optional(),
  /** When the state system was asked to record it (ISO); with `unverifiedTenant` until a reconciliation saw it. */
  recordedAt: z.string().optional(),
  /** Both sides, when the state system's receipt differs from the order (DISCREPANCY). */
  discrepancy: z.looseObject({}).optional(),
});
export type OrderItem = z.infer<typeof OrderItem>;

export const IntegrationSettingsItem = z.looseObject({
  enabled: z.boolean().default(true),
  lastSuccessAt: z.number().optional(),
  lastError: z.string().optional(),
  lastErrorAt: z.number().optional(),
  /** Epoch ms of the last finished reconciliation against the state system. */
  lastReconciledAt: z.number().optional(),
  /** A drain under way: where its next chunk starts, and when it last moved (epoch ms). */
  drainCursor: z.string().optional(),
  drainUpdatedAt: z.number().optional(),
});

const Counts = z.looseObject({
  matched: z.number().int(),
  missing: z.number().int(),
  duplicates: z.number().int(),
  mismatched: z.number().int(),
  unknown: z.number().int(),
  repaired: z.number().int(),
});

/** A reconciliation's report (`GET /integration/reconciliation`): counts, and the cases (each list bounded). */
export const ReconciliationReport = z.looseObject({
  at: z.string(),
  window: z.looseObject({ from: z.string(), to: z.string() }),
  receiptsSeen: z.number().int(),
  ordersChecked: z.number().int(),
  counts: Counts,
  missing: z.array(z.string()),
  duplicates: z.array(z.looseObject({ orderId: z.string(), kept: z.number(), voided: z.array(z.number()) })),
  mismatches: z.array(
    z.looseObject({ orderId: z.string(), receiptId: z.number(), differences: z.array(z.string()) }),
  ),
  unknown: z.array(z.looseObject({ receiptId: z.number(), reason: z.string() })),
  repaired: z.array(z.looseObject({ orderId: z.string(), receiptId: z.number() })),
  /** Set when the run stopped before the window's end (a bound, or the API): the next run goes on from there. */
  incomplete: z.string().optional(),
});
export type ReconciliationReport = z.infer<typeof ReconciliationReport>;

export const ReconciliationItem = z.looseObject({
  schemaVersion,
  /** Epoch ms up to which the state system's receipts have been compared. */
  reconciledThrough: z.number(),
  report: ReconciliationReport,
});

/**
 * The cell's copy of the tenant's API key hash (the routing store holds the other), written when the
 * tenant is placed or seeded and moved with the rest of its items. A router that cannot reach the
 * routing store forwards the hash of the presented key; the cell serves only if it equals this one.
 * `frozen` is set on the source while the tenant is being moved: such a request may then only read.
 * `movedTo` is set on the source once the route points at the target, and the item is kept after the
 * move's clean-up: the cell then answers every request of the tenant "moved" (421), and the router
 * re-resolves the route instead of waiting for its cache to expire.
 */
export const TenantItem = z.looseObject({
  schemaVersion,
  keyHash: z.string(),
  frozen: z.boolean().optional(),
  movedTo: z.string().optional(),
});
export type TenantItem = z.infer<typeof TenantItem>;

/** A tenant's `TENANT` item as written (document form): what `tenants place`/`seed` and a local start put. */
export function tenantKeyItem(tenantId: string, keyHash: string, updatedAt: Date = new Date()) {
  const { pk, sk } = keys.tenant(tenantId);
  return {
    [K.partitionKey]: pk,
    [K.sortKey]: sk,
    keyHash,
    schemaVersion: SCHEMA_VERSION,
    updatedAt: updatedAt.toISOString(),
  };
}

/**
 * What the API enqueues and the reconciler re-enqueues: just enough to find the order. The last message
 * of a drain chunk also carries `drain`, where the next chunk starts (a version that ignores it only
 * syncs the order; the reconciler picks up the rest).
 */
export const SyncMessage = z.looseObject({
  schemaVersion,
  tenantId: z.string(),
  orderId: z.string(),
  drain: z.string().optional(),
  /**
   * The message that carries the breaker's probe for its tenant. Should its order be settled by the time
   * it arrives, the worker hands the probe on to the tenant's oldest pending order, so that no backlog
   * waits for the reconciler just because the probe's carrier was synced some other way.
   */
  probe: z.literal(true).optional(),
});
export type SyncMessage = z.infer<typeof SyncMessage>;

/** The public shape of an order (no table keys). */
export function orderView(o: OrderItem) {
  return {
    id: o.id,
    items: o.items.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: l.unitPriceCents })),
    totalCents: o.totalCents,
    ...(o.customerId !== undefined && { customerId: o.customerId }),
    syncStatus: o.syncStatus,
    createdAt: o.createdAt,
    ...(o.syncedAt !== undefined && { syncedAt: o.syncedAt }),
    ...(o.rejectReason !== undefined && { rejectReason: o.rejectReason }),
    ...(o.complianceId !== undefined && { complianceId: o.complianceId }),
    ...(o.discrepancy !== undefined && { discrepancy: o.discrepancy }),
  };
}

export function inventoryView(i: InventoryItem) {
  return {
    sku: i.sku,
    quantity: i.quantity,
    ...(i.name !== undefined && { name: i.name }),
    ...(i.priceCents !== undefined && { priceCents: i.priceCents }),
    updatedAt: i.updatedAt,
  };
}
