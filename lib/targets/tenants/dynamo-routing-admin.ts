/**
 * The routing store (routes and the cell registry), for the operator: the same tables on AWS and locally
 * (the router only reads them: `lambdas/router/store.ts`).
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';

import { MOVE_STEPS, type MoveProgress } from '../../domain/migration';

import { writeIf } from './dynamo-writes';
import type { CellRecord, RouteCondition, RouteRecord, RouteUpdate } from './tenants-target';

const MoveProgressSchema = z.looseObject({
  tenantId: z.string(),
  from: z.string(),
  to: z.string(),
  step: z.enum(MOVE_STEPS),
  cursor: z.string().optional(),
  copied: z.number(),
  total: z.number().optional(),
  checksum: z.string().optional(),
  startedAt: z.string(),
  integrationWasEnabled: z.boolean().optional(),
  enqueued: z.number().optional(),
  flippedAt: z.string().optional(),
  restarts: z.number().optional(),
  finishedAt: z.string().optional(),
});

const RouteSchema = z.looseObject({
  tenantId: z.string(),
  cellId: z.string(),
  status: z.string(),
  keyHash: z.string(),
  createdAt: z.string().default(''),
  move: MoveProgressSchema.optional(),
});

const CellSchema = z.looseObject({
  cellId: z.string(),
  endpoint: z.string().default(''),
  region: z.string().default(''),
  account: z.string().optional(),
  wave: z.number().optional(),
  status: z.string().default('active'),
  maxTenants: z.number().optional(),
});

function routeOf(item: Record<string, unknown>): RouteRecord {
  const parsed = RouteSchema.safeParse(item);
  if (!parsed.success) {
    throw new Error(
      `unreadable route for tenant '${String(item.tenantId)}': ${parsed.error.issues[0]?.message}`,
    );
  }
  const { tenantId, cellId, status, keyHash, createdAt, move } = parsed.data;
  return { tenantId, cellId, status, keyHash, createdAt, ...(move && { move: move as MoveProgress }) };
}

export interface DynamoRoutingAdminProps {
  readonly doc: DynamoDBDocumentClient;
  readonly routesTable: string;
  readonly registryTable: string;
  /** Capacity per cell from the fleet file, for cells whose registry item declares none. */
  readonly maxTenants?: Readonly<Record<string, number>>;
}

export class DynamoRoutingAdmin {
  constructor(private readonly props: DynamoRoutingAdminProps) {}

  private async scan(table: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.props.doc.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  async listRoutes(): Promise<RouteRecord[]> {
    const routes = (await this.scan(this.props.routesTable)).map(routeOf);
    return routes.sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
  }

  async getRoute(tenantId: string): Promise<RouteRecord | undefined> {
    const { Item } = await this.props.doc.send(
      new GetCommand({ TableName: this.props.routesTable, Key: { tenantId }, ConsistentRead: true }),
    );
    return Item ? routeOf(Item) : undefined;
  }

  createRoute(route: Omit<RouteRecord, 'move'>): Promise<boolean> {
    return writeIf(
      this.props.doc.send(
        new PutCommand({
          TableName: this.props.routesTable,
          Item: { ...route },
          ConditionExpression: 'attribute_not_exists(tenantId)',
        }),
      ),
    );
  }

  async updateRoute(tenantId: string, update: RouteUpdate, condition: RouteCondition): Promise<boolean> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    const conditions = ['attribute_exists(tenantId)'];
    const field = (name: string) => {
      names[`#${name}`] = name;
      return `#${name}`;
    };
    for (const name of ['cellId', 'status', 'move'] as const) {
      if (update[name] === undefined) continue;
      values[`:new_${name}`] = update[name];
      sets.push(`${field(name)} = :new_${name}`);
    }
    for (const name of ['cellId', 'status'] as const) {
      if (condition[name] === undefined) continue;
      values[`:was_${name}`] = condition[name];
      conditions.push(`${field(name)} = :was_${name}`);
    }
    if (condition.move === 'none') {
      values[':done'] = 'done';
      conditions.push(
        `(attribute_not_exists(${field('move')}) OR ${field('move')}.${field('step')} = :done)`,
      );
    } else if (condition.move) {
      values[':was_step'] = condition.move.step;
      values[':was_started'] = condition.move.startedAt;
      const move = field('move');
      conditions.push(
        `${move}.${field('step')} = :was_step AND ${move}.${field('startedAt')} = :was_started`,
      );
      if (condition.move.owner === null) conditions.push(`attribute_not_exists(${move}.${field('owner')})`);
      else if (condition.move.owner !== undefined) {
        values[':was_owner'] = condition.move.owner;
        conditions.push(`${move}.${field('owner')} = :was_owner`);
      }
    }
    if (sets.length === 0) throw new Error('updateRoute: nothing to update');
    return writeIf(
      this.props.doc.send(
        new UpdateCommand({
          TableName: this.props.routesTable,
          Key: { tenantId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async listCells(): Promise<CellRecord[]> {
    const [registry, routes] = await Promise.all([this.scan(this.props.registryTable), this.listRoutes()]);
    const counts = new Map<string, number>();
    const count = (cellId: string) => counts.set(cellId, (counts.get(cellId) ?? 0) + 1);
    for (const route of routes) {
      count(route.cellId);
      // A tenant on its way in already takes a slot, so two moves cannot overfill a cell.
      if (route.move && route.move.step !== 'done' && route.move.to !== route.cellId) count(route.move.to);
    }
    return registry
      .map((item) => CellSchema.parse(item))
      .map((c) => {
        const maxTenants = c.maxTenants ?? this.props.maxTenants?.[c.cellId];
        return {
          cellId: c.cellId,
          endpoint: c.endpoint,
          region: c.region,
          status: c.status,
          tenantCount: counts.get(c.cellId) ?? 0,
          ...(c.account !== undefined && { account: c.account }),
          ...(c.wave !== undefined && { wave: c.wave }),
          ...(maxTenants !== undefined && { maxTenants }),
        };
      })
      .sort((a, b) => (a.cellId < b.cellId ? -1 : 1));
  }
}
