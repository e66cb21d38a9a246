import { timingSafeEqual } from 'node:crypto';

import { ROUTER_ROLE } from '../../lib/contracts/names';

import { HttpError } from './errors';

/** Set by the router, and trusted only from it. */
export const TENANT_HEADER = 'x-bulkhead-tenant';
/**
 * Locally, cells prove the caller is the router with a per-cell shared secret. On AWS the Function
 * URL's AWS_IAM auth does that (only the router's role may invoke it) and no secret is configured.
 */
export const CELL_SECRET_HEADER = 'x-bulkhead-cell-secret';
/**
 * Fail static, cold: a router that cannot read the routing store cannot check a tenant's key itself.
 * For a tenant baked into it from the fleet file it forwards the sha256 (hex) of the presented key in
 * this header, with the tenant the key claims in {@link CLAIMED_TENANT_HEADER} and no
 * {@link TENANT_HEADER}; the cell checks the hash against its own copy (the tenant's `TENANT` item)
 * before serving. A cell version that predates this sees no tenant at all and refuses (401): the
 * exchange fails closed across a rollback.
 */
export const KEY_HASH_HEADER = 'x-bulkhead-key-hash';
/** The tenant an unverified key claims; trusted only once the cell has checked {@link KEY_HASH_HEADER}. */
export const CLAIMED_TENANT_HEADER = 'x-bulkhead-claimed-tenant';

/**
 * On a cell's 421 `tenant_moved`: the cell the tenant moved to. The cell did not apply the request, so
 * the router may send it again, once, where the routing store now says the tenant is.
 */
export const MOVED_TO_HEADER = 'x-bulkhead-moved-to';

const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
/** Compared against when a tenant has no usable stored hash, so that path costs the same as a mismatch. */
const DUMMY_HASH = Buffer.alloc(32, 0xa5);

/**
 * Whether a presented key hash (hex sha256) equals the stored one, in constant time. A missing or
 * malformed stored hash still costs one comparison and answers false.
 */
export function sameKeyHash(presented: string | undefined, stored: string | undefined): boolean {
  const usable = stored !== undefined && HEX_SHA256.test(stored);
  const expected = usable ? Buffer.from(stored, 'hex') : DUMMY_HASH;
  const wellFormed = presented !== undefined && HEX_SHA256.test(presented);
  const actual = wellFormed ? Buffer.from(presented, 'hex') : Buffer.alloc(32);
  return timingSafeEqual(actual, expected) && usable && wellFormed;
}

function requireRouter(headers: Record<string, string | undefined>, cellSecret: string | undefined): void {
  if (cellSecret !== undefined && !sameSecret(headers[CELL_SECRET_HEADER] ?? '', cellSecret)) {
    throw new HttpError(403, 'forbidden', 'requests must come through the Bulkhead router');
  }
}

/**
 * Whether an `AWS_IAM` URL's caller (`requestContext.authorizer.iam.userArn`, set by Lambda from the
 * signature) is a session of the router's role: only the router may say which tenant a request is for.
 * The URL's resource policy admits only the router, but an identity policy of the cell's own account (an
 * administrator) can admit others too; their requests must not act as any tenant they name.
 */
export function isRouterSession(userArn: string, routerAccount: string): boolean {
  const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[\w+=,.@-]+$/.exec(userArn);
  return session !== null && session[1] === routerAccount && session[2] === ROUTER_ROLE;
}

/** The one answer to a key the cell cannot verify: it says nothing about the tenant. */
export const keyNotVerified = (): HttpError =>
  new HttpError(401, 'unauthenticated', undefined, { 'www-authenticate': 'Bearer' });

/**
 * A fail-static request from the router (it carries {@link KEY_HASH_HEADER}): the claimed tenant and the
 * presented hash, not yet verified; `undefined` for an ordinary request. Checks the router's secret.
 */
export function claimedTenantOf(
  headers: Record<string, string | undefined>,
  cellSecret: string | undefined,
): { readonly tenantId: string; readonly keyHash: string } | undefined {
  const keyHash = headers[KEY_HASH_HEADER];
  if (keyHash === undefined) return undefined;
  requireRouter(headers, cellSecret);
  const tenantId = headers[CLAIMED_TENANT_HEADER];
  if (!tenantId || !TENANT_ID.test(tenantId)) throw keyNotVerified();
  return { tenantId, keyHash };
}

/** The authenticated tenant of a request that came through the router, or a 401/403. */
export function tenantOf(
  headers: Record<string, string | undefined>,
  cellSecret: string | undefined,
): string {
  requireRouter(headers, cellSecret);
  const tenant = headers[TENANT_HEADER];
  if (!tenant || !TENANT_ID.test(tenant)) {
    throw new HttpError(401, 'unauthenticated', 'no tenant: requests must come through the Bulkhead router');
  }
  return tenant;
}
