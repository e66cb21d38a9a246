import {
  bakedRoutesFromBundle,
  resolveCached,
  resolveTenant,
  RouteCache,
  TtlCache,
  type TenantRoute,
} from '../../lib/domain/route-cache';

const acme: TenantRoute = { cellId: 'use1-a', status: 'active', keyHash: 'h1' };
const down = () => Promise.reject(new Error('store down'));

describe('TtlCache', () => {
  it('is fresh within the TTL, stale after, and miss when never set', () => {
    const cache = new TtlCache<string>({ ttlMs: 1000 });
    expect(cache.get('a', 0)).toEqual({ kind: 'miss' });
    cache.set('a', 'x', 0);
    expect(cache.get('a', 999)).toEqual({ kind: 'fresh', value: 'x' });
    expect(cache.get('a', 1000)).toEqual({ kind: 'stale', value: 'x' });
    expect(cache.get('a', 1_000_000)).toEqual({ kind: 'stale', value: 'x' });
  });

  it('drops the oldest entry beyond maxEntries', () => {
    const cache = new TtlCache<number>({ maxEntries: 2 });
    cache.set('a', 1, 0);
    cache.set('b', 2, 0);
    cache.set('a', 3, 1); // rewritten: now the newest
    cache.set('c', 4, 2);
    expect(cache.size).toBe(2);
    expect(cache.get('b', 2).kind).toBe('miss');
    expect(cache.get('a', 2)).toEqual({ kind: 'fresh', value: 3 });
  });
});

describe('resolveTenant', () => {
  it('serves fresh entries without calling the store, and refreshes stale ones', async () => {
    const cache = new RouteCache({ ttlMs: 1000 });
    const load = jest.fn().mockResolvedValue(acme);
    expect(await resolveTenant(cache, 'acme', 0, load, {})).toEqual({ source: 'store', value: acme });
    expect(await resolveTenant(cache, 'acme', 500, load, {})).toEqual({ source: 'cache', value: acme });
    expect(load).toHaveBeenCalledTimes(1);
    const moved = { ...acme, cellId: 'use1-b' };
    load.mockResolvedValue(moved);
    expect(await resolveTenant(cache, 'acme', 1500, load, {})).toEqual({ source: 'store', value: moved });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('fails static: a store error serves the stale entry and counts it', async () => {
    const cache = new RouteCache({ ttlMs: 1000 });
    await resolveTenant(cache, 'acme', 0, async () => acme, {});
    expect(await resolveTenant(cache, 'acme', 5000, down, {})).toEqual({ source: 'stale', value: acme });
    expect(await resolveTenant(cache, 'acme', 6000, down, {})).toEqual({ source: 'stale', value: acme });
    expect(cache.counters).toEqual({ failStatic: 2, bakedFallback: 0, storeErrors: 2 });
  });

  it('treats a hung store as an error (timeout)', async () => {
    const cache = new RouteCache({ ttlMs: 1000 });
    await resolveTenant(cache, 'acme', 0, async () => acme, {});
    const hang = () => new Promise<TenantRoute>(() => undefined);
    const started = Date.now();
    expect(await resolveTenant(cache, 'acme', 5000, hang, {}, 50)).toEqual({ source: 'stale', value: acme });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(cache.counters.failStatic).toBe(1);
  });

  it('a cold miss with the store down falls back to the baked map (cell only, no key hash)', async () => {
    const cache = new RouteCache();
    const baked = { acme: 'use1-a' };
    expect(await resolveTenant(cache, 'acme', 0, down, baked)).toEqual({ source: 'baked', cellId: 'use1-a' });
    expect(cache.counters.bakedFallback).toBe(1);
    const other = await resolveTenant(cache, 'other', 0, down, baked);
    expect(other.source).toBe('unavailable');
    expect((await resolveTenant(cache, 'toString', 0, down, baked)).source).toBe('unavailable');
  });

  it('evicts a tenant the store no longer knows', async () => {
    const cache = new RouteCache({ ttlMs: 1000 });
    await resolveTenant(cache, 'acme', 0, async () => acme, {});
    expect(await resolveTenant(cache, 'acme', 2000, async () => undefined, {})).toEqual({ source: 'absent' });
    expect(cache.get('acme', 2000)).toEqual({ kind: 'miss' });
  });

  it('resolveCached works for cells the same way', async () => {
    const cache = new RouteCache({ ttlMs: 10 });
    const cell = { endpoint: 'http://127.0.0.1:1', status: 'active' };
    await resolveCached(cache.cells, cache.counters, 'c', 0, async () => cell);
    expect(await resolveCached(cache.cells, cache.counters, 'c', 100, down)).toEqual({
      source: 'stale',
      value: cell,
    });
  });
});

describe('bakedRoutesFromBundle', () => {
  it('is empty when no define was bundled in', () => {
    expect(bakedRoutesFromBundle()).toEqual({});
  });
});

describe('bakedRoutesFromBundle with the define present', () => {
  const g = globalThis as { __BULKHEAD_BAKED_ROUTES__?: string };
  afterEach(() => delete g.__BULKHEAD_BAKED_ROUTES__);

  it('reads the JSON map the router stack bakes in', () => {
    g.__BULKHEAD_BAKED_ROUTES__ = JSON.stringify({ acme: 'use1-a' });
    expect(bakedRoutesFromBundle()).toEqual({ acme: 'use1-a' });
  });
});
