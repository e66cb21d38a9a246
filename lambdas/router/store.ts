/** The routing store on DynamoDB: the routes table (pk `tenantId`) and the cell registry (pk `cellId`). */
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';

import type { CellRoute, TenantRoute } from '../../lib/domain/route-cache';

import type { RoutingStore } from './router';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** A routes item, or `undefined` if it is not one the router can use (treated as an unknown tenant). */
export function tenantRouteOf(item: Record<string, unknown> | undefined): TenantRoute | undefined {
  const cellId = str(item?.cellId);
  const status = str(item?.status);
  const keyHash = str(item?.keyHash);
  return cellId && status && keyHash ? { cellId, status, keyHash } : undefined;
}

/** A registry item, or `undefined` if it is not usable (the cell then answers 503). */
export function cellRouteOf(item: Record<string, unknown> | undefined): CellRoute | undefined {
  const endpoint = str(item?.endpoint);
  const status = str(item?.status);
  const secret = str(item?.secret);
  if (!endpoint || !status) return undefined;
  return secret ? { endpoint, status, secret } : { endpoint, status };
}

export class DynamoRoutingStore implements RoutingStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly routesTable: string,
    private readonly registryTable: string,
  ) {}

  async getTenant(tenantId: string): Promise<TenantRoute | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.routesTable, Key: { tenantId } }));
    return tenantRouteOf(Item);
  }

  async getCell(cellId: string): Promise<CellRoute | undefined> {
    const { Item } = await this.ddb.send(new GetCommand({ TableName: this.registryTable, Key: { cellId } }));
    return cellRouteOf(Item);
  }
}
