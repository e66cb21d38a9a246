import { SYNC_STATUSES, type SyncStatus } from '../../lib/contracts/cell-items';
import { badRequest, HttpError } from '../shared/errors';
import type { Request } from '../shared/http';
import { jsonBody } from '../shared/http';
import {
  claimedTenantOf,
  keyNotVerified,
  MOVED_TO_HEADER,
  sameKeyHash,
  TENANT_HEADER,
} from '../shared/tenant';

import { limitFrom } from './cursor';
import type { IntegrationApi } from './integration';
import type { Route } from './routes';
import {
  CreateOrderBody,
  IdempotencyKey,
  parseWith,
  PutIntegrationBody,
  PutInventoryBody,
  skuFrom,
} from './schemas';
import type { CellStore } from './store';

export interface AppContext {
  readonly store: CellStore;
  readonly integration: IntegrationApi;
  readonly cellId: string;
  readonly release: string;
  readonly version: string;
}

const ORDER_ID = /^[a-z0-9]{1,64}$/;

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Seconds a client waits before retrying a write refused while its tenant is being moved. */
export const FROZEN_RETRY_AFTER_SECONDS = 5;

/**
 * The answer for a tenant that has left this cell (its `TENANT` item says where to): nothing was applied,
 * and the router re-resolves the route and sends the request once more (`lambdas/router/moved.ts`).
 */
export const tenantMoved = (to: string): HttpError =>
  new HttpError(
    421,
    'tenant_moved',
    { to, reason: 'the tenant has moved to another cell; the request was not applied here' },
    { [MOVED_TO_HEADER]: to },
  );

const frozen = (details?: string): HttpError =>
  new HttpError(503, 'tenant_frozen', details, {
    'retry-after': String(FROZEN_RETRY_AFTER_SECONDS),
  });

/**
 * A request from a router serving from its baked routes (the routing store is down and it has never
 * seen the tenant): it carries the hash of the key the client presented, and the tenant that key claims.
 * The hash must equal the cell's own copy (the tenant's `TENANT` item), compared in constant time;
 * otherwise — or when the cell has no such item — the answer is the same 401, whether or not the tenant
 * exists here. Once verified, the request goes on exactly like one the router authenticated. While the
 * tenant is being moved away (its item is marked frozen) it may only read.
 *
 * A request without the hash header is returned unchanged: the router authenticated it.
 */
export async function verifyPresentedKey(
  req: Request,
  store: Pick<CellStore, 'tenantKey'>,
  cellSecret: string | undefined,
): Promise<Request> {
  const claim = claimedTenantOf(req.headers, cellSecret);
  if (!claim) return req;
  const stored = await store.tenantKey(claim.tenantId);
  if (!sameKeyHash(claim.keyHash, stored?.keyHash)) throw keyNotVerified();
  if (stored?.movedTo !== undefined) throw tenantMoved(stored.movedTo);
  if (stored?.frozen && !READS.has(req.method)) throw frozen();
  return { ...req, headers: { ...req.headers, [TENANT_HEADER]: claim.tenantId } };
}

/**
 * The cell's own record of a move decides, whatever route a router still has cached: writes of a tenant
 * being moved away are refused (a write that reached the source after its data was copied would be
 * lost at clean-up), and every request of a tenant that has left gets {@link tenantMoved}.
 */
export async function refuseWhileMoving(
  req: Request,
  tenantId: string,
  store: Pick<CellStore, 'tenantKey'>,
): Promise<void> {
  const stored = await store.tenantKey(tenantId);
  if (stored?.movedTo !== undefined) throw tenantMoved(stored.movedTo);
  if (stored?.frozen && !READS.has(req.method)) throw frozen('the tenant is being moved; retry shortly');
}

function statusFrom(raw: string | undefined): SyncStatus | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!(SYNC_STATUSES as readonly string[]).includes(raw)) {
    throw badRequest(`status must be one of ${SYNC_STATUSES.join(', ')}`);
  }
  return raw as SyncStatus;
}

/** The tenant API's routes. `tenantId` is always the authenticated one from the router. */
export function routes(ctx: AppContext, tenantOf: (req: Request) => string): Route[] {
  const { store, integration } = ctx;
  return [
    {
      pattern: '/inventory',
      methods: {
        GET: async (req) => {
          const page = await store.listInventory(tenantOf(req), limitFrom(req.query.limit), req.query.cursor);
          return { status: 200, body: page };
        },
      },
    },
    {
      pattern: '/inventory/{sku}',
      methods: {
        GET: async (req, p) => ({
          status: 200,
          body: await store.getInventory(tenantOf(req), skuFrom(p.sku)),
        }),
        PUT: async (req, p) => {
          const tenant = tenantOf(req);
          const sku = skuFrom(p.sku);
          const body = parseWith(PutInventoryBody, jsonBody(req));
          return { status: 200, body: await store.putInventory(tenant, sku, body) };
        },
      },
    },
    {
      pattern: '/orders',
      methods: {
        POST: async (req) => {
          const tenant = tenantOf(req);
          const rawKey = req.headers['idempotency-key'];
          const key = rawKey === undefined ? undefined : parseWith(IdempotencyKey, rawKey);
          const body = parseWith(CreateOrderBody, jsonBody(req));
          const { order, replayed } = await store.createOrder(tenant, body, key);
          const headers: Record<string, string> = replayed ? { 'idempotent-replayed': 'true' } : {};
          return { status: 201, body: order, headers };
        },
        GET: async (req) => {
          const tenant = tenantOf(req);
          const page = await store.listOrders(
            tenant,
            statusFrom(req.query.status),
            limitFrom(req.query.limit),
            req.query.cursor,
          );
          return { status: 200, body: page };
        },
      },
    },
    {
      pattern: '/orders/{id}',
      methods: {
        GET: async (req, p) => {
          const tenant = tenantOf(req);
          if (!ORDER_ID.test(p.id)) throw badRequest('order id is not valid');
          return { status: 200, body: await store.getOrder(tenant, p.id) };
        },
      },
    },
    {
      pattern: '/integration/status',
      methods: { GET: async (req) => ({ status: 200, body: await integration.status(tenantOf(req)) }) },
    },
    {
      pattern: '/integration/reconciliation',
      methods: {
        GET: async (req) => ({ status: 200, body: await integration.reconciliation(tenantOf(req)) }),
      },
    },
    {
      pattern: '/integration',
      methods: {
        PUT: async (req) => {
          const tenant = tenantOf(req);
          const { enabled } = parseWith(PutIntegrationBody, jsonBody(req));
          return { status: 200, body: await integration.setEnabled(tenant, enabled) };
        },
      },
    },
    {
      // Drills remove their synthetic tenant's data when done; any other tenant is refused (403).
      pattern: '/synthetic-data',
      methods: {
        DELETE: async (req) => ({
          status: 200,
          body: { removed: await store.removeSyntheticTenant(tenantOf(req)) },
        }),
      },
    },
    {
      pattern: '/health',
      methods: {
        GET: async () => {
          const reachable = await store.tableReachable();
          return {
            status: reachable ? 200 : 503,
            body: {
              cell: ctx.cellId,
              release: ctx.release,
              version: ctx.version,
              table: reachable ? 'reachable' : 'unreachable',
            },
          };
        },
      },
    },
  ];
}
