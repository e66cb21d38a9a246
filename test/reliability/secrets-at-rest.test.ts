/**
 * API keys at rest: the running platform seeded every tenant of the fleet with a fresh key. The routing
 * store and every cell table must hold only the keys' hashes: no item anywhere may contain a key or its
 * secret part. (The platform's own state file hands the keys to the local operator, readable by its
 * owner only.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';

import { hashApiKey } from '../../lib/domain/api-keys';

import { figure, platform, secretOf, TENANTS } from './support';

async function everyItem(endpoint: string): Promise<{ table: string; text: string }[]> {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const items: { table: string; text: string }[] = [];
  try {
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    for (const table of TableNames) {
      let start: Record<string, never> | undefined;
      do {
        const out = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        for (const item of out.Items ?? []) items.push({ table, text: JSON.stringify(item) });
        start = out.LastEvaluatedKey as typeof start;
      } while (start);
    }
  } finally {
    client.destroy();
  }
  return items;
}

test('the routing store and every cell table hold key hashes only, never a key', async () => {
  const { state, home } = platform();
  const stores = [state.routingStore.endpoint, ...Object.values(state.cells).map((c) => c.dynamodb)];
  const items = (await Promise.all(stores.map(everyItem))).flat();
  const keys = TENANTS.map((t) => state.tenants[t].apiKey);
  const exposed = items.filter(({ text }) =>
    keys.some((k) => text.includes(k) || text.includes(secretOf(k))),
  );
  const routes = items
    .filter(({ table }) => table === state.routingStore.routesTable)
    .map(({ text }) => text);
  const hashed = TENANTS.filter((t) => routes.some((r) => r.includes(hashApiKey(state.tenants[t].apiKey))));
  const mode = (fs.statSync(path.join(home, 'platform.json')).mode & 0o777).toString(8);

  figure('keys at rest', {
    'items scanned': items.length,
    tables: new Set(items.map((i) => i.table)).size,
    'plaintext keys found': exposed.length,
    'routes with the key hash': `${hashed.length}/${TENANTS.length}`,
    'state file mode': mode,
  });
  expect(exposed.map((e) => e.table)).toEqual([]);
  expect(hashed).toEqual([...TENANTS]);
  expect(mode).toBe('600');
});
