import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import {
  ComplianceSimulator,
  type ComplianceSimulatorOptions,
} from '../../../lib/local/compliance/compliance-simulator';

const TENANT = 'tenant-a';
const API_KEY = 'key-a';

const sale = (externalId = 'order-1') => ({
  externalId,
  salesDateTime: '2024-04-20T16:20:00.000Z',
  items: [{ sku: 'PRE-ROLL-1G', quantity: 2, unitPriceCents: 1200 }],
  totalCents: 2400,
});

// fetch's errors come from another realm than jest's, so match on shape rather than class.
const CONNECTION_RESET = { message: 'fetch failed', cause: { code: 'ECONNRESET' } };

let simulator: ComplianceSimulator;
const started: ComplianceSimulator[] = [];
let keyCounter = 0;

async function startSimulator(options: ComplianceSimulatorOptions = {}): Promise<void> {
  simulator = new ComplianceSimulator({ apiKeys: { [TENANT]: API_KEY }, ...options });
  started.push(simulator);
  await simulator.start();
}

function postReceipt(
  options: {
    tenant?: string;
    apiKey?: string;
    idempotencyKey?: string;
    body?: unknown;
    signal?: AbortSignal;
  } = {},
): Promise<Response> {
  const {
    tenant = TENANT,
    apiKey = API_KEY,
    idempotencyKey = `idem-${++keyCounter}`,
    body = sale(),
  } = options;
  return fetch(`${simulator.url}/sales/v2/receipts?licenseNumber=${tenant}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${apiKey}`,
      'idempotency-key': idempotencyKey,
      'content-type': 'application/json',
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: options.signal,
  });
}

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

  test('an accepted receipt is stored and counted', async () => {
    const response = await postReceipt({ idempotencyKey: 'sale-1' });

    expect(response.status).toBe(201);
    const { id, duplicate } = (await response.json()) as { id: string; duplicate: boolean };
    expect(duplicate).toBe(false);
    expect(simulator.counters()).toEqual({
      received: 1,
      accepted: 1,
      duplicates: 0,
      rejected: 0,
      rateLimited: 0,
      failed: 0,
    });
    expect(simulator.receipts(TENANT)).toEqual([
      { id, tenantId: TENANT, idempotencyKey: 'sale-1', body: sale(), receivedAt: expect.any(String) },
    ]);
  });

  test('a repeated Idempotency-Key returns the original id and stores nothing new', async () => {
    const first = (await (await postReceipt({ idempotencyKey: 'same' })).json()) as { id: string };
    const second = await postReceipt({ idempotencyKey: 'same' });

    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ id: first.id, duplicate: true });
    expect(simulator.receipts()).toHaveLength(1);
    expect(simulator.counters()).toMatchObject({ received: 2, accepted: 1, duplicates: 1 });
  });

  test('the same Idempotency-Key from another tenant is a different receipt', async () => {
    await postReceipt({ idempotencyKey: 'same' });
    const other = await postReceipt({ tenant: 'tenant-b', apiKey: 'anything', idempotencyKey: 'same' });

    expect(other.status).toBe(201);
    expect(simulator.receipts('tenant-b')).toHaveLength(1);
  });

  test('a wrong or missing API key is refused with 401', async () => {
    const wrong = await postReceipt({ apiKey: 'not-the-key' });
    const missing = await fetch(`${simulator.url}/sales/v2/receipts?licenseNumber=${TENANT}`, {
      method: 'POST',
      headers: { 'idempotency-key': 'k' },
      body: JSON.stringify(sale()),
    });

    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: expect.any(String) });
    expect(missing.status).toBe(401);
    expect(simulator.counters()).toMatchObject({ received: 2, accepted: 0, rejected: 2 });
  });

  test('the x-api-key header works like a bearer token', async () => {
    const response = await fetch(`${simulator.url}/sales/v2/receipts?licenseNumber=${TENANT}`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'idempotency-key': 'k' },
      body: JSON.stringify(sale()),
    });

    expect(response.status).toBe(201);
  });

  test.each([
    ['a negative quantity', { ...sale(), items: [{ sku: 'A', quantity: -1, unitPriceCents: 100 }] }],
    ['a fractional total', { ...sale(), totalCents: 10.5 }],
    ['no items', { ...sale(), items: [] }],
    ['a date that is not ISO', { ...sale(), salesDateTime: '20/04/2024' }],
    ['an unknown field', { ...sale(), discount: 5 }],
    ['a missing externalId', { salesDateTime: sale().salesDateTime, items: sale().items, totalCents: 2400 }],
    ['invalid JSON', '{"externalId": '],
  ])('a body with %s is refused with 400', async (_case, body) => {
    const response = await postReceipt({ body });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid', details: expect.anything() });
    expect(simulator.counters()).toMatchObject({ accepted: 0, rejected: 1 });
    expect(simulator.receipts()).toEqual([]);
  });

  test('a missing Idempotency-Key is refused with 400', async () => {
    const response = await postReceipt({ idempotencyKey: '' });

    expect(response.status).toBe(400);
  });

  test('reset forgets counters, receipts and idempotency keys', async () => {
    await postReceipt({ idempotencyKey: 'again' });
    simulator.reset();

    const response = await postReceipt({ idempotencyKey: 'again' });

    expect(response.status).toBe(201);
    expect(simulator.counters()).toMatchObject({ received: 1, accepted: 1, duplicates: 0 });
  });
});

describe('rate limit', () => {
  test('only the burst passes at once, the rest get 429 with Retry-After', async () => {
    await startSimulator({ ratePerSecond: 2, burst: 2 });

    const responses = await Promise.all(Array.from({ length: 10 }, () => postReceipt()));

    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([201, 201, 429, 429, 429, 429, 429, 429, 429, 429]);
    for (const response of responses.filter((r) => r.status === 429)) {
      const retryAfter = Number(response.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    }
    expect(simulator.counters()).toMatchObject({ received: 10, accepted: 2, rateLimited: 8 });
  });

  test('the limit is per API key', async () => {
    await startSimulator({ ratePerSecond: 1 });

    const first = await postReceipt({ tenant: 'tenant-b', apiKey: 'integrator-1' });
    const second = await postReceipt({ tenant: 'tenant-b', apiKey: 'integrator-2' });
    const third = await postReceipt({ tenant: 'tenant-b', apiKey: 'integrator-1' });

    expect([first.status, second.status, third.status]).toEqual([201, 201, 429]);
  });

  test('rate limiting comes before faults', async () => {
    await startSimulator({ ratePerSecond: 1 });
    simulator.setFault('error500');

    const statuses = [(await postReceipt()).status, (await postReceipt()).status];

    expect(statuses).toEqual([500, 429]);
  });
});

describe('faults', () => {
  test('down: the connection is reset, for receipts and health alike', async () => {
    await startSimulator();
    simulator.setFault('down');

    await expect(postReceipt()).rejects.toMatchObject(CONNECTION_RESET);
    await expect(fetch(`${simulator.url}/health`)).rejects.toMatchObject(CONNECTION_RESET);
    expect(simulator.counters()).toMatchObject({ received: 1, failed: 1, accepted: 0 });
  });

  test('down ignores the rate limit', async () => {
    await startSimulator({ ratePerSecond: 1 });
    simulator.setFault('down');

    await expect(postReceipt()).rejects.toMatchObject(CONNECTION_RESET);
    simulator.setFault('none');

    expect((await postReceipt()).status).toBe(201);
  });

  test('error500: 500 and counted as failed', async () => {
    await startSimulator();
    simulator.setFault('error500');

    const response = await postReceipt();

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: expect.any(String) });
    expect(simulator.counters()).toMatchObject({ failed: 1, accepted: 0 });
  });

  test('reject: a permanent 400 and counted as rejected', async () => {
    await startSimulator();
    simulator.setFault('reject');

    const response = await postReceipt();

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid', details: 'rejected by the state system' });
    expect(simulator.counters()).toMatchObject({ rejected: 1, accepted: 0 });
  });

  test('slow: answers normally after slowMs', async () => {
    await startSimulator({ slowMs: 200 });
    simulator.setFault('slow');

    const startedAt = Date.now();
    const response = await postReceipt();

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(200);
    expect(response.status).toBe(201);
    expect(simulator.counters()).toMatchObject({ accepted: 1 });
  });

  test('timeout: never answers, the client gives up, and stop() still returns', async () => {
    await startSimulator();
    simulator.setFault('timeout');

    await expect(postReceipt({ signal: AbortSignal.timeout(300) })).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    const stillHanging = postReceipt();
    const hangingSettled = expect(stillHanging).rejects.toThrow('fetch failed');
    await waitFor(() => simulator.counters().received === 2);

    await simulator.stop();

    await hangingSettled;
    expect(simulator.counters()).toMatchObject({ received: 2, failed: 2, accepted: 0 });
  });

  test('share 0.5: exactly every second request faults', async () => {
    await startSimulator();
    simulator.setFault('error500', { share: 0.5 });

    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await postReceipt()).status);

    expect(statuses).toEqual([201, 500, 201, 500, 201, 500, 201, 500, 201, 500]);
    expect(simulator.counters()).toMatchObject({ accepted: 5, failed: 5 });
  });

  test('share 0.5 of down: half the receipts get through', async () => {
    await startSimulator();
    simulator.setFault('down', { share: 0.5 });

    const results = await Promise.allSettled(Array.from({ length: 10 }, () => postReceipt()));

    expect(results.filter((result) => result.status === 'rejected')).toHaveLength(5);
    expect(simulator.counters()).toMatchObject({ received: 10, accepted: 5, failed: 5 });
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

  test('fault, counters, receipts and reset', async () => {
    await postReceipt({ tenant: 'tenant-b', apiKey: 'k' });
    expect((await control('fault', { mode: 'error500' })).status).toBe(200);
    expect((await postReceipt()).status).toBe(500);

    const counters = await (await control('counters')).json();
    const receipts = (await (await control('receipts?tenant=tenant-b')).json()) as unknown[];
    const none = (await (await control(`receipts?tenant=${TENANT}`)).json()) as unknown[];

    expect(counters).toMatchObject({ received: 2, accepted: 1, failed: 1 });
    expect(receipts).toHaveLength(1);
    expect(none).toEqual([]);
    expect((await control('reset', {})).status).toBe(200);
    expect(simulator.counters().received).toBe(0);
  });

  test('rate-limit sets and clears the limit', async () => {
    expect((await control('rate-limit', { ratePerSecond: 1 })).status).toBe(200);
    const limited = [(await postReceipt()).status, (await postReceipt()).status];
    expect((await control('rate-limit', { ratePerSecond: null })).status).toBe(200);

    expect(limited).toEqual([201, 429]);
    expect((await postReceipt()).status).toBe(201);
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
    ['a negative rate', 'rate-limit', { ratePerSecond: -1 }],
  ])('%s is refused with 400', async (_case, path, body) => {
    const response = await control(path, body);

    expect(response.status).toBe(400);
    expect(simulator.counters().received).toBe(0);
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
    expect(await response.json()).toEqual({ error: expect.any(String) });
  });

  test('a wrong method is 405', async () => {
    const response = await fetch(`${simulator.url}/sales/v2/receipts?licenseNumber=${TENANT}`);

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toEqual({ error: expect.any(String) });
  });

  test('a body over 256 KB is 413', async () => {
    const response = await postReceipt({ body: { ...sale(), externalId: 'x'.repeat(300 * 1024) } });

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
