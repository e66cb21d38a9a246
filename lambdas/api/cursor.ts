import { badRequest } from '../shared/errors';

/** Opaque pagination cursor: the last key DynamoDB returned, bound to the tenant it belongs to. */
export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/**
 * Decodes a cursor and checks it points into the caller's own partition, so a forged cursor can
 * never start a read in another tenant's data.
 */
export function decodeCursor(raw: string | undefined, tenantId: string): Record<string, string> | undefined {
  if (raw === undefined || raw === '') return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is not valid');
  }
  const valid =
    typeof key === 'object' &&
    key !== null &&
    !Array.isArray(key) &&
    Object.values(key).every((v) => typeof v === 'string') &&
    (key as Record<string, string>).pk === tenantId;
  if (!valid) throw badRequest('cursor is not valid');
  return key as Record<string, string>;
}

export function limitFrom(raw: string | undefined, fallback = 50, max = 100): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw badRequest(`limit must be an integer from 1 to ${max}`);
  return n;
}
