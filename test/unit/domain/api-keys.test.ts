import { generateApiKey, hashApiKey, parseApiKey, verifyApiKey } from '../../../lib/domain/api-keys';

describe('API keys', () => {
  it('generates bk_<tenant>_<43-char base64url secret>, unique each time', () => {
    const key = generateApiKey('acme-1');
    expect(key).toMatch(/^bk_acme-1_[A-Za-z0-9_-]{43}$/);
    expect(generateApiKey('acme-1')).not.toBe(key);
    expect(() => generateApiKey('Bad_Tenant')).toThrow(/invalid tenant/);
  });

  it('parses the tenant, even when the secret contains underscores', () => {
    const key = `bk_acme-1_${'_'.repeat(10)}${'a'.repeat(33)}`;
    expect(parseApiKey(key)).toEqual({ tenantId: 'acme-1' });
    expect(parseApiKey(generateApiKey('t-2'))).toEqual({ tenantId: 't-2' });
  });

  it.each([
    undefined,
    '',
    'acme-1',
    'bk_acme-1',
    'bk_acme-1_short',
    `bk_ACME_${'a'.repeat(43)}`,
    `xx_acme-1_${'a'.repeat(43)}`,
    `bk_acme-1_${'a'.repeat(44)}`,
    `bk_acme-1_${'a'.repeat(42)}=`,
  ])('rejects malformed key %p', (key) => {
    expect(parseApiKey(key)).toBeUndefined();
  });

  it('hashes to sha256 hex, with an optional pepper', () => {
    const key = generateApiKey('acme-1');
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key, 'pepper')).not.toBe(hashApiKey(key));
  });

  it('verifies in constant time and rejects wrong keys, unknown tenants and junk hashes', () => {
    const key = generateApiKey('acme-1');
    const other = generateApiKey('acme-1');
    expect(verifyApiKey(key, hashApiKey(key))).toBe(true);
    expect(verifyApiKey(other, hashApiKey(key))).toBe(false);
    expect(verifyApiKey(key, undefined)).toBe(false);
    expect(verifyApiKey(key, 'not-a-hash')).toBe(false);
    expect(verifyApiKey(key, hashApiKey(key, 'p'), 'p')).toBe(true);
    expect(verifyApiKey(key, hashApiKey(key, 'p'))).toBe(false);
  });
});
