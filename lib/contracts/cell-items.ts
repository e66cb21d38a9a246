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

export const SYNC_STATUSES = ['PENDING', 'SYNCED', 'REJECTED', 'NOT_REQUIRED'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export const keys = {
  inventory: (tenantId: string, sku: string) => ({ pk: tenantId, sk: `INV#${sku}` }),
  order: (tenantId: string, orderId: string) => ({ pk: tenantId, sk: `ORDER#${orderId}` }),
  idempotency: (tenantId: string, key: string) => ({ pk: tenantId, sk: `IDEMP#${key}` }),
  integration: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#SETTINGS' }),
  breaker: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#BREAKER' }),
  bucket: (tenantId: string) => ({ pk: tenantId, sk: 'INTEGRATION#BUCKET' }),
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
  complianceId: z.string().optional(),
});
export type OrderItem = z.infer<typeof OrderItem>;

export const IntegrationSettingsItem = z.looseObject({
  enabled: z.boolean().default(true),
  lastSuccessAt: z.number().optional(),
  lastError: z.string().optional(),
  lastErrorAt: z.number().optional(),
});

/**
 * The cell's copy of the tenant's API key hash (the routing store holds the other), written when the
 * tenant is placed or seeded and moved with the rest of its items. A router that cannot reach the
 * routing store forwards the hash of the presented key; the cell serves only if it equals this one.
 * `frozen` is set on the source while the tenant is being moved: such a request may then only read.
 */
export const TenantItem = z.looseObject({
  schemaVersion,
  keyHash: z.string(),
  frozen: z.boolean().optional(),
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

/** What the API enqueues and the reconciler re-enqueues: just enough to find the order. */
export const SyncMessage = z.looseObject({ schemaVersion, tenantId: z.string(), orderId: z.string() });
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
