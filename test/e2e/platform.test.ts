/**
 * End to end against the local platform (issue 5): `bulkhead local up` with a small fleet, started once
 * for this file as a child process, and driven through the router only, with the real `bulkhead local
 * fault` CLI. The tests run in order and build on each other, like a drill.
 *
 * The platform runs in a home of its own (`--home`, a temp directory): it never meets `npm start` or
 * another suite's platform. It is started once for the whole file (a synth and a dozen processes), and
 * the checks share it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

import { descendants, isPlatformService, type ProcessInfo, stillAlive } from '../../harness/processes';
import { until } from '../../harness/wait';
import { LocalPlatform } from '../../lib/local/platform/platform';
import { type PlatformState, readState, stateFile } from '../../lib/local/platform/platform-state';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'bulkhead.js');
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(os.tmpdir(), 'status-page.png');
const execFileAsync = promisify(execFile);

const integration = { baseUrl: 'https://compliance.example.com', ratePerSecond: 20, burst: 5 };
const FLEET = {
  defaults: { account: '111111111111', region: 'us-east-1' },
  cells: [
    { id: 'e2e-a', wave: 0, maxTenants: 10, tenants: [{ id: 'alpha', integration }, 'bravo', 'charlie'] },
    { id: 'e2e-b', wave: 1, maxTenants: 10, tenants: [{ id: 'delta', integration }, 'echo'] },
  ],
};
const CELL_OF: Record<string, string> = {
  alpha: 'e2e-a',
  bravo: 'e2e-a',
  charlie: 'e2e-a',
  delta: 'e2e-b',
  echo: 'e2e-b',
};
const TENANTS = Object.keys(CELL_OF);
const INTEGRATED = ['alpha', 'delta'];
const tenantsOf = (cell: string) => TENANTS.filter((t) => CELL_OF[t] === cell);
/** The router's route cache TTL (ROUTE_CACHE_TTL_SECONDS, not time-scaled). */
const ROUTER_CACHE_TTL_MS = 30_000;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-e2e-'));
const fleetFile = path.join(tmp, 'fleet.json');
const readyFile = path.join(tmp, 'ready.json');
const home = path.join(tmp, 'home');
const assemblyCopy = path.join(tmp, 'assembly');
fs.writeFileSync(fleetFile, JSON.stringify(FLEET, null, 2));

let platform: ChildProcess | undefined;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let output = '';
let state: PlatformState;
/** Every process seen below the platform: after SIGTERM none may be left (they outlive no parent). */
const seen = new Map<number, ProcessInfo>();
/** What each tenant wrote before the faults: it must read back after them. */
const written: Record<string, { sku: string; quantity: number; orderId: string }> = {};

const snapshot = () => {
  if (platform?.pid) for (const p of descendants(platform.pid)) seen.set(p.pid, p);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or 'timeout' after `ms` (the timer does not outlive the answer). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
  readonly ms: number;
}

/** One request through the router, as tenant `tenant`. */
async function call(
  tenant: string,
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const started = performance.now();
  const res = await fetch(`${state.router}${pathname}`, {
    method,
    headers: {
      authorization: `Bearer ${state.tenants[tenant].apiKey}`,
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed, ms: performance.now() - started };
}

/** Fails with the request and the answer when the status is not the expected one. */
function expectStatus(reply: Reply, status: number, what: string): void {
  if (reply.status !== status) {
    throw new Error(`${what}: expected ${status}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  }
}

/** The real CLI, as an operator runs it. */
async function fault(kind: string, cell?: string): Promise<void> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [CLI, 'local', 'fault', kind, ...(cell ? [cell] : []), '--home', home],
    {
      cwd: ROOT,
      timeout: 60_000,
    },
  );
  expect(stdout).toContain('done');
  snapshot();
}

/** Runs `jobs` with at most `concurrency` in flight. */
async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]();
      }
    }),
  );
  return results;
}

async function integrationStatus(tenant: string): Promise<{ status: string; pending: number }> {
  const reply = await call(tenant, 'GET', '/integration/status');
  expectStatus(reply, 200, `${tenant} GET /integration/status`);
  return reply.body as { status: string; pending: number };
}

/**
 * 300 requests of the healthy cell's tenants (a third of them writes), with every tenth request one of
 * the downed cell's tenants in the same stream, 10 at a time.
 */
async function loadDuringOutage(
  healthy: readonly string[],
  downed: readonly string[],
): Promise<{ tenant: string; reply: Reply }[]> {
  const jobs: (() => Promise<{ tenant: string; reply: Reply }>)[] = [];
  for (let i = 0; i < 300; i++) {
    const tenant = healthy[i % healthy.length];
    jobs.push(async () => ({
      tenant,
      reply:
        i % 3 === 0
          ? await call(tenant, 'PUT', `/inventory/load-${i % 20}`, { quantity: i, priceCents: 100 })
          : await call(tenant, 'GET', `/inventory/${written[tenant].sku}`),
    }));
    if (i % 10 === 0) {
      const other = downed[(i / 10) % downed.length];
      jobs.push(async () => ({
        tenant: other,
        reply: await call(other, 'GET', `/inventory/${written[other].sku}`),
      }));
    }
  }
  return pool(jobs, 10);
}

describe('the local platform, end to end through the router', () => {
  beforeAll(async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'local',
        'up',
        '--port',
        '0',
        '--ready-file',
        readyFile,
        '--config',
        fleetFile,
        '--time-scale',
        '60',
        '--home',
        home,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    platform = child;
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let gone = false;
    void exited.then(() => (gone = true));
    state = await until('the platform to write its ready file', 180_000, async () => {
      if (gone) throw new Error(`the platform exited before it was ready:\n${output}`);
      if (!fs.existsSync(readyFile)) return undefined;
      return JSON.parse(fs.readFileSync(readyFile, 'utf8')) as PlatformState;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n--- platform output ---\n${output}`);
    });
    snapshot();
    // The assembly this start synthesized, for the wiring-fault test (it reuses it instead of synthesizing).
    const marker = JSON.parse(fs.readFileSync(path.join(home, 'cdk.out', 'bulkhead-local.json'), 'utf8')) as {
      config: string;
    };
    expect(marker.config).toBe(fleetFile);
    fs.cpSync(path.join(home, 'cdk.out'), assemblyCopy, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    // Normally the last test has stopped it; after a failure, do not leave it running.
    if (platform && platform.exitCode === null && platform.signalCode === null) {
      platform.kill('SIGTERM');
      await within(exited, 20_000);
      if (platform.exitCode === null && platform.signalCode === null) platform.kill('SIGKILL');
    }
  });

  test('the ready file names the router, the status page and every cell and tenant', () => {
    expect(state.router).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(state.statusPage).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(Object.keys(state.cells).sort()).toEqual(['e2e-a', 'e2e-b']);
    expect(Object.fromEntries(Object.entries(state.tenants).map(([t, v]) => [t, v.cell]))).toEqual(CELL_OF);
    // One DynamoDB Local and one fauxqs per stack (2 cells + the router).
    const services = [...seen.values()].filter(isPlatformService);
    expect(services.filter((p) => p.cmdline.includes('DynamoDBLocal'))).toHaveLength(3);
    expect(services.filter((p) => p.cmdline.includes('fauxqs'))).toHaveLength(3);
  });

  test("each tenant's requests reach its cell; inventory and orders work", async () => {
    for (const tenant of TENANTS) {
      const sku = `sku-${tenant}`;
      const put = await call(tenant, 'PUT', `/inventory/${sku}`, { quantity: 100, priceCents: 1250 });
      expectStatus(put, 200, `${tenant} PUT inventory`);
      expect(put.headers.get('x-bulkhead-cell')).toBe(CELL_OF[tenant]);
      expect(put.body).toMatchObject({ sku, quantity: 100, priceCents: 1250 });

      const order = await call(
        tenant,
        'POST',
        '/orders',
        { items: [{ sku, quantity: 3 }] },
        { 'idempotency-key': `first-${tenant}` },
      );
      expectStatus(order, 201, `${tenant} POST /orders`);
      expect(order.headers.get('x-bulkhead-cell')).toBe(CELL_OF[tenant]);
      expect(order.body).toMatchObject({
        items: [{ sku, quantity: 3, unitPriceCents: 1250 }],
        totalCents: 3750,
        syncStatus: INTEGRATED.includes(tenant) ? 'PENDING' : 'NOT_REQUIRED',
      });
      const orderId = String(order.body.id);

      const replay = await call(
        tenant,
        'POST',
        '/orders',
        { items: [{ sku, quantity: 3 }] },
        { 'idempotency-key': `first-${tenant}` },
      );
      expectStatus(replay, 201, `${tenant} POST /orders (replay)`);
      expect(replay.body.id).toBe(orderId);

      const stock = await call(tenant, 'GET', `/inventory/${sku}`);
      expectStatus(stock, 200, `${tenant} GET inventory`);
      expect(stock.headers.get('x-bulkhead-cell')).toBe(CELL_OF[tenant]);
      expect(stock.body.quantity).toBe(97);

      const read = await call(tenant, 'GET', `/orders/${orderId}`);
      expectStatus(read, 200, `${tenant} GET order`);
      expect(read.body).toMatchObject({ id: orderId, totalCents: 3750 });
      const list = await call(tenant, 'GET', '/orders');
      expectStatus(list, 200, `${tenant} GET /orders`);
      expect((list.body.items as { id: string }[]).map((o) => o.id)).toEqual([orderId]);

      written[tenant] = { sku, quantity: 97, orderId };
    }
    // Tenant isolation: another tenant's SKU does not exist for this one, even on the same cell.
    expectStatus(await call('bravo', 'GET', '/inventory/sku-alpha'), 404, 'bravo reading alpha’s sku');
  });

  test('cell-down: the other cell sees 0 errors, the downed cell answers 503 fast; cell-up keeps the data', async () => {
    const down = 'e2e-a';
    const healthy = tenantsOf('e2e-b');
    const downed = tenantsOf(down);
    await fault('cell-down', down);
    // Up again whatever this test finds, so one failure here is not the failure of every later test.
    const results = await loadDuringOutage(healthy, downed).finally(() => fault('cell-up', down));

    const onHealthy = results.filter((r) => CELL_OF[r.tenant] !== down);
    const errors = onHealthy.filter(
      (r) => r.reply.status !== 200 || r.reply.headers.get('x-bulkhead-cell') !== 'e2e-b',
    );
    expect(onHealthy).toHaveLength(300);
    expect(errors.map((r) => `${r.tenant}: ${r.reply.status} ${JSON.stringify(r.reply.body)}`)).toEqual([]);

    const onDowned = results.filter((r) => CELL_OF[r.tenant] === down);
    expect(onDowned).toHaveLength(30);
    for (const { tenant, reply } of onDowned) {
      // Fast by construction, not by a stopwatch: a refused connection (or one not made within the
      // router's 1 s connect timeout) is a 503 to retry, never the 504 of waiting out the cell.
      expectStatus(reply, 503, `${tenant} on the downed cell`);
      expect(reply.body).toEqual({ error: 'cell_unavailable' });
      expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    for (const tenant of downed) {
      const { sku, quantity, orderId } = written[tenant];
      const stock = await call(tenant, 'GET', `/inventory/${sku}`);
      expectStatus(stock, 200, `${tenant} GET inventory after cell-up`);
      expect(stock.headers.get('x-bulkhead-cell')).toBe(down);
      expect(stock.body.quantity).toBe(quantity);
      const order = await call(tenant, 'GET', `/orders/${orderId}`);
      expectStatus(order, 200, `${tenant} GET order after cell-up`);
      expect(order.body.id).toBe(orderId);
    }
  });

  // The routing store stays down across the next test, longer than the router's cache TTL, so the
  // router's last-known-mapping path is exercised too (checked, and the store brought back, after it).
  let storeDownAt = 0;

  test('routing-store-down: known tenants keep being served', async () => {
    // Each tenant has just made a request (the router caches its route); sequential requests reuse
    // the router's warm execution environment, which holds that cache.
    for (const tenant of TENANTS)
      expectStatus(await call(tenant, 'GET', `/inventory/${written[tenant].sku}`), 200, tenant);
    await fault('routing-store-down');
    storeDownAt = Date.now();
    for (const tenant of TENANTS) {
      const reply = await call(tenant, 'GET', `/inventory/${written[tenant].sku}`);
      expectStatus(reply, 200, `${tenant} with the routing store down`);
      expect(reply.headers.get('x-bulkhead-cell')).toBe(CELL_OF[tenant]);
    }
  });

  const outageOrders: { tenant: string; id: string }[] = [];

  test('integration-down: orders are still accepted and the integration status turns red', async () => {
    await fault('integration-down');
    for (const tenant of INTEGRATED) {
      for (let i = 0; i < 3; i++) {
        const reply = await call(
          tenant,
          'POST',
          '/orders',
          { items: [{ sku: written[tenant].sku, quantity: 1 }] },
          { 'idempotency-key': `outage-${tenant}-${i}` },
        );
        expectStatus(reply, 201, `${tenant} POST /orders during the integration outage`);
        expect(reply.body.syncStatus).toBe('PENDING');
        outageOrders.push({ tenant, id: String(reply.body.id) });
      }
    }
    // Red: no successful sync for 20 (scaled) minutes with work pending — 20 s at time-scale 60.
    for (const tenant of INTEGRATED) {
      const status = await until(`${tenant}'s integration to turn red`, 45_000, async () => {
        const s = await integrationStatus(tenant);
        return s.status === 'red' ? s : undefined;
      });
      expect(status.pending).toBeGreaterThanOrEqual(3);
    }
    // A tenant without an integration is not affected.
    expect((await integrationStatus('echo')).status).toBe('green');
  });

  test('routing store down for longer than the router cache TTL: the last known mapping still serves; routing-store-up', async () => {
    const left = storeDownAt + ROUTER_CACHE_TTL_MS + 1000 - Date.now();
    if (left > 0) await sleep(left);
    for (const tenant of TENANTS) {
      const reply = await call(tenant, 'GET', `/inventory/${written[tenant].sku}`);
      expectStatus(reply, 200, `${tenant} with the routing store down past the cache TTL`);
      expect(reply.headers.get('x-bulkhead-cell')).toBe(CELL_OF[tenant]);
    }
    await fault('routing-store-up');
    for (const tenant of TENANTS) {
      expectStatus(
        await call(tenant, 'GET', `/inventory/${written[tenant].sku}`),
        200,
        `${tenant} after routing-store-up`,
      );
    }
  });

  test('integration-up: every order syncs, with 0 duplicates, and the status is green again', async () => {
    await fault('integration-up');
    const all = [...outageOrders, ...INTEGRATED.map((tenant) => ({ tenant, id: written[tenant].orderId }))];
    for (const { tenant, id } of all) {
      await until(`${tenant}'s order ${id} to be SYNCED`, 60_000, async () => {
        const reply = await call(tenant, 'GET', `/orders/${id}`);
        expectStatus(reply, 200, `${tenant} GET order`);
        return reply.body.syncStatus === 'SYNCED' ? true : undefined;
      });
    }
    for (const tenant of INTEGRATED) {
      const status = await until(`${tenant}'s integration to turn green`, 15_000, async () => {
        const s = await integrationStatus(tenant);
        return s.status === 'green' ? s : undefined;
      });
      expect(status.pending).toBe(0);
    }
    // The state system deduplicates nothing: each order is there once (not voided), and nothing else is.
    const receipts = (await (await fetch(`${state.compliance.url}/_control/receipts`)).json()) as {
      ExternalReceiptNumber?: string | null;
      ArchivedDate: string | null;
    }[];
    const held = receipts.filter((r) => r.ArchivedDate === null).map((r) => r.ExternalReceiptNumber);
    expect(held.sort()).toEqual(all.map((o) => o.id).sort());
  });

  test('the status page, in headless Chromium, shows every cell and tenant and turns a downed cell red', async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; see .ci/run)`,
      );
    }
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(state.statusPage);
      for (const cell of Object.keys(state.cells)) {
        await page.locator(`[data-cell="${cell}"][data-health="healthy"]`).waitFor({ timeout: 10_000 });
        for (const tenant of tenantsOf(cell)) {
          await page.locator(`[data-cell="${cell}"] [data-tenant="${tenant}"]`).waitFor({ timeout: 10_000 });
        }
      }
      expect(await page.locator('[data-cell]').count()).toBe(2);
      expect(await page.locator('[data-tenant]').count()).toBe(TENANTS.length);

      await fault('cell-down', 'e2e-b');
      // The page refreshes itself every 2 s.
      await page.locator('[data-cell="e2e-b"][data-health="down"]').waitFor({ timeout: 10_000 });
      await page.locator('[data-cell="e2e-a"][data-health="healthy"]').waitFor({ timeout: 10_000 });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });

      await fault('cell-up', 'e2e-b');
      await page.locator('[data-cell="e2e-b"][data-health="healthy"]').waitFor({ timeout: 10_000 });
    } finally {
      await browser.close();
    }
  });

  test('SIGTERM stops the platform and every process it started', async () => {
    snapshot();
    const services = [...seen.values()].filter(isPlatformService);
    expect(services.length).toBeGreaterThanOrEqual(6);
    platform!.kill('SIGTERM');
    const result = await within(exited, 30_000);
    expect(result).toEqual({ code: 0, signal: null });
    // Children run in their own process groups; give the kernel a moment to reap them.
    await until('every child of the platform to be gone', 5000, async () =>
      stillAlive(seen.values()).length === 0 ? true : undefined,
    ).catch(() => undefined);
    expect(stillAlive(seen.values()).map((p) => `${p.pid} ${p.cmdline.slice(0, 120)}`)).toEqual([]);
    expect(readState(stateFile(home))).toBeUndefined();
  });
});

describe('a wiring fault planted in a copy of a template', () => {
  /** Removes `variable` from the environment of the function the cell's Function URL serves (its API). */
  function removeApiVariable(templateFile: string, variable: string): string {
    type Resource = { Type: string; Properties: Record<string, unknown> };
    const template = JSON.parse(fs.readFileSync(templateFile, 'utf8')) as {
      Resources: Record<string, Resource>;
    };
    const url = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Url')!;
    const target = url.Properties.TargetFunctionArn as { 'Fn::GetAtt'?: [string, string]; Ref?: string };
    let apiId = target['Fn::GetAtt']?.[0] ?? target.Ref!;
    if (template.Resources[apiId].Type === 'AWS::Lambda::Alias') {
      apiId = (template.Resources[apiId].Properties.FunctionName as { Ref: string }).Ref;
    }
    const api = template.Resources[apiId].Properties as {
      FunctionName: string;
      Environment: { Variables: Record<string, unknown> };
    };
    expect(api.Environment.Variables).toHaveProperty(variable);
    delete api.Environment.Variables[variable];
    fs.writeFileSync(templateFile, JSON.stringify(template));
    return api.FunctionName;
  }

  test('an API function without TABLE_NAME fails the start, by name, and leaves no process behind', async () => {
    if (!fs.existsSync(assemblyCopy)) {
      // Run alone (`-t wiring`): synthesize the fleet here instead of copying the platform's assembly.
      await execFileAsync(
        process.execPath,
        [
          path.join(ROOT, 'scripts', 'synth.js'),
          '-o',
          assemblyCopy,
          '-c',
          `config=${fleetFile}`,
          '-c',
          'nag=false',
        ],
        { cwd: ROOT, timeout: 120_000 },
      );
    }
    // Planted in one cell's template only: the other cell starts fine, and must be stopped with the rest.
    const broken = FLEET.cells[FLEET.cells.length - 1].id;
    const functions = [
      removeApiVariable(path.join(assemblyCopy, `Bulkhead-Cell-${broken}.template.json`), 'TABLE_NAME'),
    ];

    // A home of its own (state, data, logs): nothing is shared with another platform.
    const wiredHome = path.join(tmp, 'wired-home');
    const wired = new LocalPlatform({
      root: ROOT,
      home: wiredHome,
      configFile: fleetFile,
      assemblyDir: assemblyCopy,
      routerPort: 0,
      timeScale: 60,
      log: () => undefined, // the error says what matters
    });
    let error: Error | undefined;
    try {
      await wired.start();
    } catch (err) {
      error = err as Error;
    } finally {
      // What `bulkhead local up` does when its start fails.
      await wired.stop();
    }
    // e.g. "Bulkhead-Cell-e2e-b/bulkhead-e2e-b-api: ... missing environment variable: TABLE_NAME"
    expect(error?.message).toMatch(new RegExp(`Bulkhead-Cell-${broken}/\\S+: .*TABLE_NAME`));
    expect(functions.some((name) => error!.message.includes(name))).toBe(true);
    // DynamoDB Local and fauxqs are children of this (jest worker) process while they run.
    const left = await until('the failed start to leave no process', 10_000, async () => {
      const services = descendants(process.pid).filter(isPlatformService);
      return services.length === 0 ? services : undefined;
    }).catch(() => descendants(process.pid).filter(isPlatformService));
    expect(left.map((p) => `${p.pid} ${p.cmdline.slice(0, 120)}`)).toEqual([]);
    expect([...wired.cells.values()].filter((c) => c.running).map((c) => c.stack.stackName)).toEqual([]);
    expect(readState(stateFile(wiredHome))).toBeUndefined();
  });
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
