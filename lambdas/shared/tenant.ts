import { timingSafeEqual } from 'node:crypto';

import { HttpError } from './errors';

/** Set by the router, and trusted only from it. */
export const TENANT_HEADER = 'x-bulkhead-tenant';
/**
 * Locally, cells prove the caller is the router with a per-cell shared secret. On AWS the Function
 * URL's AWS_IAM auth does that (only the router's role may invoke it) and no secret is configured.
 */
export const CELL_SECRET_HEADER = 'x-bulkhead-cell-secret';

const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The authenticated tenant of a request that came through the router, or a 401/403. */
export function tenantOf(
  headers: Record<string, string | undefined>,
  cellSecret: string | undefined,
): string {
  if (cellSecret !== undefined && !sameSecret(headers[CELL_SECRET_HEADER] ?? '', cellSecret)) {
    throw new HttpError(403, 'forbidden', 'requests must come through the Bulkhead router');
  }
  const tenant = headers[TENANT_HEADER];
  if (!tenant || !TENANT_ID.test(tenant)) {
    throw new HttpError(401, 'unauthenticated', 'no tenant: requests must come through the Bulkhead router');
  }
  return tenant;
}
