/**
 * The router's in-memory routing cache (no AWS here: the store is injected).
 *
 * Each entry is fresh for `ttlMs`, then stale. A stale entry is refreshed from the routing store; if the
 * store fails (error or timeout) the stale entry is served anyway — fail static — and counted. A cold
 * miss with the store down falls back to the tenant → cell map baked into the bundle at synth time.
 */
import type { Fleet } from '../config/types';

export type TenantStatus = 'active' | 'frozen' | (string & NonNullable<unknown>);
export type CellStatus = 'active' | 'draining' | 'down' | (string & NonNullable<unknown>);

export interface TenantRoute {
  readonly cellId: string;
  readonly status: TenantStatus;
  /** sha256 hex of the tenant's API key (see `api-keys.ts`). */
  readonly keyHash: string;
}

export interface CellRoute {
  readonly endpoint: string;
  readonly status: CellStatus;
  /** Local target only: the per-cell secret the cell expects from the router. */
  readonly secret?: string;
}

export type CacheLookup<V> =
  | { readonly kind: 'fresh'; readonly value: V }
  | { readonly kind: 'stale'; readonly value: V }
  | { readonly kind: 'miss' };

export interface TtlCacheOptions {
  /** How long an entry is fresh. @default 30000 */
  readonly ttlMs?: number;
  /** Entries kept; the oldest written is dropped first. @default 10000 */
  readonly maxEntries?: number;
}

/** A TTL map that keeps expired entries (as stale) so they can be served when the store is down. */
export class TtlCache<V> {
  readonly ttlMs: number;
  readonly maxEntries: number;
  private readonly entries = new Map<string, { value: V; storedAt: number }>();

  constructor(options: TtlCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  get(key: string, now: number): CacheLookup<V> {
    const entry = this.entries.get(key);
    if (!entry) return { kind: 'miss' };
    return now - entry.storedAt < this.ttlMs
      ? { kind: 'fresh', value: entry.value }
      : { kind: 'stale', value: entry.value };
  }

  set(key: string, value: V, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, storedAt: now });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Counters the router publishes as metrics. */
export interface RouteCacheCounters {
  /** Requests answered from a stale entry because the store failed. */
  failStatic: number;
  /** Cold misses with the store down that found the tenant in the baked map. */
  bakedFallback: number;
  /** Store calls that failed (error or timeout). */
  storeErrors: number;
}

/** Tenant and cell caches of one router instance, and their counters. */
export class RouteCache {
  readonly tenants: TtlCache<TenantRoute>;
  readonly cells: TtlCache<CellRoute>;
  readonly counters: RouteCacheCounters = { failStatic: 0, bakedFallback: 0, storeErrors: 0 };

  constructor(options: TtlCacheOptions = {}) {
    this.tenants = new TtlCache(options);
    this.cells = new TtlCache(options);
  }

  get(tenantId: string, now: number): CacheLookup<TenantRoute> {
    return this.tenants.get(tenantId, now);
  }
}

export type Resolved<V> =
  /** From a fresh entry or a successful store read. */
  | { readonly source: 'cache' | 'store'; readonly value: V }
  /** Store failed; the last known value is served (fail static). */
  | { readonly source: 'stale'; readonly value: V }
  /** The store answered: no such key. */
  | { readonly source: 'absent' }
  /** Store failed and nothing is cached. */
  | { readonly source: 'unavailable'; readonly error: unknown };

/** Rejects after `ms` (the timer is cleared either way), so a hung store counts as a store error. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Cache first; on a miss or a stale entry, the store; if the store fails, the stale entry (fail static,
 * counted). A store answer of "absent" evicts the entry: a removed tenant stops being routed.
 */
export async function resolveCached<V>(
  cache: TtlCache<V>,
  counters: RouteCacheCounters,
  key: string,
  now: number,
  load: () => Promise<V | undefined>,
  storeTimeoutMs = 500,
): Promise<Resolved<V>> {
  const cached = cache.get(key, now);
  if (cached.kind === 'fresh') return { source: 'cache', value: cached.value };
  try {
    const value = await withTimeout(load(), storeTimeoutMs, 'routing store');
    if (value === undefined) {
      cache.delete(key);
      return { source: 'absent' };
    }
    cache.set(key, value, now);
    return { source: 'store', value };
  } catch (error) {
    counters.storeErrors += 1;
    if (cached.kind === 'stale') {
      counters.failStatic += 1;
      return { source: 'stale', value: cached.value };
    }
    return { source: 'unavailable', error };
  }
}

/**
 * What the router knows of the fleet file without the routing store, baked into its bundle at synth
 * time: each declared tenant's cell, and each cell's account and region (where to look its endpoint up).
 * No key hashes (keys are created after synth and rotate without a deploy) and no endpoints (Function
 * URLs exist only after the cells are deployed).
 */
export interface BakedRouting {
  readonly tenants: Readonly<Record<string, { readonly cellId: string }>>;
  readonly cells: Readonly<Record<string, BakedCell>>;
}

export interface BakedCell {
  readonly region: string;
  readonly account: string;
}

export const EMPTY_BAKED_ROUTING: BakedRouting = { tenants: {}, cells: {} };

/** The baked routing of a fleet: every tenant of the fleet file, every cell (whatever cells are selected). */
export function bakedRoutingOf(fleet: Fleet): BakedRouting {
  return {
    tenants: Object.fromEntries(fleet.cells.flatMap((c) => c.tenants.map((t) => [t.id, { cellId: c.id }]))),
    cells: Object.fromEntries(fleet.cells.map((c) => [c.id, { region: c.region, account: c.account }])),
  };
}

const own = <V>(record: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;

/** The baked cell of a tenant, if both the tenant and its cell are baked in. */
export function bakedCellOf(
  baked: BakedRouting,
  tenantId: string,
): { readonly cellId: string; readonly cell: BakedCell } | undefined {
  const cellId = own(baked.tenants, tenantId)?.cellId;
  const cell = cellId === undefined ? undefined : own(baked.cells, cellId);
  return cellId !== undefined && cell ? { cellId, cell } : undefined;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads baked routing from its JSON text, keeping only well-formed entries: a tenant whose cell is not
 * baked in (or is malformed) is left out, so the router never acts on a half-understood entry. Anything
 * unreadable gives the empty routing.
 */
export function parseBakedRouting(text: string | undefined): BakedRouting {
  let raw: unknown;
  try {
    raw = text ? JSON.parse(text) : undefined;
  } catch {
    return EMPTY_BAKED_ROUTING;
  }
  if (!isObject(raw) || !isObject(raw.tenants) || !isObject(raw.cells)) return EMPTY_BAKED_ROUTING;
  const cells: Record<string, BakedCell> = {};
  for (const [id, c] of Object.entries(raw.cells)) {
    if (isObject(c) && isString(c.region) && isString(c.account))
      cells[id] = { region: c.region, account: c.account };
  }
  const tenants: Record<string, { cellId: string }> = {};
  for (const [id, t] of Object.entries(raw.tenants)) {
    if (isObject(t) && isString(t.cellId) && own(cells, t.cellId)) tenants[id] = { cellId: t.cellId };
  }
  return { tenants, cells };
}

export type TenantResolution =
  | Resolved<TenantRoute>
  /**
   * Cold miss, store down, tenant in the baked map. The cell is known but the key can NOT be checked at
   * the router (no key hash is baked): the router may only forward the request with the hash of the
   * presented key, for the cell to check against the tenant's key item (see `lambdas/router/router.ts`).
   */
  | { readonly source: 'baked'; readonly cellId: string; readonly cell: BakedCell };

/** {@link resolveCached} for a tenant, plus the baked-map fallback on a cold miss with the store down. */
export async function resolveTenant(
  cache: RouteCache,
  tenantId: string,
  now: number,
  load: (tenantId: string) => Promise<TenantRoute | undefined>,
  baked: BakedRouting,
  storeTimeoutMs?: number,
): Promise<TenantResolution> {
  const resolved = await resolveCached(
    cache.tenants,
    cache.counters,
    tenantId,
    now,
    () => load(tenantId),
    storeTimeoutMs,
  );
  if (resolved.source !== 'unavailable') return resolved;
  const found = bakedCellOf(baked, tenantId);
  if (!found) return resolved;
  cache.counters.bakedFallback += 1;
  return { source: 'baked', ...found };
}

declare const __BULKHEAD_BAKED_ROUTES__: string | undefined;

/** The baked routing (esbuild define `__BULKHEAD_BAKED_ROUTES__`, see `lib/router/router-stack.ts`), or empty. */
export function bakedRoutingFromBundle(): BakedRouting {
  return parseBakedRouting(
    typeof __BULKHEAD_BAKED_ROUTES__ !== 'undefined' ? __BULKHEAD_BAKED_ROUTES__ : undefined,
  );
}
