/**
 * Releases end to end on the local platform (issue 6): `bulkhead local up` started once for this file, in
 * a home of its own (so it never collides with `npm start` or another e2e file's platform), driven with the
 * real `bulkhead release|drill|rollback|status` CLI while tenants send traffic through the router. Each
 * test reads the versions it starts from and sets up what it needs (a release to roll back, say), so any
 * one of them runs alone or in any order; waits are on what the platform answers, never on the clock.
 */
import * as os from 'node:os';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';

import { closeConnections, type HttpReply, send, sleep } from '../../harness/http-client';
import { type CliResult, type RunningPlatform, startPlatform } from '../../harness/platform-runner';
import type { FleetConfig } from '../../lib/config/types';

// A release builds the fleet once (a synth) and shifts three cells; on a loaded machine that takes minutes.
jest.setTimeout(600_000);

const integration = { baseUrl: 'https://compliance.example.com', ratePerSecond: 50, burst: 10 };
const FLEET: FleetConfig = {
  defaults: { account: '111111111111', region: 'us-east-1', bakeMinutes: 10 },
  cells: [
    {
      id: 'rel-a',
      wave: 0,
      maxTenants: 10,
      bakeMinutes: 15,
      deployment: { type: 'canary', percent: 10, intervalMinutes: 10 },
      tenants: [{ id: 'alpha', integration }, 'bravo'],
    },
    {
      id: 'rel-b',
      wave: 1,
      maxTenants: 10,
      deployment: { type: 'linear', percent: 25, intervalMinutes: 2 },
      tenants: [{ id: 'charlie', integration }, 'delta'],
    },
    {
      id: 'rel-c',
      wave: 2,
      maxTenants: 10,
      deployment: { type: 'canary', percent: 20, intervalMinutes: 5 },
      tenants: [{ id: 'echo', integration }, 'foxtrot'],
    },
  ],
};
const CELL_OF: Record<string, string> = {
  alpha: 'rel-a',
  bravo: 'rel-a',
  charlie: 'rel-b',
  delta: 'rel-b',
  echo: 'rel-c',
  foxtrot: 'rel-c',
};
const SKU = 'e2e-release-sku';

let platform: RunningPlatform;

const cli = async (args: string[]): Promise<CliResult> => {
  const result = await platform.cli(args);
  if (result.code !== 0 && result.code !== 1) {
    throw new Error(`bulkhead ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return result;
};

function call(
  tenant: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return send(platform.state.router, {
    method,
    path,
    headers: {
      authorization: `Bearer ${platform.state.tenants[tenant].apiKey}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

interface Sample {
  readonly tenant: string;
  readonly status: number;
  /** The error of a failed answer (the router's own, or the cell's). */
  readonly error?: string;
  /** `x-bulkhead-version`: `<release>/<version>`. */
  readonly version: string;
}

/** Tenants reading through the router, one loop per tenant, until stopped. */
function tenantTraffic(tenants: readonly string[]) {
  const samples: Sample[] = [];
  let running = true;
  const loops = tenants.map(async (tenant) => {
    while (running) {
      const res = await call(tenant, 'GET', `/inventory/${SKU}`);
      samples.push({
        tenant,
        status: res.status,
        version: String(res.headers['x-bulkhead-version'] ?? ''),
        ...(res.status >= 500 && { error: (res.json as { error?: string } | undefined)?.error ?? res.error }),
      });
      await sleep(5);
    }
  });
  return {
    samples,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

const failed = (s: Sample) => s.status === 0 || s.status >= 500;

/** What the state system (or, for the drill tenant, its sandbox) holds for a tenant. */
async function receipts(tenant: string): Promise<{ externalNumber: string | null; voided: boolean }[]> {
  const listed = await cli(['local', 'compliance', 'receipts', tenant, '--json']);
  if (listed.code !== 0) throw new Error(`local compliance receipts ${tenant}: ${listed.stderr}`);
  return (JSON.parse(listed.stdout) as { receipts: { externalNumber: string | null; voided: boolean }[] })
    .receipts;
}

/** Every item of a cell's table, read straight from its DynamoDB Local. */
async function cellItems(cellId: string): Promise<Record<string, unknown>[]> {
  const cell = platform.state.cells[cellId];
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: cell.dynamodb,
      region: cell.region ?? 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: cell.tableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  client.destroy();
  return items;
}

/** A cell API's live alias, as `bulkhead status --json` reports it. */
interface ApiStatus {
  readonly weights: readonly { version: string; weight: number }[];
  readonly release: string | null;
  readonly previous: string | null;
}

interface StatusJson {
  cells: {
    cell: string;
    wave: number;
    functions: ({ name: string } & ApiStatus)[];
    deployment: unknown;
    alarms: string[];
    lastRollback: { who: string; why: string } | null;
  }[];
}

async function status(): Promise<StatusJson> {
  return JSON.parse((await cli(['status', '--json'])).stdout) as StatusJson;
}

async function apiOf(cellId: string): Promise<ApiStatus> {
  const cell = (await status()).cells.find((c) => c.cell === cellId)!;
  return cell.functions.find((f) => f.name === `bulkhead-${cellId}-api`)!;
}

/** The version of `cellId`'s API that is whole on its live alias. */
async function liveVersion(cellId: string): Promise<string> {
  const { weights } = await apiOf(cellId);
  expect(weights).toHaveLength(1);
  return weights[0].version;
}

/** What serves the tenant now, through the router: `<release>/<version>`. */
async function servedBy(tenant: string): Promise<string> {
  return String((await call(tenant, 'GET', '/health')).headers['x-bulkhead-version']);
}

let labels = 0;
const label = (what: string) => `e2e-${what}-${Date.now().toString(36)}-${++labels}`;

/** `drill rollback` on a cell: a new release on it, with a previous version to go back to. */
async function releaseWithDrill(cellId: string): Promise<{ release: string; version: string }> {
  const release = label('setup');
  const drill = await cli([
    'drill',
    'rollback',
    '--cell',
    cellId,
    '--version',
    release,
    '--time-scale',
    '600',
  ]);
  if (drill.code !== 0)
    throw new Error(`setup: drill rollback on ${cellId} failed:\n${drill.stdout}${drill.stderr}`);
  return { release, version: await liveVersion(cellId) };
}

/** Resolves once `count` more of `done` have happened (a counter the caller bumps with `tick`). */
function counter() {
  let n = 0;
  const waiting: { at: number; resolve: () => void }[] = [];
  return {
    tick() {
      n += 1;
      for (const w of waiting.filter((x) => x.at <= n)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    },
    more: (count: number) => new Promise<void>((resolve) => waiting.push({ at: n + count, resolve })),
  };
}

beforeAll(async () => {
  platform = await startPlatform({ fleet: FLEET, timeScale: 60, label: 'release-e2e' });
  for (const tenant of Object.keys(CELL_OF)) {
    const res = await call(tenant, 'PUT', `/inventory/${SKU}`, { quantity: 1_000_000, priceCents: 100 });
    expect(res.status).toBe(200);
  }
});

afterAll(async () => {
  closeConnections();
  await platform?.stop();
});

describe('releases on the local platform', () => {
  it('a good release reaches every wave, drilling its rollback on wave 0, with no tenant error', async () => {
    const cells = [...new Set(Object.values(CELL_OF))];
    const before = Object.fromEntries(await Promise.all(cells.map(async (c) => [c, await liveVersion(c)])));
    const release = label('good');
    const traffic = tenantTraffic(Object.keys(CELL_OF));
    const started = Date.now();
    const result = await cli(['release', '--version', release, '--time-scale', '600', '--json']);
    const ms = Date.now() - started;
    await traffic.stop();
    // On failure, what the release said last.
    expect({
      code: result.code,
      said: result.code === 0 ? [] : result.stderr.split('\n').slice(-12),
    }).toEqual({
      code: 0,
      said: [],
    });
    const report = JSON.parse(result.stdout) as {
      state: string;
      reached: string[];
      waves: { wave: number; state: string; outcomes: { cellId: string; result: string }[] }[];
    };
    expect(report.state).toBe('succeeded');
    expect(report.waves.map((w) => [w.wave, w.state, w.outcomes.map((o) => [o.cellId, o.result])])).toEqual([
      [0, 'released', [['rel-a', 'succeeded']]],
      [1, 'released', [['rel-b', 'succeeded']]],
      [2, 'released', [['rel-c', 'succeeded']]],
    ]);
    expect(result.stderr).toContain('[rel-a] smoke test passed');
    expect(result.stderr).toMatch(/\[rel-a\] drill: old version v\d+ reads the new version's orders: ok/);
    expect(traffic.samples.filter(failed)).toEqual([]);
    for (const cell of cells) {
      const now = await liveVersion(cell);
      expect(now).not.toBe(before[cell]);
      for (const tenant of Object.keys(CELL_OF).filter((t) => CELL_OF[t] === cell)) {
        expect(await servedBy(tenant)).toBe(`${release}/${now}`);
      }
      // Both versions served the cell's tenants during the release: the shift happened under traffic.
      const served = new Set(
        traffic.samples.filter((s) => CELL_OF[s.tenant] === cell).map((s) => s.version.split('/')[1]),
      );
      expect(served).toEqual(new Set([before[cell], now]));
    }
    process.stderr.write(
      `three-wave release (--time-scale 600, build included): ${(ms / 1000).toFixed(1)} s\n`,
    );
  });

  it('drill bad-release: the canary is rolled back automatically; failures stay on the canary, other cells see none', async () => {
    const before = (await status()).cells.find((c) => c.cell === 'rel-a')!.functions;
    const servedBefore = await servedBy('alpha');
    const traffic = tenantTraffic(Object.keys(CELL_OF));
    const result = await cli(['drill', 'bad-release', '--cell', 'rel-a', '--time-scale', '30', '--json']);
    await traffic.stop();
    expect({
      printed: result.stdout !== '',
      said: result.stdout ? [] : result.stderr.split('\n').slice(-12),
    }).toEqual({
      printed: true,
      said: [],
    });
    const drill = JSON.parse(result.stdout) as {
      ok: boolean;
      release: string;
      result: string;
      reason?: string;
      timeToRollbackMs: number;
      failuresOnPrevious: number;
      otherCells: { failures: number };
      weightsAfter: Record<string, { version: string; weight: number }[]>;
      problems: string[];
    };
    // What the drill found wrong, if anything, before its exit code.
    expect({ problems: drill.problems, reason: drill.reason }).toEqual({
      problems: [],
      reason: expect.anything(),
    });
    expect(result.code).toBe(0);
    expect(drill).toMatchObject({
      ok: true,
      result: 'rolled-back',
      failuresOnPrevious: 0,
      otherCells: { failures: 0 },
    });
    // Every function of the cell is whole on the version it was on before.
    expect(drill.weightsAfter).toEqual(Object.fromEntries(before.map((f) => [f.name, f.weights])));
    expect(before.every((f) => f.weights.length === 1)).toBe(true);

    // Through the router: tenants of other cells saw no error; this cell's errors all came from the new version.
    const others = traffic.samples.filter((s) => CELL_OF[s.tenant] !== 'rel-a');
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter(failed)).toEqual([]);
    const mine = traffic.samples.filter((s) => CELL_OF[s.tenant] === 'rel-a');
    const mineFailed = mine.filter(failed);
    expect(mineFailed.filter((s) => !s.version.startsWith(`${drill.release}/`))).toEqual([]);
    // At most the canary's share (10%) of the cell's requests could reach the faulty version.
    expect(mineFailed.length / mine.length).toBeLessThanOrEqual(0.1);
    expect(await servedBy('alpha')).toBe(servedBefore);
    // The release log says the deployer rolled it back, not an operator.
    const a = (await status()).cells.find((x) => x.cell === 'rel-a')!;
    expect(a.lastRollback).toMatchObject({ who: 'bulkhead (automatic)' });
    process.stderr.write(
      `bad-release drill: rolled back in ${(drill.timeToRollbackMs / 1000).toFixed(2)} s; router traffic of rel-a: ` +
        `${mineFailed.length}/${mine.length} failed; other cells 0/${others.length}\n`,
    );
  });

  it('drill rollback: the old version reads the orders and sync messages the new one wrote, then rolls forward', async () => {
    const old = await liveVersion('rel-b');
    const sandboxBefore = await receipts('bulkhead-drill');
    const result = await cli(['drill', 'rollback', '--cell', 'rel-b', '--time-scale', '600', '--json']);
    expect(result.code).toBe(0);
    const drill = JSON.parse(result.stdout) as {
      record: { ok: boolean; release: string };
      steps: { step: string; ok: boolean }[];
    };
    expect(drill.record.ok).toBe(true);
    const now = await liveVersion('rel-b');
    expect(now).not.toBe(old);
    expect(drill.steps.map((s) => [s.step, s.ok])).toEqual([
      ['versions known', true],
      [`new version v${now} writes (tenant bulkhead-drill)`, true],
      ['roll back', true],
      [`new version v${now} writes while v${old} is live`, true],
      [`old version v${old} reads the new version's orders`, true],
      ["old sync worker sends the new version's orders to the sandbox", true],
      [`roll forward to v${now}`, true],
      ["remove bulkhead-drill's data", true],
    ]);
    expect(await servedBy('charlie')).toBe(`${drill.record.release}/${now}`);

    // The drill's two orders went to the sandbox, once each; the state system never saw them.
    const sent = (await receipts('bulkhead-drill')).filter(
      (r) => !sandboxBefore.some((b) => b.externalNumber === r.externalNumber),
    );
    expect(sent.map((r) => r.voided)).toEqual([false, false]);
    const real = (await (await fetch(`${platform.state.compliance.url}/_control/receipts`)).json()) as {
      ExternalReceiptNumber?: string;
    }[];
    expect(real.filter((r) => sent.some((d) => d.externalNumber === r.ExternalReceiptNumber))).toEqual([]);
    // Nothing of the drill is left in the cell, and no real tenant holds anything of it.
    const items = await cellItems('rel-b');
    expect(items.filter((i) => i.pk === 'bulkhead-drill')).toEqual([]);
    expect(items.filter((i) => JSON.stringify(i).includes('bulkhead-drill'))).toEqual([]);
  });

  it('a manual rollback while tenants send orders loses no request that the client retries', async () => {
    const { release, version } = await releaseWithDrill('rel-c');
    const previous = (await apiOf('rel-c')).previous!;
    const outcomes: { key: string; reply: HttpReply; attempts: number }[] = [];
    const answered = counter();
    let running = true;
    const orders = ['echo', 'foxtrot'].map(async (tenant) => {
      for (let n = 0; running; n++) {
        const key = `${release}-${tenant}-${n}`;
        let reply: HttpReply;
        let attempts = 0;
        do {
          attempts += 1;
          reply = await call(
            tenant,
            'POST',
            '/orders',
            { items: [{ sku: SKU, quantity: 1 }] },
            { 'idempotency-key': key },
          );
          if (reply.status === 0 || reply.status >= 500) await sleep(50 * attempts);
        } while ((reply.status === 0 || reply.status >= 500) && attempts < 5);
        outcomes.push({ key: `${tenant}/${key}`, reply, attempts });
        answered.tick();
      }
    });
    // Orders under way on the release, then the rollback, then orders answered by the version before.
    await answered.more(20);
    const reason = `e2e: manual rollback under traffic (${release})`;
    const rollback = await cli(['rollback', '--cell', 'rel-c', '--reason', reason]);
    await answered.more(20);
    running = false;
    await Promise.all(orders);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toMatch(
      new RegExp(
        `^rel-c: rolled back the live alias \\(bulkhead-rel-c-api v${version}→v${previous}, .*\\): traffic back in `,
      ),
    );
    expect(outcomes.filter((o) => o.reply.status !== 201)).toEqual([]);
    const servedNow = await servedBy('echo');
    expect(servedNow).toMatch(new RegExp(`/${previous}$`));
    const versions = new Set(outcomes.map((o) => String(o.reply.headers['x-bulkhead-version'])));
    expect(versions).toEqual(new Set([`${release}/${version}`, servedNow]));
    // Every order the client was told about is there, read by the version now live.
    for (const o of outcomes) {
      const [tenant] = o.key.split('/');
      const id = (o.reply.json as { id: string }).id;
      expect((await call(tenant, 'GET', `/orders/${id}`)).status).toBe(200);
    }
    // Status and the status page show who rolled back and why.
    const c = (await status()).cells.find((x) => x.cell === 'rel-c')!;
    expect(c.lastRollback).toMatchObject({ who: os.userInfo().username, why: reason });
    const page = await fetch(platform.state.statusPage).then((r) => r.text());
    expect(page).toContain(reason);
    process.stderr.write(
      `manual rollback under traffic: ${outcomes.length} orders, ${outcomes.filter((o) => o.attempts > 1).length} needed a retry\n`,
    );
  });

  it('status shows each cell’s wave, live versions, no deployment under way and no alarm', async () => {
    const { cells } = await status();
    expect(cells.map((c) => [c.cell, c.wave])).toEqual([
      ['rel-a', 0],
      ['rel-b', 1],
      ['rel-c', 2],
    ]);
    for (const c of cells) {
      const api = c.functions.find((f) => f.name === `bulkhead-${c.cell}-api`)!;
      expect(api.weights).toEqual([{ version: expect.stringMatching(/^\d+$/), weight: 1 }]);
      expect(c.deployment).toBeNull();
      expect(c.alarms).toEqual([]);
    }
  });

  it('refuses bad input with one line and a non-zero exit', async () => {
    const unknownCell = await platform.cli(['rollback', '--cell', 'nope', '--reason', 'x']);
    expect(unknownCell.code).toBe(2);
    expect(unknownCell.stderr.trim()).toBe(
      "bulkhead rollback: unknown cell 'nope'; cells: rel-a, rel-b, rel-c",
    );
    const noReason = await platform.cli(['rollback', '--cell', 'rel-a']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr.trim().split('\n')).toHaveLength(1);
    const badWave = await platform.cli(['release', '--waves', '9']);
    expect(badWave.code).toBe(2);
    expect(badWave.stderr.trim()).toBe('bulkhead release: wave 9: no cell is in it; waves: 0, 1, 2');
  });
});
