/**
 * Releases end to end on the local platform (issue 6): `bulkhead local up` started once for this file, in
 * a home of its own (so it never collides with `npm start` or another e2e file's platform), driven with the
 * real `bulkhead release|drill|rollback|status` CLI while tenants send traffic through the router. The
 * tests run in order and build on each other.
 */
import * as os from 'node:os';

import { closeConnections, type HttpReply, send, sleep } from '../../harness/http-client';
import { type CliResult, type RunningPlatform, startPlatform } from '../../harness/platform-runner';
import type { FleetConfig } from '../../lib/config/types';

jest.setTimeout(300_000);

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
    const traffic = tenantTraffic(Object.keys(CELL_OF));
    const started = Date.now();
    const result = await cli(['release', '--version', 'e2e-r1', '--time-scale', '600', '--json']);
    const ms = Date.now() - started;
    await traffic.stop();
    expect(result.code).toBe(0);
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
    expect(result.stderr).toContain("[rel-a] drill: old version v1 reads the new version's orders: ok");
    for (const tenant of Object.keys(CELL_OF)) {
      const res = await call(tenant, 'GET', '/health');
      expect(res.headers['x-bulkhead-version']).toBe('e2e-r1/2');
    }
    expect(traffic.samples.filter(failed)).toEqual([]);
    // Both versions served tenants during the release: the shift happened under traffic.
    expect(new Set(traffic.samples.map((s) => s.version.split('/')[1]))).toEqual(new Set(['1', '2']));
    process.stderr.write(
      `three-wave release (--time-scale 600, build included): ${(ms / 1000).toFixed(1)} s\n`,
    );
  });

  it('drill bad-release: the canary is rolled back automatically; failures stay on the canary, other cells see none', async () => {
    const traffic = tenantTraffic(Object.keys(CELL_OF));
    const result = await cli(['drill', 'bad-release', '--cell', 'rel-a', '--time-scale', '30', '--json']);
    await traffic.stop();
    expect(result.code).toBe(0);
    const drill = JSON.parse(result.stdout) as {
      ok: boolean;
      release: string;
      result: string;
      timeToRollbackMs: number;
      failuresOnPrevious: number;
      otherCells: { failures: number };
      weightsAfter: Record<string, { version: string; weight: number }[]>;
    };
    expect(drill).toMatchObject({
      ok: true,
      result: 'rolled-back',
      failuresOnPrevious: 0,
      otherCells: { failures: 0 },
    });
    for (const weights of Object.values(drill.weightsAfter))
      expect(weights).toEqual([{ version: '2', weight: 1 }]);

    // Through the router: tenants of other cells saw no error; this cell's errors all came from the new version.
    const others = traffic.samples.filter((s) => CELL_OF[s.tenant] !== 'rel-a');
    expect(others.length).toBeGreaterThan(0);
    expect(others.filter(failed)).toEqual([]);
    const mine = traffic.samples.filter((s) => CELL_OF[s.tenant] === 'rel-a');
    const mineFailed = mine.filter(failed);
    expect(mineFailed.every((s) => s.version === `${drill.release}/3`)).toBe(true);
    // At most the canary's share (10%) of the cell's requests could reach the faulty version.
    expect(mineFailed.length / mine.length).toBeLessThanOrEqual(0.1);
    const after = await call('alpha', 'GET', '/health');
    expect(after.headers['x-bulkhead-version']).toBe('e2e-r1/2');
    process.stderr.write(
      `bad-release drill: rolled back in ${(drill.timeToRollbackMs / 1000).toFixed(2)} s; router traffic of rel-a: ` +
        `${mineFailed.length}/${mine.length} failed; other cells 0/${others.length}\n`,
    );
  });

  it('drill rollback: the old version reads the orders and sync messages the new one wrote, then rolls forward', async () => {
    const result = await cli(['drill', 'rollback', '--cell', 'rel-b', '--time-scale', '600', '--json']);
    expect(result.code).toBe(0);
    const drill = JSON.parse(result.stdout) as {
      record: { ok: boolean; release: string };
      steps: { step: string; ok: boolean }[];
    };
    expect(drill.record.ok).toBe(true);
    expect(drill.steps.map((s) => [s.step, s.ok])).toEqual([
      ['versions known', true],
      ['new version v3 writes (tenant charlie)', true],
      ['roll back', true],
      ['new version v3 writes while v2 is live', true],
      ["old version v2 reads the new version's orders", true],
      ["old sync worker processes the new version's message", true],
      ['roll forward to v3', true],
    ]);
    const res = await call('charlie', 'GET', '/health');
    expect(res.headers['x-bulkhead-version']).toBe(`${drill.record.release}/3`);
  });

  it('a manual rollback while tenants send orders loses no request that the client retries', async () => {
    const outcomes: { key: string; reply: HttpReply; attempts: number }[] = [];
    let running = true;
    const orders = ['echo', 'foxtrot'].map(async (tenant) => {
      for (let n = 0; running; n++) {
        const key = `e2e-${tenant}-${n}`;
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
      }
    });
    await sleep(1000);
    const rollback = await cli([
      'rollback',
      '--cell',
      'rel-c',
      '--reason',
      'e2e: manual rollback under traffic',
    ]);
    await sleep(1000);
    running = false;
    await Promise.all(orders);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toMatch(
      /^rel-c: rolled back the live alias \(bulkhead-rel-c-api v2→v1, .*\): traffic back in /,
    );
    expect(outcomes.filter((o) => o.reply.status !== 201)).toEqual([]);
    const versions = new Set(outcomes.map((o) => String(o.reply.headers['x-bulkhead-version'])));
    expect(versions).toEqual(new Set(['e2e-r1/2', 'v0.1.0/1']));
    // Every order the client was told about is there, read by the version now live.
    for (const o of outcomes) {
      const [tenant] = o.key.split('/');
      const id = (o.reply.json as { id: string }).id;
      expect((await call(tenant, 'GET', `/orders/${id}`)).status).toBe(200);
    }
    process.stderr.write(
      `manual rollback under traffic: ${outcomes.length} orders, ${outcomes.filter((o) => o.attempts > 1).length} needed a retry\n`,
    );
  });

  it('status shows each cell’s wave, live versions, deployments, alarms and last release and rollback', async () => {
    const result = await cli(['status', '--json']);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as {
      cells: {
        cell: string;
        wave: number;
        functions: { name: string; weights: unknown; release: string }[];
        deployment: unknown;
        alarms: string[];
        lastRollback: { who: string; why: string } | null;
      }[];
    };
    const c = status.cells.find((x) => x.cell === 'rel-c')!;
    expect(c.wave).toBe(2);
    expect(c.functions.find((f) => f.name === 'bulkhead-rel-c-api')).toMatchObject({
      weights: [{ version: '1', weight: 1 }],
    });
    expect(c.deployment).toBeNull();
    expect(c.alarms).toEqual([]);
    expect(c.lastRollback).toMatchObject({
      who: os.userInfo().username,
      why: 'e2e: manual rollback under traffic',
    });
    const a = status.cells.find((x) => x.cell === 'rel-a')!;
    expect(a.lastRollback).toMatchObject({ who: 'bulkhead (automatic)' });
    // The status page shows the same release log.
    const page = await fetch(platform.state.statusPage).then((r) => r.text());
    expect(page).toContain('e2e: manual rollback under traffic');
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
