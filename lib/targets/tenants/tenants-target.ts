/**
 * The tenants port: what tenant operations (`lib/tenants`: place, seed, move) need from a Bulkhead
 * installation, whether it runs on AWS or locally: the routing store (routes and the cell registry) and
 * each cell's tenant data. `aws-tenants-target.ts` and `local-tenants-target.ts` only say where things
 * are; `test/contracts` holds both to this interface.
 */
import type { MoveProgress, RouteChange, TenantData } from '../../domain/migration';

/** A tenant's route (routes table, pk `tenantId`). */
export interface RouteRecord {
  readonly tenantId: string;
  readonly cellId: string;
  readonly status: string;
  /** sha256 hex of the tenant's API key; the key itself is never stored. */
  readonly keyHash: string;
  readonly createdAt: string;
  /** The move under way, or the last one (`step: 'done'`). */
  readonly move?: MoveProgress;
}

/** A cell as the registry has it (pk `cellId`), with the tenants it holds. */
export interface CellRecord {
  readonly cellId: string;
  readonly endpoint: string;
  readonly region: string;
  readonly account?: string;
  readonly wave?: number;
  readonly status: string;
  /** From the registry, else from the fleet file; `undefined` when neither declares it. */
  readonly maxTenants?: number;
  /** Tenants routed to the cell, plus tenants being moved into it. */
  readonly tenantCount: number;
}

/** What a conditional route update requires of the stored route. */
export interface RouteCondition {
  readonly cellId?: string;
  readonly status?: string;
  /** The move record must be this one (same step, same start), or there must be none under way. */
  readonly move?:
    | (Pick<MoveProgress, 'step' | 'startedAt'> & {
        /** The run holding the move's lease; `null`: none does. Left out: not checked. */
        readonly owner?: string | null;
      })
    | 'none';
}

export interface RouteUpdate extends RouteChange {
  readonly move?: MoveProgress;
}

/** One cell's data operations, for one tenant at a time (every cell-table item has pk = tenant id). */
export interface CellData extends TenantData {
  /**
   * Whether the cell is configured to report this tenant's sales to a compliance API; `undefined`
   * when the target cannot tell.
   */
  integrationConfigured(tenantId: string): Promise<boolean | undefined>;
  /**
   * Writes the cell's copy of the tenant's key hash (its `TENANT` item, see `lambdas/shared/items.ts`),
   * replacing any there: what a router without its store has the cell check a presented key against.
   */
  putTenantKey(tenantId: string, keyHash: string): Promise<void>;
  /** Deletes the tenant's `TENANT` item, only if it holds `keyHash` (a placement that lost a race). */
  removeTenantKey(tenantId: string, keyHash: string): Promise<void>;
}

export interface TenantsTarget {
  /** Says which installation this is, for messages. */
  readonly description: string;
  listRoutes(): Promise<RouteRecord[]>;
  getRoute(tenantId: string): Promise<RouteRecord | undefined>;
  /** Writes a new route; false when the tenant already has one. */
  createRoute(route: Omit<RouteRecord, 'move'>): Promise<boolean>;
  /** Applies `update` only if the stored route meets `condition`; false when it does not. */
  updateRoute(tenantId: string, update: RouteUpdate, condition: RouteCondition): Promise<boolean>;
  listCells(): Promise<CellRecord[]>;
  /** The data of a registered cell; throws for a cell the target cannot reach. */
  cell(cellId: string): Promise<CellData>;
  /** Releases clients and connections. */
  close(): void;
}
