/**
 * Tenant API keys: `bk_<tenantId>_<43-char base64url secret>` (32 random bytes).
 *
 * The tenant id is part of the key so the router does one lookup by tenant; only a hash of the whole
 * key is stored. Nothing here may tell a caller whether a tenant exists: an unknown tenant and a wrong
 * secret take the same path (see {@link verifyApiKey} and {@link DUMMY_KEY_HASH}).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'bk_';

/** Same shape as the tenant ids the cells accept (`lambdas/shared/tenant.ts`); no `_`, so the split is unambiguous. */
const TENANT_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;
const SECRET_BYTES = 32;

export function generateApiKey(tenantId: string): string {
  if (!TENANT_ID.test(tenantId)) throw new Error(`invalid tenant id '${tenantId}'`);
  return `${API_KEY_PREFIX}${tenantId}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

/** sha256 hex of the key, optionally with a server-side pepper (kept outside the routing table). */
export function hashApiKey(key: string, pepper?: string): string {
  const hash = createHash('sha256');
  if (pepper) hash.update(pepper).update('\0');
  return hash.update(key).digest('hex');
}

/** The tenant a well-formed key claims to belong to; `undefined` for anything malformed. Proves nothing. */
export function parseApiKey(key: string | undefined): { tenantId: string } | undefined {
  if (!key || !key.startsWith(API_KEY_PREFIX)) return undefined;
  const rest = key.slice(API_KEY_PREFIX.length);
  const sep = rest.indexOf('_');
  if (sep < 0) return undefined;
  const tenantId = rest.slice(0, sep);
  const secret = rest.slice(sep + 1);
  if (!TENANT_ID.test(tenantId) || !SECRET.test(secret)) return undefined;
  return { tenantId };
}

/**
 * A hash no key produces in practice; compared against when the tenant is unknown (or has no hash) so
 * that path costs the same as a wrong key for a known tenant.
 */
export const DUMMY_KEY_HASH = hashApiKey(`${API_KEY_PREFIX}dummy-tenant_${'A'.repeat(43)}`, 'bulkhead-dummy');

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Whether `key` hashes to `storedHash`, compared in constant time. Pass `undefined` as the stored hash
 * for an unknown tenant: it still hashes and compares (against {@link DUMMY_KEY_HASH}) and answers false.
 */
export function verifyApiKey(key: string, storedHash: string | undefined, pepper?: string): boolean {
  const known = storedHash !== undefined && HEX_SHA256.test(storedHash);
  const expected = Buffer.from(known ? storedHash : DUMMY_KEY_HASH, 'hex');
  const actual = Buffer.from(hashApiKey(key, pepper), 'hex');
  const same = timingSafeEqual(actual, expected);
  return known && same;
}
