/**
 * Key design of the cell table, shared by the CDK constructs and the handlers.
 *
 * Every item's partition key is the tenant id, so one Query returns all of a tenant's items (a
 * tenant move copies exactly that), and one tenant can never address another's data by key.
 */
export const CELL_TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** GSI listing a tenant's orders by sync status: pk `<tenantId>#<status>`, sk createdAt. */
  byStatusIndex: 'byStatus',
  byStatusPartitionKey: 'statusPk',
  byStatusSortKey: 'createdAt',
  /** Sparse GSI holding only orders waiting to sync: pk tenant id, sk the time it became pending. */
  pendingIndex: 'pending',
  pendingPartitionKey: 'pendingTenant',
  pendingSortKey: 'pendingSince',
  /**
   * Sparse GSI of synced orders that no reconciliation has yet seen in the state system: pk tenant id,
   * sk when the state system was asked to record the receipt (ISO). The reconciler judges these.
   */
  unverifiedIndex: 'unverified',
  unverifiedPartitionKey: 'unverifiedTenant',
  unverifiedSortKey: 'recordedAt',
  /** Epoch seconds after which DynamoDB may delete the item (idempotency records, breaker probes). */
  ttlAttribute: 'expiresAt',
} as const;

/** Routing store: one item per tenant. */
export const ROUTES_TABLE_KEYS = { partitionKey: 'tenantId' } as const;
/** Router limits: one item per tenant, its second's requests and its requests in flight (`lambdas/router/limiter.ts`). */
export const ROUTER_LIMITS_TABLE_KEYS = { partitionKey: 'counter' } as const;
/** Cell registry: one item per cell. */
export const REGISTRY_TABLE_KEYS = { partitionKey: 'cellId' } as const;
/**
 * Releases table: the shared release log (pk `LOG`, sk `<at>#<id>`, oldest first) and one lock item per
 * cell (pk `LOCK#<cellId>`, sk `LOCK`).
 */
export const RELEASES_TABLE_KEYS = { partitionKey: 'pk', sortKey: 'sk' } as const;
