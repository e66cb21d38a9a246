/**
 * Fuzz: thousands of malformed requests, generated deterministically from a seed, to the router (bogus
 * keys) and through it to the cell API (bad JSON, odd and large headers, path traversal, wrong methods,
 * unicode, oversized bodies, junk queries), plus a few straight at a cell without the router's secret.
 * No answer may be a 5xx or anything but JSON, the platform must not crash, and real tenants must still
 * be served afterwards.
 */
import { METHODS } from 'node:http';

import { inParallel, send, type HttpReply } from '../../harness/http-client';

import { call, CELL_OF, figure, platform, prng, secretOf, TENANTS } from './support';

const SEED = 0xb0b5eed;
const CASES = 5200;
const CONCURRENCY = 12;
const MAX_BODY = 64 * 1024;

type Expect = 'error' | 'any';

interface Case {
  readonly kind: string;
  /** Where it goes: the router, or (without the router's secret) a cell's own endpoint. */
  readonly base: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body?: string | Buffer;
  /** 'error': a 4xx with a JSON error; 'any': no 5xx, a JSON body. */
  readonly expect: Expect;
  /** The real tenant whose key it carries, if any. */
  readonly tenant?: string;
}

/** Methods Node's HTTP parser accepts, minus HEAD (no body to check) and CONNECT (a tunnel, not a request). */
const ODD_METHODS = METHODS.filter((m) => !['GET', 'HEAD', 'CONNECT', 'POST', 'PUT'].includes(m));

/** UTF-8 text as the latin1 string Node sends byte for byte (header values and raw paths). */
const bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

const UNICODE = [
  'ünïcödé',
  '日本語',
  '🌿🔥',
  'עברית',
  'a\u200bb',
  '\u202eevil',
  'Ω≈ç√',
  '\ufeffbom',
  'ǅ',
  '𝕳𝖊𝖑𝖑𝖔',
];

function generator(seed: number) {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const junk = (length: number) =>
    Array.from({ length }, () => String.fromCharCode(0x21 + int(0x5e))).join('');
  const real = () => pick(TENANTS);
  const key = (tenant: string) => platform().state.tenants[tenant].apiKey;
  const auth = (tenant: string) => ({ authorization: `Bearer ${key(tenant)}` });
  const json = { 'content-type': 'application/json' };
  const router = platform().state.router;

  const bogusKeys = [
    () => '',
    () => 'Bearer',
    () => 'Bearer ',
    () => `Bearer ${junk(1 + int(80))}`,
    () => `Bearer bk_${real()}_${junk(43)}`,
    () => `Bearer bk_${real()}_`,
    () => `Bearer bk__${junk(20)}`,
    () => `Bearer bk_${junk(8)}`,
    () => `Bearer ${key(real()).slice(0, -1)}`,
    () => `Bearer ${key(real())}x`,
    () => `Bearer ${key(real()).toUpperCase()}`,
    () => `Basic ${Buffer.from(`${real()}:${junk(10)}`).toString('base64')}`,
    () => `Bearer ${junk(4000)}`,
    () => bytes(`Bearer bk_${pick(UNICODE)}_${junk(10)}`),
    () => `Bearer ${key(real())} ${key(real())}`,
    () => `bearer\t${junk(30)}`,
    // Some tenant's id with some tenant's secret, one character off: never a valid key.
    () => {
      const secret = secretOf(key(real()));
      return `Bearer bk_${real()}_${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    },
    () => `Token ${key(real())}`,
  ];

  const badBodies = [
    () => '',
    () => '{',
    () => '{"items":',
    () => 'null',
    () => '[]',
    () => '"a string"',
    () => '12345',
    () => 'true',
    () => `{"items":[{"sku":"x","quantity":"${junk(5)}"}]}`,
    () => '{"items":[{"sku":"x","quantity":-1}]}',
    () => '{"items":[{"sku":"x","quantity":1e309}]}',
    () => '{"items":[{"sku":"x","quantity":1.5}]}',
    () => '{"items":[]}',
    () => `{"items":[{"sku":"${bytes(pick(UNICODE))}","quantity":1}]}`,
    () => '{"items":[{"sku":"../../etc/passwd","quantity":1}]}',
    () => '{"__proto__":{"admin":true},"items":[{"sku":"x","quantity":1}]}',
    () => '{"constructor":{"prototype":{"x":1}}}',
    () => `{"quantity":"${junk(10)}"}`,
    () => '{"quantity":-5}',
    () => '{"quantity":10,"tenantId":"someone-else"}',
    () => '{"quantity":10,"pk":"someone-else"}',
    () => `${'['.repeat(5000)}${']'.repeat(5000)}`,
    () => `{"a":${'{"a":'.repeat(2000)}1${'}'.repeat(2001)}`,
    () => Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0xc3, 0x28]),
    () => `{"enabled":"yes"}`,
    () => `{"items":[${Array.from({ length: 60 }, (_, i) => `{"sku":"s${i}","quantity":1}`).join(',')}]}`,
    () => '{"items":[{"sku":"a","quantity":1},{"sku":"a","quantity":1}]}',
    () => `{"customerId":"${'c'.repeat(500)}","items":[{"sku":"x","quantity":1}]}`,
    () => junk(200),
  ];

  const writeRoutes = [
    { method: 'POST', path: () => '/orders' },
    { method: 'PUT', path: () => `/inventory/fuzz-${int(5)}` },
    { method: 'PUT', path: () => '/integration' },
  ];

  const traversal = [
    () => '/../../etc/passwd',
    () => '/inventory/..%2f..%2fetc%2fpasswd',
    () => '/inventory/%2e%2e',
    () => '/%2e%2e/%2e%2e/etc/passwd',
    () => '/orders/..%252f..%252f',
    () => '/inventory/..\\..\\windows\\win.ini',
    () => '/orders/%00',
    () => '/inventory/%ZZ',
    () => '/inventory/a%',
    () => `/orders/${'a'.repeat(3000)}`,
    () => `/orders/${junk(20).replace(/[?#]/g, '')}`,
    () => '/_control/counters',
    () => '/control/fault',
    () => '/admin',
    () => '/health/../orders/x',
    () => `/${bytes(pick(UNICODE))}`,
    () => `/inventory/${encodeURIComponent(pick(UNICODE))}`,
    () => `/orders/${bytes(pick(UNICODE))}`,
    () => '/inventory/x/y/z',
    () => '/ORDERS/1',
  ];

  /**
   * Dot segments: URL parsing (the router's, as any HTTP client's) resolves them, so they may well land
   * on a real route of the caller's own API; they must just never fail or escape it.
   */
  const dotSegments = [
    () => '/orders/../../../',
    () => '/inventory/./../orders',
    () => '/inventory/%2e%2e/orders',
    () => '/./orders/.',
    () => '/orders/..',
  ];

  const junkQueries: ((caller: string) => string)[] = [
    () => '/orders?limit=-1',
    () => '/orders?limit=1e9',
    () => '/orders?limit=abc',
    () => `/orders?cursor=${junk(40).replace(/[#&]/g, '')}`,
    // Another tenant's partition in a forged cursor (the caller is never that tenant).
    (caller) =>
      `/orders?cursor=${Buffer.from(JSON.stringify({ pk: pick(TENANTS.filter((t) => t !== caller)), sk: 'ORDER#0' })).toString('base64url')}`,
    () => `/inventory?cursor=${Buffer.from('{"pk":{"S":"x"}}').toString('base64url')}`,
    () => `/inventory?cursor=${Buffer.from('[1,2,3]').toString('base64url')}`,
    () => '/orders?status=BOGUS',
    () => `/orders?status=${bytes(pick(UNICODE))}`,
    () => `/inventory?limit=${'9'.repeat(400)}`,
  ];

  const oddHeaders = (): Record<string, string | string[]> => {
    switch (int(10)) {
      case 0:
        return Object.fromEntries(Array.from({ length: 80 + int(60) }, (_, i) => [`x-fuzz-${i}`, junk(20)]));
      case 1:
        return { 'x-fuzz-long': junk(6000 + int(2000)) };
      case 2:
        return { 'x-bulkhead-tenant': real(), 'x-bulkhead-cell-secret': junk(32) };
      case 3:
        return { 'x-bulkhead-claimed-tenant': real(), 'x-bulkhead-key-hash': junk(64) };
      case 4:
        return { 'x-bulkhead-cell': pick(Object.values(CELL_OF)), 'x-forwarded-for': '10.0.0.1' };
      case 5:
        return {
          'content-type': pick(['text/xml', 'multipart/form-data; boundary=x', 'application/x-evil']),
        };
      case 6:
        return { 'x-fuzz-unicode': bytes(pick(UNICODE)), 'user-agent': bytes(pick(UNICODE)) };
      case 7:
        return { 'idempotency-key': pick([bytes(pick(UNICODE)), 'k'.repeat(300), ' ', junk(129)]) };
      case 8:
        return { cookie: `session=${junk(100)}; tenant=${real()}`, 'content-encoding': 'gzip' };
      default:
        return { host: pick(['evil.example.com', 'localhost:1', junk(30)]), 'x-original-url': '/admin' };
    }
  };

  /** One malformed request. */
  return (index: number): Case => {
    const tenant = real();
    // A few deliberately oversized bodies (each costs real bytes on the wire); the rest by category.
    if (index % 400 === 7) {
      const size = pick([MAX_BODY + 1, 100_000, 1_000_000, 7 * 1024 * 1024]);
      const route = pick(writeRoutes);
      return {
        kind: `oversized body (${size} bytes)`,
        base: router,
        method: route.method,
        path: route.path(),
        headers: { ...auth(tenant), ...json },
        body: `{"items":[{"sku":"x","quantity":1}],"pad":"${'x'.repeat(size)}"}`,
        expect: 'error',
        tenant,
      };
    }
    if (index % 250 === 11) {
      return {
        kind: 'headers over 16 KiB',
        base: router,
        method: 'GET',
        path: '/orders',
        headers: { ...auth(tenant), 'x-fuzz-huge': junk(17_000 + int(20_000)) },
        expect: 'error',
        tenant,
      };
    }
    if (index % 50 === 13) {
      return {
        kind: 'dot segments',
        base: router,
        method: 'GET',
        path: pick(dotSegments)(),
        headers: auth(tenant),
        expect: 'any',
        tenant,
      };
    }
    if (index % 97 === 3) {
      const cell = platform().state.cells[pick(Object.values(CELL_OF))];
      const secret = pick([undefined, '', junk(32), `${cell.secret}x`]);
      return {
        kind: 'straight to a cell without the router secret',
        base: cell.endpoint,
        method: pick(['GET', 'POST', 'PUT']),
        path: pick(['/orders', '/inventory', '/inventory/x', '/integration/status']),
        headers: {
          'x-bulkhead-tenant': tenant,
          ...(secret !== undefined && { 'x-bulkhead-cell-secret': secret }),
          ...json,
        },
        body: '{"quantity":1}',
        expect: 'error',
      };
    }
    switch (int(8)) {
      case 0: {
        const route = pick([...writeRoutes, { method: 'GET', path: () => '/orders' }]);
        const value = pick(bogusKeys)();
        return {
          kind: 'bogus key',
          base: router,
          method: route.method,
          path: route.path(),
          headers: { ...(value === '' ? {} : { authorization: value }), ...json },
          body: route.method === 'GET' ? undefined : '{"quantity":1}',
          expect: 'error',
        };
      }
      case 1:
      case 2: {
        const route = pick(writeRoutes);
        return {
          kind: 'bad JSON body',
          base: router,
          method: route.method,
          path: route.path(),
          headers: { ...auth(tenant), ...json },
          body: pick(badBodies)(),
          expect: 'error',
          tenant,
        };
      }
      case 3:
        return {
          kind: 'path traversal / unknown path',
          base: router,
          method: pick(['GET', 'GET', 'PUT', 'POST']),
          path: pick(traversal)(),
          headers: { ...auth(tenant), ...json },
          body: '{"quantity":1}',
          expect: 'error',
          tenant,
        };
      case 4: {
        const path = pick([
          '/orders',
          '/inventory',
          '/inventory/x',
          '/orders/abc',
          '/integration',
          '/health',
        ]);
        return {
          kind: 'wrong method',
          base: router,
          method: pick(ODD_METHODS),
          path,
          headers: { ...auth(tenant), ...json },
          body: '{}',
          expect: 'error',
          tenant,
        };
      }
      case 5:
        return {
          kind: 'junk query',
          base: router,
          method: 'GET',
          path: pick(junkQueries)(tenant),
          headers: auth(tenant),
          expect: 'error',
          tenant,
        };
      case 6: {
        // Odd headers on a request that is otherwise bad: the answer must still be a clean 4xx.
        const route = pick(writeRoutes);
        return {
          kind: 'odd headers + bad body',
          base: router,
          method: route.method,
          path: route.path(),
          headers: { ...oddHeaders(), ...auth(tenant), ...json },
          body: pick(badBodies)(),
          expect: 'error',
          tenant,
        };
      }
      default: {
        // Odd headers on a harmless read: served or refused, but never a 5xx, always JSON.
        return {
          kind: 'odd headers on a read',
          base: router,
          method: 'GET',
          path: pick(['/orders?limit=1', '/inventory?limit=1', '/integration/status']),
          headers: { ...oddHeaders(), ...auth(tenant) },
          expect: 'any',
          tenant,
        };
      }
    }
  };
}

interface Verdict {
  readonly ok: boolean;
  readonly why?: string;
}

function judge(c: Case, res: HttpReply): Verdict {
  if (res.status === 0) return { ok: false, why: `no answer (${res.error})` };
  if (res.status >= 500) return { ok: false, why: `${res.status}` };
  const body = res.json as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null)
    return { ok: false, why: `not JSON: ${res.text.slice(0, 80)}` };
  // `Message` is how a function URL's own IAM refusal answers, as AWS's does.
  const reason = [body.error, body.message, body.Message].find((v) => typeof v === 'string');
  if (res.status >= 400 && reason === undefined) {
    return { ok: false, why: `a ${res.status} without an error: ${res.text.slice(0, 80)}` };
  }
  if (c.expect === 'error' && res.status < 400) return { ok: false, why: `accepted (${res.status})` };
  return { ok: true };
}

test('thousands of malformed requests: no 5xx, no crash, every answer a JSON error; tenants still served', async () => {
  const p = platform();
  const next = generator(SEED);
  const cases = Array.from({ length: CASES }, (_, i) => next(i));
  const statuses = new Map<number, number>();
  const failures: { kind: string; method: string; path: string; why: string }[] = [];
  const byKind = new Map<string, number>();
  let serverErrors = 0;
  let notJson = 0;
  let noAnswer = 0;
  let accepted = 0;
  const started = Date.now();

  await inParallel(cases, CONCURRENCY, async (c) => {
    const res = await send(c.base, {
      method: c.method,
      path: c.path,
      headers: c.headers,
      ...(c.body !== undefined && { body: c.body }),
      timeoutMs: 30_000,
    });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const kind = c.kind.replace(/ \(\d+ bytes\)/, '');
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    const verdict = judge(c, res);
    if (verdict.ok) return;
    if (res.status === 0) noAnswer++;
    else if (res.status >= 500) serverErrors++;
    else if (res.json === undefined) notJson++;
    else accepted++;
    failures.push({
      kind: c.kind,
      method: c.method,
      path: c.path.slice(0, 80),
      why: `${verdict.why!}${c.tenant ? ` (as ${c.tenant})` : ''}${res.status >= 500 ? ` ${res.text.slice(0, 60)}` : ''}`,
    });
  });
  const seconds = (Date.now() - started) / 1000;

  // Still standing: the platform process, and every tenant reads and writes through the router.
  const alive = (() => {
    try {
      process.kill(p.pid, 0);
      return true;
    } catch {
      return false;
    }
  })();
  const served: string[] = [];
  for (const tenant of TENANTS) {
    const stock = await call(tenant, 'PUT', '/inventory/after-fuzz', { quantity: 10 });
    const order = await call(tenant, 'POST', '/orders', { items: [{ sku: 'after-fuzz', quantity: 1 }] });
    const list = await call(tenant, 'GET', '/orders?limit=5');
    if (stock.status === 200 && order.status === 201 && list.status === 200) served.push(tenant);
  }

  const histogram = [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  figure('fuzz', {
    'requests tried': CASES,
    errors: failures.length,
    '5xx': serverErrors,
    'non-JSON': notJson,
    'no answer': noAnswer,
    'malformed accepted': accepted,
    'platform alive': alive ? 'yes' : 'NO',
    'tenants served after': `${served.length}/${TENANTS.length}`,
    seconds: Number(seconds.toFixed(1)),
    statuses: histogram,
  });
  if (failures.length > 0) {
    const sample = failures
      .slice(0, 15)
      .map((f) => `  ${f.kind}: ${f.method} ${f.path} -> ${f.why}`)
      .join('\n');
    process.stderr.write(`fuzz failures (first 15 of ${failures.length}):\n${sample}\n`);
  }
  expect(failures).toEqual([]);
  expect(alive).toBe(true);
  expect(served).toEqual([...TENANTS]);
  expect([...byKind.keys()].length).toBeGreaterThanOrEqual(9);
});
