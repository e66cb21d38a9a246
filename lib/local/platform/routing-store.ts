/** The router's store as the platform fills it at start: the cell registry and the fleet's tenants. */
import { DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';

import type { Fleet } from '../../config/types';
import { tenantKeyItem } from '../../contracts/cell-items';
import { CELL_REGISTRY_TABLE, ROUTES_TABLE } from '../../contracts/names';
import { generateApiKey, hashApiKey } from '../../domain/api-keys';

import type { StackRuntime } from './cell-runtime';

export interface SeedInput {
  readonly fleet: Fleet;
  readonly cells: ReadonlyMap<string, StackRuntime>;
  readonly secrets: ReadonlyMap<string, string>;
  readonly routerDoc: DynamoDBDocumentClient;
}

/**
 * The registry gets each cell's local endpoint and secret; the fleet's tenants get fresh keys, routed
 * to their cells. Returns every tenant's API key.
 */
export async function seedRoutingStore(input: SeedInput): Promise<Map<string, string>> {
  const { routerDoc: doc } = input;
  const keys = new Map<string, string>();
  const now = new Date().toISOString();
  for (const cell of input.fleet.cells) {
    const runtime = input.cells.get(cell.id);
    if (!runtime) throw new Error(`cell ${cell.id} of the fleet file is not in the synthesized app`);
    const { id: cellId, region, account, wave, maxTenants } = cell;
    const secret = input.secrets.get(cell.id);
    const registryItem = {
      cellId,
      endpoint: runtime.endpoint,
      region,
      account,
      wave,
      maxTenants,
      status: 'active',
      secret,
    };
    await doc.send(new PutCommand({ TableName: CELL_REGISTRY_TABLE, Item: registryItem }));
    for (const tenant of cell.tenants) {
      const key = generateApiKey(tenant.id);
      keys.set(tenant.id, key);
      // The cell keeps its own copy of the key hash, so it can check a key the router could not look up.
      await DynamoDBDocumentClient.from(runtime.clients().dynamo).send(
        new PutCommand({ TableName: runtime.tableName(), Item: tenantKeyItem(tenant.id, hashApiKey(key)) }),
      );
      const route = {
        tenantId: tenant.id,
        cellId,
        status: 'active',
        keyHash: hashApiKey(key),
        createdAt: now,
      };
      await doc.send(new PutCommand({ TableName: ROUTES_TABLE, Item: route }));
    }
  }
  return keys;
}

/** Tenants as the routing store has them (the CLI may have placed or moved some). */
export async function listRoutes(
  doc: DynamoDBDocumentClient,
): Promise<{ tenantId: string; cellId: string; status: string }[]> {
  const out = await doc.send(new ScanCommand({ TableName: ROUTES_TABLE }));
  return (out.Items ?? []).map((i) => ({
    tenantId: String(i.tenantId),
    cellId: String(i.cellId),
    status: String(i.status),
  }));
}
