/**
 * A tenants target over DynamoDB and SQS: the routing store and each cell's data, the same on AWS and
 * locally; subclasses say where the routing store and each cell are.
 */
import type { DynamoRoutingAdmin } from './dynamo-routing-admin';
import type {
  CellData,
  CellRecord,
  RouteCondition,
  RouteRecord,
  RouteUpdate,
  TenantsTarget,
} from './tenants-target';

export abstract class DynamoTenantsTarget implements TenantsTarget {
  private readonly cells = new Map<string, Promise<CellData>>();

  protected constructor(
    readonly description: string,
    protected readonly routing: DynamoRoutingAdmin,
  ) {}

  /** Opens the data of one cell (called once per cell). */
  protected abstract openCell(cellId: string): Promise<CellData>;

  abstract close(): void;

  listRoutes(): Promise<RouteRecord[]> {
    return this.routing.listRoutes();
  }

  getRoute(tenantId: string): Promise<RouteRecord | undefined> {
    return this.routing.getRoute(tenantId);
  }

  createRoute(route: Omit<RouteRecord, 'move'>): Promise<boolean> {
    return this.routing.createRoute(route);
  }

  updateRoute(tenantId: string, update: RouteUpdate, condition: RouteCondition): Promise<boolean> {
    return this.routing.updateRoute(tenantId, update, condition);
  }

  listCells(): Promise<CellRecord[]> {
    return this.routing.listCells();
  }

  cell(cellId: string): Promise<CellData> {
    let cell = this.cells.get(cellId);
    if (!cell) {
      cell = this.openCell(cellId);
      this.cells.set(cellId, cell);
      // A failed lookup is not cached: the next call tries again.
      cell.catch(() => this.cells.delete(cellId));
    }
    return cell;
  }
}
