/**
 * The router's store as the platform fills it at start: what only the local platform keeps in the cell
 * registry (each cell's capacity, and its secret when IAM is not enforced) beside what the cells'
 * registration custom resources wrote, and the fleet's tenants.
 */
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';

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
  /** The keys the platform issued in an earlier run, by tenant. */
  readonly knownKeys: ReadonlyMap<string, string>;
}

export interface Seeded {
  /** Every fleet tenant's key and the cell its route names. */
  readonly tenants: ReadonlyMap<string, { readonly key: string; readonly cellId: string }>;
  /** Tenants that got a new key in this run (not routed before, or their key was not kept). */
  readonly newKeys: readonly string[];
}

/**
 * Each registered cell gets its capacity (and secret, when there is one) in the registry, beside what its
 * registration custom resource wrote; an operator's status (say `draining`) stays. Each tenant of the fleet
 * file keeps its route (a move may have put it on another cell) and its key from the last run; one not
 * routed yet is routed to its declared cell with a new key, and one whose key the platform no longer holds
 * gets a new key on the cell its route names.
 */
export async function seedRoutingStore(input: SeedInput): Promise<Seeded> {
  const { routerDoc: doc } = input;
  const tenants = new Map<string, { key: string; cellId: string }>();
  const newKeys: string[] = [];
  const now = new Date().toISOString();
  for (const cell of input.fleet.cells) {
    const runtime = input.cells.get(cell.id);
    if (!runtime) throw new Error(`cell ${cell.id} of the fleet file is not in the synthesized app`);
    const cellId = cell.id;
    const secret = input.secrets.get(cell.id);
    await doc
      .send(
        new UpdateCommand({
          TableName: CELL_REGISTRY_TABLE,
          Key: { cellId },
          UpdateExpression: `SET maxTenants = :max${secret ? ', secret = :secret' : ''}`,
          ConditionExpression: 'attribute_exists(cellId)',
          ExpressionAttributeValues: { ':max': cell.maxTenants, ...(secret && { ':secret': secret }) },
        }),
      )
      .catch((error: Error) => {
        if (error.name !== 'ConditionalCheckFailedException') throw error;
        throw new Error(
          `cell ${cellId} is not in the registry: its registration custom resource did not register it`,
        );
      });
  }
  for (const cell of input.fleet.cells) {
    for (const tenant of cell.tenants) {
      const route = (
        await doc.send(new GetCommand({ TableName: ROUTES_TABLE, Key: { tenantId: tenant.id } }))
      ).Item;
      const known = input.knownKeys.get(tenant.id);
      const cellId = route ? String(route.cellId) : cell.id;
      if (route && known && hashApiKey(known) === route.keyHash) {
        tenants.set(tenant.id, { key: known, cellId });
        continue;
      }
      const key = generateApiKey(tenant.id);
      const runtime = input.cells.get(cellId);
      if (!runtime)
        throw new Error(`tenant ${tenant.id} is routed to cell ${cellId}, which is not in the fleet`);
      // The cell keeps its own copy of the key hash, so it can check a key the router could not look up.
      await DynamoDBDocumentClient.from(runtime.clients().dynamo).send(
        new PutCommand({ TableName: runtime.tableName(), Item: tenantKeyItem(tenant.id, hashApiKey(key)) }),
      );
      const item = route
        ? { ...route, keyHash: hashApiKey(key) }
        : { tenantId: tenant.id, cellId, status: 'active', keyHash: hashApiKey(key), createdAt: now };
      await doc.send(new PutCommand({ TableName: ROUTES_TABLE, Item: item }));
      tenants.set(tenant.id, { key, cellId });
      newKeys.push(tenant.id);
    }
  }
  return { tenants, newKeys };
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
