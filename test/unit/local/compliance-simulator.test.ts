import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { metrcAuthorization } from '../../../lib/contracts/metrc';
import {
  ComplianceSimulator,
  type ComplianceSimulatorOptions,
} from '../../../lib/local/compliance/compliance-simulator';

const LICENSE = 'C10-0000001-LIC';
const OTHER_LICENSE = 'C10-0000002-LIC';
const VENDOR = 'vendor-key';
const USER = 'user-key-a';
const OTHER_USER = 'user-key-b';

const receipt = (external = 'order-1', amount = 24) => ({
  SalesDateTime: '2024-04-20T09:20:00.000',
  SalesCustomerType: 'Consumer',
  ExternalReceiptNumber: external,
  Transactions: [{ PackageLabel: 'PRE-ROLL-1G', Quantity: 2, UnitOfMeasure: 'Each', TotalAmount: amount }],
});

// fetch's errors come from another realm than jest's, so match on shape rather than class.
const CONNECTION_RESET = { message: 'fetch failed', cause: { code: 'ECONNRESET' } };

let simulator: ComplianceSimulator;
const started: ComplianceSimulator[] = [];
let clock = Date.parse('2026-03-01T12:00:00Z');

async function startSimulator(options: ComplianceSimulatorOptions = {}): Promise<void> {
  simulator = new ComplianceSimulator({
    vendorKeys: [VENDOR],
    facilities: { [LICENSE]: { userKey: USER }, [OTHER_LICENSE]: { userKey: OTHER_USER } },
    now: () => clock,
    ...options,
  });
  started.push(simulator);
  await simulator.start();
}

interface CallOptions {
  license?: string;
  vendor?: string;
  user?: string;
  body?: unknown;
  signal?: AbortSignal;
  query?: Record<string, string>;
}

function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const { license = LICENSE, vendor = VENDOR, user = USER, body, query = {} } = options;
  const params = new URLSearchParams({ licenseNumber: license, ...query });
  return fetch(`${simulator.url}/sales/v2/receipts${path}?${params.toString()}`, {
    method,
    headers: { authorization: metrcAuthorization(vendor, user), 'content-type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    signal: options.signal,
  });
}

const post = (receipts: unknown = [receipt()], options: CallOptions = {}) =>
  call('POST', '', { ...options, body: receipts });

const active = (start: number, end: number, query: Record<string, string> = {}, options: CallOptions = {}) =>
  call('GET', '/active', {
    ...options,
    query: {
      lastModifiedStart: new Date(start).toISOString(),
      lastModifiedEnd: new Date(end).toISOString(),
      ...query,
    },
  });

async function control(path: string, body?: unknown): Promise<Response> {
  return fetch(`${simulator.url}/_control/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((running) => running.stop()));
});

describe('receipts', () => {
  beforeEach(() => startSimulator());

  test('POST takes an array and answers the new ids in order; the receipts are stored with Metrc fields', async () => {
    const response = await post([receipt('o-1'), receipt('o-2', 30)]);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ Ids: [1, 2], Warnings: null });
    expect(simulator.receipts(LICENSE)).toEqual([
      expect.objectContaining({ Id: 1, ExternalReceiptNumber: 'o-1', TotalPrice: 24, ArchivedDate: null }),
      expect.objectContaining({ Id: 2, ExternalReceiptNumber: 'o-2', TotalPrice: 30, TotalPackages: 1 }),
    ]);
    expect(simulator.counters()).toMatchObject({ recorded: 2, requests: { post: 1 } });
  });

  test('deduplicates nothing: the same receipt posted twice is recorded twice', async () => {
    await post([receipt('o-1')]);
    await post([receipt('o-1')]);

    expect(simulator.receipts(LICENSE).map((r) => [r.Id, r.ExternalReceiptNumber])).toEqual([
      [1, 'o-1'],
      [2, 'o-1'],
    ]);
  });

  test('receipts belong to the facility they were posted for', async () => {
    await post([receipt('o-1')], { license: OTHER_LICENSE, user: OTHER_USER });

    expect(simulator.receipts(LICENSE)).toEqual([]);
    expect(simulator.receipts(OTHER_LICENSE)).toHaveLength(1);
    expect((await call('GET', '/1')).status).toBe(401);
  });

  test.each([
    ['a wrong vendor key', { vendor: 'nope' }],
    ['a wrong user key', { user: 'nope' }],
    ["another facility's user key", { user: OTHER_USER }],
    ['an unknown license', { license: 'C10-9' }],
  ])('%s is refused with 401 (HTTP Basic, vendor key:user key)', async (_, options) => {
    const response = await post([receipt()], options);

    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic');
    expect(simulator.receipts()).toEqual([]);
  });

  test('an invalid element refuses the whole array with the rows it names', async () => {
    const response = await post([receipt('o-1'), { ...receipt('o-2'), SalesCustomerType: 'Martian' }]);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual([{ row: 1, message: expect.stringMatching(/SalesCustomerType/) }]);
    expect(simulator.receipts()).toEqual([]);
  });

  test('a sale time with an offset is refused: Metrc wants the facility wall-clock time', async () => {
    const response = await post([{ ...receipt(), SalesDateTime: '2024-04-20T16:20:00.000Z' }]);

    expect(response.status).toBe(400);
  });

  test('more than ten receipts in one POST is 413', async () => {
    const response = await post(Array.from({ length: 11 }, (_, i) => receipt(`o-${i}`)));

    expect(response.status).toBe(413);
    expect(simulator.receipts()).toEqual([]);
  });

  test('GET active lists by last-modified window, in pages of at most 20, in Metrc envelope', async () => {
    await post(Array.from({ length: 10 }, (_, i) => receipt(`a-${i}`)));
    await post(Array.from({ length: 10 }, (_, i) => receipt(`b-${i}`)));
    await post(Array.from({ length: 5 }, (_, i) => receipt(`c-${i}`)));

    const first = await active(clock - 1000, clock + 1000, { pageNumber: '1', pageSize: '20' });
    const second = await active(clock - 1000, clock + 1000, { pageNumber: '2', pageSize: '20' });

    expect(await first.json()).toMatchObject({ Total: 25, RecordsOnPage: 20, Page: 1, TotalPages: 2 });
    const page2 = (await second.json()) as { Data: { ExternalReceiptNumber: string }[] };
    expect(page2.Data.map((r) => r.ExternalReceiptNumber)).toEqual(['c-0', 'c-1', 'c-2', 'c-3', 'c-4']);
    expect((await active(clock - 1000, clock + 1000, { pageSize: '21' })).status).toBe(400);
  });

  test('GET active refuses a window over 24 hours, and one without an offset', async () => {
    expect((await active(clock - 25 * 3600_000, clock)).status).toBe(400);
    const noOffset = await call('GET', '/active', {
      query: { lastModifiedStart: '2026-03-01T00:00:00', lastModifiedEnd: '2026-03-01T01:00:00' },
    });
    expect(noOffset.status).toBe(400);
  });

  test('GET active shows only what was last modified in the window', async () => {
    await post([receipt('early')]);
    clock += 3600_000;
    await post([receipt('late')]);

    const page = (await (await active(clock - 1000, clock)).json()) as {
      Data: { ExternalReceiptNumber: string }[];
    };
    expect(page.Data.map((r) => r.ExternalReceiptNumber)).toEqual(['late']);
  });

  test('DELETE voids a receipt: it leaves the active list, stays in the records, and voiding again is a no-op', async () => {
    await post([receipt('o-1'), receipt('o-1')]);

    expect((await call('DELETE', '/2')).status).toBe(200);
    expect((await call('DELETE', '/2')).status).toBe(200);

    const page = (await (await active(clock - 1000, clock + 1000)).json()) as { Data: { Id: number }[] };
    expect(page.Data.map((r) => r.Id)).toEqual([1]);
    expect(simulator.receipts(LICENSE)[1].ArchivedDate).toEqual(expect.any(String));
    expect(simulator.counters().voided).toBe(1);
    expect((await call('DELETE', '/99')).status).toBe(401);
  });

  test('GET by id answers the receipt as stored', async () => {
    await post([receipt('o-1')]);

    const response = await call('GET', '/1');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ Id: 1, ExternalReceiptNumber: 'o-1', TotalPrice: 24 });
  });

  test('reset forgets receipts and counters', async () => {
    await post();
    simulator.reset();

    expect(simulator.receipts()).toEqual([]);
    expect(simulator.counters().recorded).toBe(0);
    expect((await post()).status).toBe(200);
  });
});

describe('rate limits', () => {
  test('writes: only the burst passes at once, the rest get 429 with Retry-After', async () => {
    await startSimulator({ writes: { ratePerSecond: 0.5, burst: 2 } });

    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push(await post([receipt(`o-${i}`)]));

    expect(statuses.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(Number(statuses[2].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(simulator.counters().rateLimited).toEqual({ reads: 0, writes: 1 });
    expect(simulator.receipts()).toHaveLength(2);
  });

  test('writes: the bucket refills on the injected clock, not the wall clock', async () => {
    await startSimulator({ writes: { ratePerSecond: 0.5, burst: 1 } });

    const before = (await post([receipt('o-1')])).status;
    const refused = (await post([receipt('o-2')])).status;
    clock += 2000;
    const refilled = (await post([receipt('o-3')])).status;

    expect([before, refused, refilled]).toEqual([200, 429, 200]);
  });

  test('the write limit is per facility', async () => {
    await startSimulator({ writes: { ratePerSecond: 0.5, burst: 1 } });

    expect((await post()).status).toBe(200);
    expect((await post([receipt()], { license: OTHER_LICENSE, user: OTHER_USER })).status).toBe(200);
    expect((await post()).status).toBe(429);
  });

  test('reads: per facility, and per integrator across facilities', async () => {
    await startSimulator({
      reads: {
        perFacilityPerSecond: 2,
        perIntegratorPerSecond: 3,
        concurrentPerFacility: 10,
        concurrentPerIntegrator: 10,
      },
    });

    const facility = [];
    for (let i = 0; i < 3; i++) facility.push((await active(clock - 1, clock)).status);
    const other = (await active(clock - 1, clock, {}, { license: OTHER_LICENSE, user: OTHER_USER })).status;
    const integrator = (await active(clock - 1, clock, {}, { license: OTHER_LICENSE, user: OTHER_USER }))
      .status;

    expect(facility).toEqual([200, 200, 429]);
    expect([other, integrator]).toEqual([200, 429]);
    expect(simulator.counters().rateLimited.reads).toBe(2);
  });

  test('reads: more at once than the concurrency cap get 429', async () => {
    await startSimulator({
      slowMs: 200,
      reads: {
        perFacilityPerSecond: 100,
        perIntegratorPerSecond: 100,
        concurrentPerFacility: 2,
        concurrentPerIntegrator: 10,
      },
    });
    simulator.setFault('slow');

    const statuses = await Promise.all(
      Array.from({ length: 3 }, () => active(clock - 1, clock).then((r) => r.status)),
    );

    expect(statuses.sort()).toEqual([200, 200, 429]);
  });

  test('rate limiting comes before faults', async () => {
    await startSimulator({ writes: { ratePerSecond: 0.5, burst: 1 } });
    simulator.setFault('error500');

    expect([(await post()).status, (await post()).status]).toEqual([500, 429]);
  });
});

describe('faults', () => {
  test('down: the connection is reset, for receipts and health alike', async () => {
    await startSimulator();
    simulator.setFault('down');

    await expect(post()).rejects.toMatchObject(CONNECTION_RESET);
    await expect(fetch(`${simulator.url}/health`)).rejects.toMatchObject(CONNECTION_RESET);
    expect(simulator.receipts()).toEqual([]);
  });

  test('error500: 500 before anything is recorded', async () => {
    await startSimulator();
    simulator.setFault('error500');

    expect((await post()).status).toBe(500);
    expect(simulator.receipts()).toEqual([]);
    expect(simulator.counters().failed).toBe(1);
  });

  test('reject: writes refused as invalid (400 naming row 0), reads unaffected', async () => {
    await startSimulator();
    simulator.setFault('reject');

    const response = await post();
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual([{ row: 0, message: expect.any(String) }]);
    expect((await active(clock - 1, clock)).status).toBe(200);
    expect(simulator.receipts()).toEqual([]);
  });

  test('slow: answers normally after slowMs', async () => {
    await startSimulator({ slowMs: 50 });
    simulator.setFault('slow');

    expect((await post()).status).toBe(200);
    expect(simulator.receipts()).toHaveLength(1);
  });

  test('timeout: never answers, records nothing, and stop() still returns', async () => {
    await startSimulator();
    simulator.setFault('timeout');

    await expect(post([receipt()], { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    const stillHanging = post();
    const hangingSettled = expect(stillHanging).rejects.toThrow('fetch failed');
    await waitFor(() => simulator.counters().requests.post === 2);

    await simulator.stop();

    await hangingSettled;
    expect(simulator.counters()).toMatchObject({ failed: 2, recorded: 0 });
  });

  test('flaky: the receipt is committed, then the answer is lost as a reset, a hang and a 502 in turn', async () => {
    await startSimulator();
    simulator.setFault('flaky');

    await expect(post([receipt('o-1')])).rejects.toMatchObject(CONNECTION_RESET);
    await expect(post([receipt('o-2')], { signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    expect((await post([receipt('o-3')])).status).toBe(502);

    expect(simulator.receipts(LICENSE).map((r) => r.ExternalReceiptNumber)).toEqual(['o-1', 'o-2', 'o-3']);
    expect(simulator.counters().answersLost).toBe(3);
    // Reads answer: the lost-answer mode is about writes.
    expect((await active(clock - 1, clock + 1)).status).toBe(200);
  });

  test('share 0.5: exactly every second request faults', async () => {
    await startSimulator();
    simulator.setFault('error500', { share: 0.5 });

    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await post([receipt(`o-${i}`)])).status);

    expect(statuses).toEqual([200, 500, 200, 500, 200, 500, 200, 500, 200, 500]);
    expect(simulator.receipts()).toHaveLength(5);
  });

  test('a share outside 0..1 is refused', async () => {
    await startSimulator();

    expect(() => simulator.setFault('error500', { share: 1.5 })).toThrow(
      /share must be a number from 0 to 1/,
    );
  });
});

describe('control API over HTTP', () => {
  beforeEach(() => startSimulator());

  test('fault, counters, receipts by license and reset', async () => {
    await post([receipt()], { license: OTHER_LICENSE, user: OTHER_USER });
    expect((await control('fault', { mode: 'error500' })).status).toBe(200);
    expect((await post()).status).toBe(500);

    const counters = await (await control('counters')).json();
    const receipts = (await (await control(`receipts?licenseNumber=${OTHER_LICENSE}`)).json()) as unknown[];
    const none = (await (await control(`receipts?licenseNumber=${LICENSE}`)).json()) as unknown[];

    expect(counters).toMatchObject({ requests: { post: 2 }, recorded: 1, failed: 1 });
    expect(receipts).toHaveLength(1);
    expect(none).toEqual([]);
    expect((await control('reset', {})).status).toBe(200);
    expect(simulator.counters().requests.post).toBe(0);
  });

  test('limits sets and clears the write limit', async () => {
    expect((await control('limits', { writes: { ratePerSecond: 1, burst: 1 } })).status).toBe(200);
    const limited = [(await post()).status, (await post()).status];
    expect((await control('limits', { writes: null })).status).toBe(200);

    expect(limited).toEqual([200, 429]);
    expect((await post()).status).toBe(200);
  });

  test('facilities adds a vendor key and a facility at run time', async () => {
    const added = await control('facilities', {
      vendorKeys: ['vendor-2'],
      facilities: { 'C10-3': { userKey: 'user-3' } },
    });

    expect(added.status).toBe(200);
    expect((await post([receipt()], { license: 'C10-3', vendor: 'vendor-2', user: 'user-3' })).status).toBe(
      200,
    );
  });

  test('control works while the service is down', async () => {
    simulator.setFault('down');

    const counters = await control('counters');
    const up = await control('fault', { mode: 'none' });

    expect(counters.status).toBe(200);
    expect(up.status).toBe(200);
    expect(await (await fetch(`${simulator.url}/health`)).json()).toEqual({ ok: true, fault: 'none' });
  });

  test.each([
    ['an unknown mode', 'fault', { mode: 'on-fire' }],
    ['a share above 1', 'fault', { mode: 'down', share: 2 }],
    ['a negative rate', 'limits', { writes: { ratePerSecond: -1, burst: 1 } }],
  ])('%s is refused with 400', async (_case, path, body) => {
    const response = await control(path, body);

    expect(response.status).toBe(400);
    expect(simulator.currentFault).toBe('none');
  });
});

describe('HTTP errors', () => {
  beforeEach(() => startSimulator());

  test('health reports the fault mode', async () => {
    simulator.setFault('slow');

    expect(await (await fetch(`${simulator.url}/health`)).json()).toEqual({ ok: true, fault: 'slow' });
  });

  test('an unknown route is 404', async () => {
    const response = await fetch(`${simulator.url}/nope`);

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ Message: expect.any(String) });
  });

  test('a method the receipts path does not take is 405', async () => {
    const response = await call('PATCH', '');

    expect(response.status).toBe(405);
    expect(await response.json()).toEqual({ Message: expect.any(String) });
  });

  test('a body over 256 KB is 413', async () => {
    const response = await post([{ ...receipt(), ExternalReceiptNumber: 'x'.repeat(300 * 1024) }]);

    expect(response.status).toBe(413);
    expect(simulator.receipts()).toEqual([]);
  });
});

describe('standalone process', () => {
  test('prints its URL, serves, and exits cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(__dirname, '../../../lib/local/compliance/compliance-simulator-main.ts'),
        '--port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const { url } = JSON.parse(line) as { url: string };

      expect(await (await fetch(`${url}/health`)).json()).toEqual({ ok: true, fault: 'none' });
    } finally {
      child.kill('SIGTERM');
    }

    expect(await exited).toEqual([0, null]);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
