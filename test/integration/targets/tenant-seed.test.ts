/**
 * `bulkhead tenants seed --target local` against DynamoDB Local: the routing store in its own DynamoDB
 * Local, two cell tables in another, found through a platform state file, as the CLI finds a running
 * local platform.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';

import { CELL_TABLE_PROPS, type LocalAws, startLocalAws, SYNC_DLQ_PROPS } from '../../../harness/local-aws';
import { platformState, type RoutingStore, startRoutingStore } from '../../../harness/routing-store';
import { main } from '../../../lib/cli/main';
import { hashApiKey, verifyApiKey } from '../../../lib/domain/api-keys';
import { createQueueFromCfn, createTableFromCfn } from '../../../lib/local/assembly/cfn-resources';
import { stateFile, writeState } from '../../../lib/local/platform/platform-state';

const CELLS = ['cell-a', 'cell-b'] as const;
const table = (cellId: string) => `table-${cellId}`;

let routing: RoutingStore;
let aws: LocalAws;
let home: string;
let fleetFile: string;
const savedHome = process.env.BULKHEAD_HOME;

function writeFleet(tenants: Record<(typeof CELLS)[number], string[]>): void {
  fs.writeFileSync(
    fleetFile,
    JSON.stringify({
      defaults: { account: '111111111111', region: 'us-east-1' },
      cells: CELLS.map((id, wave) => ({ id, wave, maxTenants: 10, tenants: tenants[id] })),
    }),
  );
}

beforeAll(async () => {
  [routing, aws] = await Promise.all([startRoutingStore(), startLocalAws()]);
  const queues: Record<string, string> = {};
  for (const cellId of CELLS) {
    await createTableFromCfn(aws.ddbClient, table(cellId), CELL_TABLE_PROPS);
    queues[cellId] = await createQueueFromCfn(aws.sqsClient, `sync-${cellId}`, SYNC_DLQ_PROPS, () => '');
    await routing.putCell({ cellId, endpoint: 'http://127.0.0.1:1', region: 'us-east-1', status: 'active' });
  }
  // Declared on cell-a in the fleet file, but moved to cell-b since: seeding must leave it where it is.
  await routing.putRoute({
    tenantId: 'old-timer',
    cellId: 'cell-b',
    status: 'active',
    keyHash: 'h-old',
    createdAt: '2025-01-01T00:00:00.000Z',
  });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-seed-'));
  fleetFile = path.join(home, 'fleet.json');
  writeState(
    stateFile(home),
    platformState(
      routing,
      Object.fromEntries(
        CELLS.map((c) => [
          c,
          { dynamodb: aws.dynamo.endpoint, tableName: table(c), sqs: aws.sqs.endpoint, queueUrl: queues[c] },
        ]),
      ),
    ),
  );
  process.env.BULKHEAD_HOME = home;
}, 90_000);

afterAll(async () => {
  if (savedHome === undefined) delete process.env.BULKHEAD_HOME;
  else process.env.BULKHEAD_HOME = savedHome;
  if (home) fs.rmSync(home, { recursive: true, force: true });
  await Promise.all([routing?.stop(), aws?.stop()]);
});

/** Runs `bulkhead tenants ...args`; what it printed on stdout and stderr. */
async function bulkhead(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((l: string) => void out.push(l));
  const error = jest.spyOn(console, 'error').mockImplementation((l: string) => void err.push(l));
  try {
    return { code: await main(['tenants', ...args]), out, err };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

const routeOf = async (tenantId: string) =>
  (await routing.doc.send(new GetCommand({ TableName: routing.routesTable, Key: { tenantId } }))).Item;

const keyCopyAt = async (cellId: string, tenantId: string) =>
  (
    await aws.ddbClient.send(
      new GetItemCommand({
        TableName: table(cellId),
        Key: { pk: { S: tenantId }, sk: { S: 'TENANT' } },
        ConsistentRead: true,
      }),
    )
  ).Item;

interface SeedJson {
  seeded: { tenantId: string; cellId: string; apiKey: string }[];
  existing: { tenantId: string; cellId: string }[];
  failed: { tenantId: string; cellId: string; reason: string }[];
}

test('seeds the fleet file’s new tenants on their declared cells, prints each key once; a re-run changes nothing', async () => {
  writeFleet({ 'cell-a': ['acme', 'old-timer'], 'cell-b': ['bolt'] });

  const first = await bulkhead('seed', '--target', 'local', '--config', fleetFile, '--json');
  expect(first.code).toBe(0);
  const result = JSON.parse(first.out.join('\n')) as SeedJson;
  expect(result.seeded.map((r) => [r.tenantId, r.cellId])).toEqual([
    ['acme', 'cell-a'],
    ['bolt', 'cell-b'],
  ]);
  expect(result.existing).toEqual([{ tenantId: 'old-timer', cellId: 'cell-b' }]);
  expect(result.failed).toEqual([]);
  expect(first.err.join('\n')).not.toContain('bk_');

  for (const { tenantId, cellId, apiKey } of result.seeded) {
    const route = await routeOf(tenantId);
    expect(route).toMatchObject({ cellId, status: 'active' });
    expect(verifyApiKey(apiKey, route!.keyHash as string)).toBe(true);
    // The cell's own copy, for a router without its store; in that cell only.
    expect(await keyCopyAt(cellId, tenantId)).toMatchObject({
      keyHash: { S: hashApiKey(apiKey) },
      schemaVersion: { N: '1' },
    });
    const other = CELLS.find((c) => c !== cellId)!;
    expect(await keyCopyAt(other, tenantId)).toBeUndefined();
  }
  // The existing tenant is left exactly as it was.
  expect(await routeOf('old-timer')).toMatchObject({ cellId: 'cell-b', keyHash: 'h-old' });
  expect(await keyCopyAt('cell-a', 'old-timer')).toBeUndefined();
  expect(await keyCopyAt('cell-b', 'old-timer')).toBeUndefined();

  // Again: nothing new, nothing rewritten.
  const before = await Promise.all([routeOf('acme'), keyCopyAt('cell-a', 'acme')]);
  const again = await bulkhead('seed', '--target', 'local', '--config', fleetFile, '--json');
  expect(again.code).toBe(0);
  expect(JSON.parse(again.out.join('\n'))).toEqual({
    seeded: [],
    existing: [
      { tenantId: 'acme', cellId: 'cell-a' },
      { tenantId: 'old-timer', cellId: 'cell-b' },
      { tenantId: 'bolt', cellId: 'cell-b' },
    ],
    failed: [],
  });
  expect(await Promise.all([routeOf('acme'), keyCopyAt('cell-a', 'acme')])).toEqual(before);
});

test('a tenant added to the fleet file is seeded with a table of tenant, cell and key; an undeployed cell is reported', async () => {
  writeFleet({ 'cell-a': ['acme', 'old-timer', 'cheeba'], 'cell-b': ['bolt'] });
  const { code, out, err } = await bulkhead('seed', '--target', 'local', '--config', fleetFile);
  expect(code).toBe(0);
  expect(out[0]).toMatch(/^TENANT\s+CELL\s+API KEY$/);
  expect(out.slice(1)).toEqual([expect.stringMatching(/^cheeba\s+cell-a\s+bk_cheeba_[A-Za-z0-9_-]{43}$/)]);
  expect(err).toEqual(
    expect.arrayContaining([
      'seeded 1 tenant; 3 already in the routing store, left alone',
      expect.stringMatching(/^warning: API keys are shown once/),
    ]),
  );
  const key = out[1].split(/\s+/)[2];
  expect(await keyCopyAt('cell-a', 'cheeba')).toMatchObject({ keyHash: { S: hashApiKey(key) } });

  // A fleet file naming a cell that was never deployed (not in the registry): reported, exit 1.
  fs.writeFileSync(
    fleetFile,
    JSON.stringify({
      defaults: { account: '111111111111', region: 'us-east-1' },
      cells: [{ id: 'cell-z', wave: 0, maxTenants: 10, tenants: ['zed'] }],
    }),
  );
  const missing = await bulkhead('seed', '--target', 'local', '--config', fleetFile);
  expect(missing.code).toBe(1);
  expect(missing.err).toEqual(
    expect.arrayContaining([
      '  zed: not seeded: cell cell-z is not in the cell registry: deploy Bulkhead-Cell-cell-z first',
    ]),
  );
  expect(await routeOf('zed')).toBeUndefined();
});

test('usage errors: arguments, a missing fleet file', async () => {
  expect((await bulkhead('seed', 'acme', '--target', 'local')).code).toBe(2);
  const missing = await bulkhead('seed', '--target', 'local', '--config', path.join(home, 'nope.ts'));
  expect(missing.code).toBe(2);
  expect(missing.err).toEqual([expect.stringContaining('no fleet file')]);
});
