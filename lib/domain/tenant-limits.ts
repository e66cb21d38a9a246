/**
 * Per-tenant limits at the router, as plain functions: which limits a tenant has (the fleet's default, or
 * the tenant's own), the counters a request is admitted against, and what a refused request is told.
 *
 * The counters live in one store that every router instance of a region shares (on AWS a DynamoDB table,
 * `lambdas/router/limiter.ts`): a Lambda execution environment serves one request at a time, so a
 * tenant's rate and concurrency exist only across environments, never inside one.
 */
import { DEFAULT_TENANT_LIMITS, type FleetTenantLimits, type TenantLimitSettings } from '../config/types';

/** A tenant's requests a second and requests in flight (the fleet file's `TenantLimitSettings`). */
export type TenantLimits = TenantLimitSettings;
/** The fleet's limits as baked into the router: the default, and the tenants that have their own. */
export type FleetLimits = FleetTenantLimits;

export const DEFAULT_FLEET_LIMITS: FleetLimits = { default: DEFAULT_TENANT_LIMITS, tenants: {} };

export function limitsOfTenant(fleet: FleetLimits, tenantId: string): TenantLimits {
  return Object.prototype.hasOwnProperty.call(fleet.tenants, tenantId)
    ? fleet.tenants[tenantId]
    : fleet.default;
}

const isLimits = (v: unknown): v is TenantLimits =>
  typeof v === 'object' &&
  v !== null &&
  [(v as TenantLimits).requestsPerSecond, (v as TenantLimits).concurrentRequests].every(
    (n) => Number.isInteger(n) && n >= 1,
  );

/**
 * The baked limits, checked before use: text that is not a valid set of limits gives `undefined`, and the
 * caller keeps what it had (the defaults, on a cold start). Synthesis refuses such a fleet file first.
 */
export function parseFleetLimits(text: string | undefined): FleetLimits | undefined {
  let raw: unknown;
  try {
    raw = text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { default: fallback, tenants } = raw as { default?: unknown; tenants?: unknown };
  if (!isLimits(fallback) || typeof tenants !== 'object' || tenants === null) return undefined;
  const entries = Object.entries(tenants);
  if (!entries.every(([, l]) => isLimits(l))) return undefined;
  return { default: fallback, tenants: Object.fromEntries(entries) as Record<string, TenantLimits> };
}

/** Which one-second window `now` falls in: the rate counter's key. */
export const rateWindow = (now: number): number => Math.floor(now / 1000);

/**
 * A concurrency count whose every request has ended or been cut off long since is a leak (an environment
 * that stopped between taking a place and giving it back): this much after the count last moved, with
 * every place still taken, it starts again from the request that found it. Longer than the router's
 * longest wait on a cell.
 */
export const LEAKED_AFTER_MS = 60_000;

export function isLeaked(lastMovedAt: number | undefined, now: number): boolean {
  return lastMovedAt !== undefined && now - lastMovedAt > LEAKED_AFTER_MS;
}

export type Refusal = { readonly limit: 'rate' | 'concurrency'; readonly retryAfterSeconds: number };

/** A refused request is told when to come back: the next window for the rate, a second for concurrency. */
export function refusal(limit: Refusal['limit'], now: number): Refusal {
  if (limit === 'concurrency') return { limit, retryAfterSeconds: 1 };
  return { limit, retryAfterSeconds: Math.max(1, Math.ceil(((rateWindow(now) + 1) * 1000 - now) / 1000)) };
}

/**
 * What one router instance remembers of a refusal, so that a flood past a tenant's limit costs the store
 * one refused write per window per instance, not one per request: a rate refusal holds until its window
 * ends; a concurrency refusal for `concurrencyHoldMs`, as places free up at any time.
 */
export class RefusalMemory {
  private readonly until = new Map<string, { readonly at: number; readonly refusal: Refusal['limit'] }>();

  constructor(private readonly concurrencyHoldMs = 100) {}

  remember(tenantId: string, limit: Refusal['limit'], now: number): void {
    const at = limit === 'rate' ? (rateWindow(now) + 1) * 1000 : now + this.concurrencyHoldMs;
    this.until.set(tenantId, { at, refusal: limit });
  }

  /** The refusal still in force for the tenant, if any. */
  recall(tenantId: string, now: number): Refusal | undefined {
    const held = this.until.get(tenantId);
    if (!held) return undefined;
    if (now >= held.at) {
      this.until.delete(tenantId);
      return undefined;
    }
    return refusal(held.refusal, now);
  }
}

declare const __BULKHEAD_TENANT_LIMITS__: string | undefined;

/** The limits baked into the router bundle (esbuild define, see `lib/infra/router/router-stack.ts`), else the defaults. */
export function fleetLimitsFromBundle(): FleetLimits {
  const text = typeof __BULKHEAD_TENANT_LIMITS__ !== 'undefined' ? __BULKHEAD_TENANT_LIMITS__ : undefined;
  return parseFleetLimits(text) ?? DEFAULT_FLEET_LIMITS;
}
