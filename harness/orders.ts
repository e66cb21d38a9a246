import { keys } from '../lib/contracts/cell-items';

/**
 * An order item as the tenant API writes it: PENDING, in the byStatus index under
 * `<tenant>#PENDING` and in the sparse `pending` index.
 */
export function pendingOrder(
  tenantId: string,
  orderId: string,
  options: { createdAt?: string; pendingSince?: string; quantity?: number } = {},
) {
  const createdAt = options.createdAt ?? new Date().toISOString();
  const quantity = options.quantity ?? 2;
  return {
    ...keys.order(tenantId, orderId),
    type: 'order',
    schemaVersion: 1,
    id: orderId,
    items: [{ sku: 'PRE-ROLL-1G', quantity, unitPriceCents: 1200 }],
    totalCents: quantity * 1200,
    syncStatus: 'PENDING',
    createdAt,
    statusPk: keys.statusPk(tenantId, 'PENDING'),
    pendingTenant: tenantId,
    pendingSince: options.pendingSince ?? createdAt,
  };
}

/** The message the API sends after writing an order. */
export const syncMessage = (tenantId: string, orderId: string) =>
  JSON.stringify({ schemaVersion: 1, tenantId, orderId });
