import {
  bakedRoutingFromBundle,
  bakedRoutingOf,
  EMPTY_BAKED_ROUTING,
  parseBakedRouting,
  resolveCached,
  resolveTenant,
  RouteCache,
  TtlCache,
  type TenantRoute,
} from '../../../lib/domain/route-cache';

const acme: TenantRoute = { cellId: 'use1-a', status: 'active', keyHash: 'h1' };
const down = () => Promise.reject(new Error('store down'));
const NONE = EMPTY_BAKED_ROUTING;

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
    expect(await resolveTenant(cache, 'acme', 0, load, NONE)).toEqual({ source: 'store', value: acme });
    expect(await resolveTenant(cache, 'acme', 500, load, NONE)).toEqual({ source: 'cache', value: acme });
    expect(load).toHaveBeenCalledTimes(1);
    const moved = { ...acme, cellId: 'use1-b' };
    load.mockResolvedValue(moved);
    expect(await resolveTenant(cache, 'acme', 1500, load, NONE)).toEqual({ source: 'store', value: moved });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('fails static: a store error serves the stale entry and counts it', async () => {
    const cache = new RouteCache({ ttlMs: 1000 });
    await resolveTenant(cache, 'acme', 0, async () => acme, NONE);
    expect(await resolveTenant(cache, 'acme', 5000, down, NONE)).toEqual({ source: 'stale', value: acme });
    expect(await resolveTenant(cache, 'acme', 6000, down, NONE)).toEqual({ source: 'stale', value: acme });
    expect(cache.counters).toEqual({ failStatic: 2, bakedFallback: 0, storeErrors: 2 });
  });

  it('treats a hung store as an error (timeout)', async () => {
    const cache = new RouteCache({ ttlMs: 1000 });
    await resolveTenant(cache, 'acme', 0, async () => acme, NONE);
    const hang = () => new Promise<TenantRoute>(() => undefined);
    const started = Date.now();
    expect(await resolveTenant(cache, 'acme', 5000, hang, NONE, 50)).toEqual({
      source: 'stale',
      value: acme,
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(cache.counters.failStatic).toBe(1);
  });

  it('a cold miss with the store down falls back to the baked map (cell and its account/region, no key hash)', async () => {
    const cache = new RouteCache();
    const baked = {
      tenants: { acme: { cellId: 'use1-a' }, lost: { cellId: 'gone' } },
      cells: { 'use1-a': { region: 'us-east-1', account: '111111111111' } },
    };
    expect(await resolveTenant(cache, 'acme', 0, down, baked)).toEqual({
      source: 'baked',
      cellId: 'use1-a',
      cell: { region: 'us-east-1', account: '111111111111' },
    });
    expect(cache.counters.bakedFallback).toBe(1);
    const other = await resolveTenant(cache, 'other', 0, down, baked);
    expect(other.source).toBe('unavailable');
    expect((await resolveTenant(cache, 'toString', 0, down, baked)).source).toBe('unavailable');
    // A tenant whose cell is not baked in cannot be located: as if unknown.
    expect((await resolveTenant(cache, 'lost', 0, down, baked)).source).toBe('unavailable');
    expect(cache.counters.bakedFallback).toBe(1);
  });

  it('the baked map is only a fallback: a store that answers wins, "absent" included', async () => {
    const cache = new RouteCache();
    const baked = bakedRoutingOf({
      router: { account: '1', region: 'r' },
      cells: [{ id: 'use1-a', tenants: [{ id: 'acme' }], region: 'us-east-1', account: '1' }],
    } as never);
    expect(await resolveTenant(cache, 'acme', 0, async () => undefined, baked)).toEqual({ source: 'absent' });
    expect(cache.counters.bakedFallback).toBe(0);
  });

  it('evicts a tenant the store no longer knows', async () => {
    const cache = new RouteCache({ ttlMs: 1000 });
    await resolveTenant(cache, 'acme', 0, async () => acme, NONE);
    expect(await resolveTenant(cache, 'acme', 2000, async () => undefined, NONE)).toEqual({
      source: 'absent',
    });
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

describe('baked routing', () => {
  const fleetLike = {
    router: { account: '111111111111', region: 'us-east-1' },
    cells: [
      {
        id: 'use1-a',
        tenants: [{ id: 'acme' }, { id: 'bolt' }],
        region: 'us-east-1',
        account: '111111111111',
      },
      { id: 'usw2-a', tenants: [], region: 'us-west-2', account: '222222222222' },
    ],
  } as never;

  it('bakes every tenant’s cell and every cell’s account and region', () => {
    expect(bakedRoutingOf(fleetLike)).toEqual({
      tenants: { acme: { cellId: 'use1-a' }, bolt: { cellId: 'use1-a' } },
      cells: {
        'use1-a': { region: 'us-east-1', account: '111111111111' },
        'usw2-a': { region: 'us-west-2', account: '222222222222' },
      },
    });
  });

  it('round-trips through its JSON text', () => {
    const baked = bakedRoutingOf(fleetLike);
    expect(parseBakedRouting(JSON.stringify(baked))).toEqual(baked);
  });

  it('keeps only well-formed entries, and reads anything else as empty', () => {
    expect(
      parseBakedRouting(
        JSON.stringify({
          tenants: { a: { cellId: 'c1' }, b: { cellId: 'nowhere' }, c: 'c1', d: { cellId: 7 } },
          cells: { c1: { region: 'us-east-1', account: '1' }, c2: { region: 'us-east-1' } },
        }),
      ),
    ).toEqual({ tenants: { a: { cellId: 'c1' } }, cells: { c1: { region: 'us-east-1', account: '1' } } });
    for (const text of [undefined, '', 'not json', '[]', '{"acme":"use1-a"}', '{"tenants":{},"cells":[]}'])
      expect(parseBakedRouting(text)).toEqual(EMPTY_BAKED_ROUTING);
  });

  it('is empty when no define was bundled in', () => {
    expect(bakedRoutingFromBundle()).toEqual(EMPTY_BAKED_ROUTING);
  });
});

describe('bakedRoutingFromBundle with the define present', () => {
  const g = globalThis as { __BULKHEAD_BAKED_ROUTES__?: string };
  afterEach(() => delete g.__BULKHEAD_BAKED_ROUTES__);

  it('reads the routing the router stack bakes in', () => {
    const baked = {
      tenants: { acme: { cellId: 'use1-a' } },
      cells: { 'use1-a': { region: 'us-east-1', account: '111111111111' } },
    };
    g.__BULKHEAD_BAKED_ROUTES__ = JSON.stringify(baked);
    expect(bakedRoutingFromBundle()).toEqual(baked);
  });
});
