import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { createForwarder, type Forwarder } from '../../../lambdas/router/forward';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../../lambdas/router/headers';
import type { TenantLimiter } from '../../../lambdas/router/limiter';
import type { CellEndpoint } from '../../../lambdas/router/locator';
import { route, type RouterDeps, type RoutingStore } from '../../../lambdas/router/router';
import type { RouterRequest, RouterResponse, UpstreamRequest } from '../../../lambdas/router/types';
import {
  CLAIMED_TENANT_HEADER,
  KEY_HASH_HEADER,
  sameKeyHash,
  TENANT_HEADER,
} from '../../../lambdas/shared/tenant';
import { generateApiKey, hashApiKey } from '../../../lib/domain/api-keys';
import {
  type BakedCell,
  type BakedRouting,
  type CellRoute,
  RouteCache,
  type TenantRoute,
} from '../../../lib/domain/route-cache';

const acmeKey = generateApiKey('acme');
const frozenKey = generateApiKey('frozen-co');
const drainKey = generateApiKey('drain-co');

function fakeStore(): RoutingStore & { down: boolean } {
  const tenants: Record<string, TenantRoute> = {
    acme: { cellId: 'use1-a', status: 'active', keyHash: hashApiKey(acmeKey) },
    'frozen-co': { cellId: 'use1-a', status: 'frozen', keyHash: hashApiKey(frozenKey) },
    'drain-co': { cellId: 'use1-b', status: 'active', keyHash: hashApiKey(drainKey) },
  };
  const cells: Record<string, CellRoute> = {
    'use1-a': { endpoint: 'http://cell-a.test:9001/', status: 'active', secret: 'secret-a' },
    'use1-b': { endpoint: 'http://cell-b.test:9002', status: 'draining' },
  };
  const store = {
    down: false,
    async getTenant(id: string) {
      if (store.down) throw new Error('store down');
      return tenants[id];
    },
    async getCell(id: string) {
      if (store.down) throw new Error('store down');
      return cells[id];
    },
  };
  return store;
}

const ok: RouterResponse = { status: 200, headers: { 'x-bulkhead-cell': 'use1-a' }, body: Buffer.from('{}') };

function setup(overrides: Partial<RouterDeps> = {}) {
  const store = fakeStore();
  const forward = jest.fn<Promise<RouterResponse>, [UpstreamRequest]>().mockResolvedValue(ok);
  let clock = 0;
  const deps: RouterDeps = {
    store,
    forward,
    cache: new RouteCache({ ttlMs: 1000 }),
    now: () => clock,
    ...overrides,
  };
  return { store, forward, deps, advance: (ms: number) => (clock += ms) };
}

const req = (key: string | undefined, more: Partial<RouterRequest> = {}): RouterRequest => ({
  method: 'GET',
  path: '/inventory',
  query: 'sku=a',
  ...more,
  headers: { ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...more.headers },
});

const json = (res: RouterResponse) => JSON.parse(res.body.toString()) as unknown;

describe('route: only endpoints of the fleet get requests', () => {
  it('refuses a cell whose registry row names another endpoint: 503, nothing forwarded, and says why', async () => {
    const refusedWith: string[] = [];
    const { deps, forward } = setup({
      endpointProblem: (cellId, endpoint) =>
        endpoint.includes('cell-a.test') ? `${cellId}: not ours` : undefined,
      onRefusedEndpoint: (cellId, endpoint, problem) => refusedWith.push(`${cellId} ${endpoint} ${problem}`),
    });
    const res = await route(req(acmeKey), deps);
    expect(res.status).toBe(503);
    expect(json(res)).toEqual({ error: 'cell_unavailable' });
    expect(forward).not.toHaveBeenCalled();
    expect(refusedWith).toEqual(['use1-a http://cell-a.test:9001/ use1-a: not ours']);
  });
});

describe('route: authentication', () => {
  it('answers every missing, malformed, unknown or wrong key with the same 401', async () => {
    const { deps, forward } = setup();
    const wrongSecret = generateApiKey('acme');
    const unknownTenant = generateApiKey('nobody');
    const answers = await Promise.all([
      route(req(undefined), deps),
      route(req(undefined, { headers: { authorization: `Basic ${acmeKey}` } }), deps),
      route(req('garbage'), deps),
      route(req(unknownTenant), deps),
      route(req(wrongSecret), deps),
    ]);
    for (const res of answers) {
      expect(res.status).toBe(401);
      expect(json(res)).toEqual({ error: 'unauthenticated' });
      expect(res).toEqual(answers[0]);
    }
    expect(forward).not.toHaveBeenCalled();
  });

  it('forwards an authenticated request to the tenant cell with path and query', async () => {
    const { deps, forward } = setup();
    const res = await route(req(acmeKey), deps);
    expect(res).toBe(ok);
    expect(forward).toHaveBeenCalledWith(
      expect.objectContaining({
        cellId: 'use1-a',
        method: 'GET',
        url: 'http://cell-a.test:9001/inventory?sku=a',
      }),
    );
  });
});

describe('route: header hygiene', () => {
  it('replaces a spoofed tenant header and cell secret, strips hop-by-hop and authorization', async () => {
    const { deps, forward } = setup();
    await route(
      req(acmeKey, {
        method: 'POST',
        body: Buffer.from('{"a":1}'),
        headers: {
          'x-bulkhead-tenant': 'victim',
          'x-bulkhead-cell-secret': 'guess',
          'x-bulkhead-anything': 'x',
          'x-bulkhead-key-hash': 'f'.repeat(64),
          'x-bulkhead-claimed-tenant': 'victim',
          connection: 'keep-alive, x-private',
          'x-private': 'p',
          'keep-alive': 'timeout=5',
          'proxy-authorization': 'Basic x',
          te: 'trailers',
          trailer: 'x',
          'transfer-encoding': 'chunked',
          upgrade: 'websocket',
          host: 'evil.test',
          'content-length': '999',
          'x-amz-security-token': 'tok',
          'content-type': 'application/json',
          'idempotency-key': 'k1',
        },
      }),
      deps,
    );
    const sent = forward.mock.calls[0]![0];
    expect(sent.headers).toEqual({
      'content-type': 'application/json',
      'idempotency-key': 'k1',
      'x-bulkhead-tenant': 'acme',
      'x-bulkhead-cell-secret': 'secret-a',
    });
    expect(sent.body?.toString()).toBe('{"a":1}');
  });

  it('sets no cell secret when the cell has none (AWS: SigV4 instead)', () => {
    expect(upstreamRequestHeaders({ 'X-Bulkhead-Tenant': 'v', Accept: 'a' }, { tenantId: 't1' })).toEqual({
      accept: 'a',
      'x-bulkhead-tenant': 't1',
    });
  });

  it('passes the cell answer on without hop-by-hop headers, adding x-bulkhead-cell', () => {
    expect(
      downstreamResponseHeaders(
        {
          'content-type': 'application/json',
          connection: 'keep-alive',
          'keep-alive': 'timeout=5',
          'transfer-encoding': 'chunked',
          'content-length': '2',
          'x-bulkhead-version': 'v1',
          'x-bulkhead-cell': 'spoof',
        },
        'use1-a',
      ),
    ).toEqual({
      'content-type': 'application/json',
      'x-bulkhead-version': 'v1',
      'x-bulkhead-cell': 'use1-a',
    });
  });
});

describe('route: states and limits', () => {
  it('a frozen tenant gets 503 + Retry-After on writes, reads pass', async () => {
    const { deps, forward } = setup();
    const write = await route(req(frozenKey, { method: 'POST', body: Buffer.from('{}') }), deps);
    expect(write.status).toBe(503);
    expect(write.headers['retry-after']).toBe('5');
    expect(json(write)).toEqual({ error: 'tenant_frozen' });
    expect(forward).not.toHaveBeenCalled();
    expect((await route(req(frozenKey), deps)).status).toBe(200);
    expect(forward).toHaveBeenCalledTimes(1);
  });

  it('a draining cell gets 503 + Retry-After', async () => {
    const { deps, forward } = setup();
    const res = await route(req(drainKey), deps);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(forward).not.toHaveBeenCalled();
  });

  it('answers 413 for a body over the limit before forwarding', async () => {
    const { deps, forward } = setup({ maxBodyBytes: 10 });
    const big = await route(req(acmeKey, { method: 'POST', body: Buffer.alloc(11) }), deps);
    expect(big.status).toBe(413);
    const declared = await route(req(acmeKey, { method: 'POST', headers: { 'content-length': '11' } }), deps);
    expect(declared.status).toBe(413);
    expect(forward).not.toHaveBeenCalled();
    expect((await route(req(acmeKey, { method: 'POST', body: Buffer.alloc(10) }), deps)).status).toBe(200);
  });

  it('the default limit is 64 KB', async () => {
    const { deps } = setup();
    const res = await route(req(acmeKey, { method: 'PUT', body: Buffer.alloc(64 * 1024 + 1) }), deps);
    expect(res.status).toBe(413);
  });
});

describe('route: tenant limits', () => {
  /** A limiter that refuses what `refuse` names and records what it admitted and released. */
  function limiter(refuse: Record<string, 'rate' | 'concurrency'> = {}) {
    const log: string[] = [];
    const fake: TenantLimiter = {
      admit: async (tenantId) => {
        const limit = refuse[tenantId];
        if (limit) return { allowed: false, refusal: { limit, retryAfterSeconds: 1 } };
        log.push(`admit ${tenantId}`);
        return { allowed: true, release: async () => void log.push(`release ${tenantId}`) };
      },
    };
    return { fake, log };
  }

  it('answers a tenant past its limit 429 with Retry-After and which limit, forwarding nothing', async () => {
    const { fake } = limiter({ acme: 'rate', 'frozen-co': 'concurrency' });
    const limited: string[] = [];
    const { deps, forward } = setup({ limiter: fake, onLimited: (t, l) => limited.push(`${t} ${l}`) });
    const rate = await route(req(acmeKey), deps);
    expect(rate.status).toBe(429);
    expect(rate.headers['retry-after']).toBe('1');
    expect(json(rate)).toEqual({ error: 'tenant_rate_limited' });
    const concurrency = await route(req(frozenKey), deps);
    expect(json(concurrency)).toEqual({ error: 'tenant_concurrency_limited' });
    expect(forward).not.toHaveBeenCalled();
    expect(limited).toEqual(['acme rate', 'frozen-co concurrency']);
  });

  it('asks only after the key is verified, and gives the place back once the cell has answered', async () => {
    const { fake, log } = limiter();
    const { deps, forward } = setup({ limiter: fake });
    forward.mockImplementation(async () => {
      log.push('forward');
      return ok;
    });
    expect((await route(req(generateApiKey('acme')), deps)).status).toBe(401);
    expect((await route(req(acmeKey), deps)).status).toBe(200);
    expect(log).toEqual(['admit acme', 'forward', 'release acme']);
  });

  it('gives the place back when the forward fails', async () => {
    const { fake, log } = limiter();
    const { deps, forward } = setup({ limiter: fake });
    forward.mockRejectedValue(new Error('socket hang up'));
    await expect(route(req(acmeKey), deps)).rejects.toThrow('socket hang up');
    expect(log).toEqual(['admit acme', 'release acme']);
  });
});

describe('route: fail static', () => {
  it('keeps routing known tenants from the cache when the store fails, and counts it', async () => {
    const { deps, store, forward, advance } = setup();
    await route(req(acmeKey), deps);
    store.down = true;
    advance(60_000);
    expect((await route(req(acmeKey), deps)).status).toBe(200);
    expect(forward).toHaveBeenCalledTimes(2);
    expect(deps.cache.counters.failStatic).toBe(2); // tenant and cell entries
    // A wrong key is still refused from the stale entry.
    expect((await route(req(generateApiKey('acme')), deps)).status).toBe(401);
  });

  it('a cold router with the store down answers 503 for a tenant that is not baked in, without forwarding', async () => {
    const { deps, store, forward } = setup({ bakedRoutes: BAKED, locator: locatorOf(CELL_A) });
    store.down = true;
    const unknown = await route(req(generateApiKey('nobody')), deps);
    expect(unknown.status).toBe(503);
    expect(unknown.headers['retry-after']).toBe('5');
    expect(json(unknown)).toEqual({ error: 'routing_unavailable' });
    expect(forward).not.toHaveBeenCalled();
    expect(deps.cache.counters.bakedFallback).toBe(0);
  });

  it('a hung store is given up after storeTimeoutMs: known tenants are served stale, others get 503', async () => {
    const { deps, store, forward, advance } = setup({ storeTimeoutMs: 500 });
    await route(req(acmeKey), deps);
    advance(60_000);
    const hang = () => new Promise<never>(() => undefined);
    store.getTenant = hang;
    store.getCell = hang;
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const known = route(req(acmeKey), deps);
      const unknown = route(req(generateApiKey('nobody')), deps);
      // Tenant lookups (both requests) first, then the known tenant's cell lookup: one timeout each.
      await jest.advanceTimersByTimeAsync(499);
      expect(deps.cache.counters.storeErrors).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(json(await unknown)).toEqual({ error: 'routing_unavailable' });
      await jest.advanceTimersByTimeAsync(500);
      expect((await known).status).toBe(200);
      expect(deps.cache.counters).toMatchObject({ storeErrors: 3, failStatic: 2 });
      expect(forward).toHaveBeenCalledTimes(2);
    } finally {
      jest.useRealTimers();
    }
  });
});

const BAKED: BakedRouting = {
  tenants: { acme: { cellId: 'use1-a' }, 'frozen-co': { cellId: 'use1-a' } },
  cells: { 'use1-a': { region: 'us-east-1', account: '111111111111' } },
};
const CELL_A: CellEndpoint = { endpoint: 'https://url-a.lambda-url.us-east-1.on.aws/', secret: 'secret-a' };

function locatorOf(endpoint: CellEndpoint | undefined) {
  return {
    locate: jest.fn<Promise<CellEndpoint | undefined>, [string, BakedCell]>().mockResolvedValue(endpoint),
  };
}

/**
 * A cell as `lambdas/api/app.ts` verifies a fail-static request: the presented hash against its own
 * copy of the tenant's key hash; 401 on a mismatch or a missing copy, else its answer.
 */
function verifyingCell(copies: Record<string, string>) {
  return jest.fn<Promise<RouterResponse>, [UpstreamRequest]>(async (up) => {
    const tenant = up.headers[CLAIMED_TENANT_HEADER] ?? up.headers[TENANT_HEADER];
    const presented = up.headers[KEY_HASH_HEADER];
    if (presented !== undefined && !sameKeyHash(presented, tenant ? copies[tenant] : undefined)) {
      return {
        status: 401,
        headers: { 'x-bulkhead-cell': up.cellId },
        body: Buffer.from('{"error":"unauthenticated"}'),
      };
    }
    return {
      status: 200,
      headers: { 'x-bulkhead-cell': up.cellId },
      body: Buffer.from(`{"tenant":"${tenant}"}`),
    };
  });
}

describe('route: cold router, store down, tenant baked in from the fleet file', () => {
  const cold = (overrides: Partial<RouterDeps> = {}) => {
    const forward = verifyingCell({ acme: hashApiKey(acmeKey) });
    const locator = locatorOf(CELL_A);
    const ctx = setup({ bakedRoutes: BAKED, locator, forward, ...overrides });
    ctx.store.down = true;
    return { ...ctx, forward, locator };
  };

  it('forwards to the located cell with the key’s hash and the claimed tenant, for the cell to verify', async () => {
    const { deps, forward, locator } = cold();
    const res = await route(
      req(acmeKey, {
        method: 'POST',
        path: '/orders',
        query: '',
        body: Buffer.from('{"items":[]}'),
        headers: {
          'content-type': 'application/json',
          'x-bulkhead-tenant': 'victim',
          'x-bulkhead-key-hash': hashApiKey(generateApiKey('victim')),
          'x-bulkhead-claimed-tenant': 'victim',
        },
      }),
      deps,
    );
    expect([res.status, res.headers['x-bulkhead-cell']]).toEqual([200, 'use1-a']);
    expect(locator.locate).toHaveBeenCalledWith('use1-a', BAKED.cells['use1-a']);
    const sent = forward.mock.calls[0]![0];
    expect(sent).toMatchObject({
      cellId: 'use1-a',
      method: 'POST',
      url: 'https://url-a.lambda-url.us-east-1.on.aws/orders',
    });
    // The client's x-bulkhead-* headers are gone; no trusted tenant header is sent on this path.
    expect(sent.headers).toEqual({
      'content-type': 'application/json',
      'x-bulkhead-claimed-tenant': 'acme',
      'x-bulkhead-key-hash': hashApiKey(acmeKey),
      'x-bulkhead-cell-secret': 'secret-a',
    });
    expect(sent.body?.toString()).toBe('{"items":[]}');
    expect(deps.cache.counters.bakedFallback).toBe(1);
  });

  it('the hash is the one the routing store keeps: peppered when keys are', async () => {
    const forward = verifyingCell({ acme: hashApiKey(acmeKey, 'pep') });
    const { deps } = cold({ forward, pepper: 'pep' });
    expect((await route(req(acmeKey), deps)).status).toBe(200);
    expect(forward.mock.calls[0]![0].headers['x-bulkhead-key-hash']).toBe(hashApiKey(acmeKey, 'pep'));
  });

  it('a wrong key is refused by the cell (401), and the client gets exactly what an unknown tenant gets', async () => {
    const { deps, forward } = cold();
    const wrong = await route(req(generateApiKey('acme')), deps);
    expect(forward).toHaveBeenCalledTimes(1);
    expect(await forward.mock.results[0]!.value).toMatchObject({ status: 401 });
    const unknown = await route(req(generateApiKey('nobody')), deps);
    expect(forward).toHaveBeenCalledTimes(1);
    expect(wrong).toEqual(unknown);
    expect(wrong.status).toBe(503);
    expect(wrong.headers['x-bulkhead-cell']).toBeUndefined();
  });

  it('a baked tenant the cell holds no key for is refused like an unknown tenant', async () => {
    const { deps, forward } = cold();
    const res = await route(req(frozenKey), deps); // frozen-co is baked, but its cell has no copy
    expect(forward).toHaveBeenCalledTimes(1);
    expect(res).toEqual(await route(req(generateApiKey('nobody')), deps));
  });

  it('every refusal before the cell has verified the key is the unknown tenant’s answer', async () => {
    const unknownAnswer = async () => {
      const { deps } = cold();
      return route(req(generateApiKey('nobody')), deps);
    };
    const expected = await unknownAnswer();
    // No endpoint to be found.
    const lost = cold({ locator: locatorOf(undefined) });
    expect(await route(req(acmeKey), lost.deps)).toEqual(expected);
    // A locator that throws.
    const broken = cold({ locator: { locate: () => Promise.reject(new Error('boom')) } });
    expect(await route(req(acmeKey), broken.deps)).toEqual(expected);
    // A body over the limit is not forwarded, and the 413 would tell that the tenant is baked.
    const big = cold({ maxBodyBytes: 10 });
    expect(await route(req(acmeKey, { method: 'POST', body: Buffer.alloc(11) }), big.deps)).toEqual(expected);
    expect(big.forward).not.toHaveBeenCalled();
    // A cell that cannot be reached (the forwarder's own 503 carries no cell header).
    const unreachable = cold({
      forward: jest.fn().mockResolvedValue({
        status: 503,
        headers: { 'content-type': 'application/json', 'retry-after': '5' },
        body: Buffer.from('{"error":"cell_unavailable"}'),
      }),
    });
    expect(await route(req(acmeKey), unreachable.deps)).toEqual(expected);
  });

  it('a verified request gets the cell’s own answer, including its 503 for a tenant being moved', async () => {
    const frozen: RouterResponse = {
      status: 503,
      headers: { 'x-bulkhead-cell': 'use1-a', 'retry-after': '5' },
      body: Buffer.from('{"error":"tenant_frozen"}'),
    };
    const { deps } = cold({ forward: jest.fn().mockResolvedValue(frozen) });
    expect(await route(req(acmeKey, { method: 'POST' }), deps)).toBe(frozen);
  });

  it('uses a cell this instance already knows (even stale) instead of the locator, and respects its status', async () => {
    const { deps, forward, locator, advance } = cold();
    deps.cache.cells.set(
      'use1-a',
      { endpoint: 'http://cell-a.test:9001/', status: 'active', secret: 'secret-a' },
      0,
    );
    advance(60_000);
    expect((await route(req(acmeKey), deps)).status).toBe(200);
    expect(forward.mock.calls.at(-1)![0].url).toBe('http://cell-a.test:9001/inventory?sku=a');
    expect(locator.locate).not.toHaveBeenCalled();

    const drained = cold({
      bakedRoutes: {
        ...BAKED,
        tenants: { ...BAKED.tenants, acme: { cellId: 'use1-b' } },
        cells: { ...BAKED.cells, 'use1-b': BAKED.cells['use1-a'] },
      },
    });
    drained.deps.cache.cells.set('use1-b', { endpoint: 'http://cell-b.test:9002', status: 'draining' }, 0);
    const res = await route(req(acmeKey), drained.deps);
    expect(json(res)).toEqual({ error: 'routing_unavailable' });
    expect(drained.forward).not.toHaveBeenCalled();
  });

  it('a cached tenant is still authenticated at the router (the baked path is for cold misses only)', async () => {
    const { deps, store, forward } = cold();
    store.down = false;
    await route(req(acmeKey), deps);
    store.down = true;
    expect((await route(req(generateApiKey('acme')), deps)).status).toBe(401);
    expect(forward).toHaveBeenCalledTimes(1);
    expect(forward.mock.calls[0]![0].headers['x-bulkhead-tenant']).toBe('acme');
    expect(forward.mock.calls[0]![0].headers['x-bulkhead-key-hash']).toBeUndefined();
  });

  it('without a locator a baked tenant gets the same 503 as before', async () => {
    const { deps, forward } = cold({ locator: undefined });
    expect(json(await route(req(acmeKey), deps))).toEqual({ error: 'routing_unavailable' });
    expect(forward).not.toHaveBeenCalled();
  });
});

describe('forward against real local servers', () => {
  let forwarder: Forwarder;
  const servers: http.Server[] = [];

  const listen = async (handler: http.RequestListener) => {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };

  beforeEach(() => {
    // The forwarder's connect and total timeouts run on a fake clock; sockets and servers are real.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    forwarder = createForwarder({ connectTimeoutMs: 300, timeoutMs: 300 });
  });
  afterEach(async () => {
    jest.useRealTimers();
    forwarder.destroy();
    await Promise.all(
      servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  });

  const up = (url: string, more: Partial<UpstreamRequest> = {}): UpstreamRequest => ({
    cellId: 'use1-a',
    url,
    method: 'GET',
    headers: {},
    ...more,
  });

  it('a refused port gives a 503 with Retry-After at once, without waiting for a timeout', async () => {
    const { server, url } = await listen(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // The forwarder's timers never fire: the answer can only come from the refusal itself.
    const res = await forwarder.forward(up(`${url}/x`));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(json(res)).toEqual({ error: 'cell_unavailable' });
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a cell that never answers gives 504 when the timeout runs out, not before', async () => {
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const { url } = await listen(() => arrived());
    let settled = false;
    const pending = forwarder.forward(up(`${url}/slow`)).finally(() => (settled = true));
    await reached;
    jest.advanceTimersByTime(299);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    jest.advanceTimersByTime(1);
    const res = await pending;
    expect(res.status).toBe(504);
    expect(json(res)).toEqual({ error: 'cell_timeout' });
  });

  it('reuses one keep-alive connection for two requests, and passes the answer through', async () => {
    const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const { server, url } = await listen((request, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString()));
      request.on('end', () => {
        seen.push({ method: request.method, url: request.url, headers: request.headers, body });
        response.writeHead(201, { 'content-type': 'application/json', 'x-bulkhead-version': 'v7' });
        response.end('{"ok":true}');
      });
    });
    let connections = 0;
    server.on('connection', () => (connections += 1));

    const first = await forwarder.forward(
      up(`${url}/orders?x=1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"a":1}'),
      }),
    );
    const second = await forwarder.forward(up(`${url}/inventory`));
    expect(connections).toBe(1);
    expect(first.status).toBe(201);
    expect(first.body.toString()).toBe('{"ok":true}');
    expect(first.headers).toMatchObject({ 'x-bulkhead-cell': 'use1-a', 'x-bulkhead-version': 'v7' });
    expect(first.headers.connection).toBeUndefined();
    expect(first.headers['keep-alive']).toBeUndefined();
    expect(second.status).toBe(201);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/orders?x=1', body: '{"a":1}' });
    expect(seen[0]!.headers['content-length']).toBe('7');
  });

  it('end to end: the cell sees the authenticated tenant, never the spoofed one', async () => {
    let tenant: string | string[] | undefined;
    let secret: string | string[] | undefined;
    const { url } = await listen((request, response) => {
      tenant = request.headers['x-bulkhead-tenant'];
      secret = request.headers['x-bulkhead-cell-secret'];
      response.end('{}');
    });
    const store: RoutingStore = {
      getTenant: async (id) =>
        id === 'acme' ? { cellId: 'c1', status: 'active', keyHash: hashApiKey(acmeKey) } : undefined,
      getCell: async () => ({ endpoint: url, status: 'active', secret: 's1' }),
    };
    const res = await route(req(acmeKey, { headers: { 'x-bulkhead-tenant': 'victim' } }), {
      store,
      forward: forwarder.forward,
      cache: new RouteCache(),
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-bulkhead-cell']).toBe('c1');
    expect(tenant).toBe('acme');
    expect(secret).toBe('s1');
  });

  it('signs with SigV4 (service lambda) when asked, instead of a secret', async () => {
    let auth: string | undefined;
    let date: string | string[] | undefined;
    const { url } = await listen((request, response) => {
      auth = request.headers.authorization;
      date = request.headers['x-amz-date'];
      response.end('{}');
    });
    const signing = createForwarder({
      sign: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    try {
      const res = await signing.forward(
        up(`${url}/inventory?b=2&a=1`, { headers: { 'x-bulkhead-tenant': 'acme' } }),
      );
      expect(res.status).toBe(200);
      expect(auth).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/lambda\/aws4_request, /,
      );
      expect(auth).toContain('x-bulkhead-tenant');
      expect(date).toBeDefined();
    } finally {
      signing.destroy();
    }
  });

  it('signs for the cell’s region when its endpoint’s host names none (a local endpoint)', async () => {
    let auth: string | undefined;
    const { url } = await listen((request, response) => {
      auth = request.headers.authorization;
      response.end('{}');
    });
    const signing = createForwarder({
      sign: true,
      region: 'us-east-1',
      regionOf: (cellId) => (cellId === 'use1-a' ? 'us-west-2' : undefined),
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      expect((await signing.forward(up(url))).status).toBe(200);
      expect(auth).toMatch(/Credential=a\/\d{8}\/us-west-2\/lambda\/aws4_request/);
      expect((await signing.forward({ ...up(url), cellId: 'c9' })).status).toBe(200);
      expect(auth).toMatch(/Credential=a\/\d{8}\/us-east-1\/lambda\/aws4_request/);
    } finally {
      signing.destroy();
    }
  });
});

describe('route: a tenant that moved', () => {
  const moverKey = generateApiKey('mover');
  const movedAnswer = (to: string): RouterResponse => ({
    status: 421,
    headers: { 'x-bulkhead-cell': 'use1-a', 'x-bulkhead-moved-to': to },
    body: Buffer.from(JSON.stringify({ error: 'tenant_moved', details: { to } })),
  });
  const answered = (cellId: string): RouterResponse => ({
    status: 200,
    headers: { 'x-bulkhead-cell': cellId },
    body: Buffer.from('{}'),
  });

  function moving(initial: TenantRoute) {
    let tenant = initial;
    const getTenant = jest.fn(async (id: string) => (id === 'mover' ? tenant : undefined));
    const store: RoutingStore = {
      getTenant,
      getCell: async (id) => ({ endpoint: `http://${id}.test`, status: 'active' }),
    };
    const forward = jest.fn<Promise<RouterResponse>, [UpstreamRequest]>();
    const deps: RouterDeps = { store, forward, cache: new RouteCache({ ttlMs: 60_000 }), now: () => 0 };
    return { deps, forward, getTenant, moveTo: (route: TenantRoute) => void (tenant = route) };
  }
  const at = (cellId: string, status = 'active'): TenantRoute => ({
    cellId,
    status,
    keyHash: hashApiKey(moverKey),
  });

  it('drops the cached route, re-resolves it from the store and sends the request once to the new cell', async () => {
    const { deps, forward, getTenant, moveTo } = moving(at('use1-a'));
    forward.mockResolvedValueOnce(answered('use1-a'));
    await route(req(moverKey), deps);
    moveTo(at('use1-b'));
    forward.mockResolvedValueOnce(movedAnswer('use1-b')).mockResolvedValueOnce(answered('use1-b'));
    const write = await route(
      req(moverKey, { method: 'POST', path: '/orders', body: Buffer.from('{}') }),
      deps,
    );
    expect(write.status).toBe(200);
    expect(forward.mock.calls.slice(1).map(([up]) => [up.method, up.url])).toEqual([
      ['POST', 'http://use1-a.test/orders?sku=a'],
      ['POST', 'http://use1-b.test/orders?sku=a'],
    ]);
    expect(getTenant).toHaveBeenCalledTimes(2);
    // The new route is cached: the next request goes straight to the new cell.
    forward.mockResolvedValueOnce(answered('use1-b'));
    await route(req(moverKey), deps);
    expect(forward.mock.calls.at(-1)![0].url).toBe('http://use1-b.test/inventory?sku=a');
    expect(getTenant).toHaveBeenCalledTimes(2);
  });

  it('never retries twice: a second "moved" answer is a 503 to retry, and nothing is forwarded a third time', async () => {
    const { deps, forward, moveTo } = moving(at('use1-a'));
    forward.mockResolvedValueOnce(answered('use1-a'));
    await route(req(moverKey), deps);
    moveTo(at('use1-b'));
    forward.mockResolvedValue(movedAnswer('use1-c'));
    const res = await route(req(moverKey), deps);
    expect([res.status, json(res), res.headers['retry-after']]).toEqual([
      503,
      { error: 'tenant_moved' },
      '5',
    ]);
    expect(forward).toHaveBeenCalledTimes(3);
  });

  it('does not resend to the cell that said "moved" when the store still routes the tenant there', async () => {
    const { deps, forward } = moving(at('use1-a'));
    forward.mockResolvedValue(movedAnswer('use1-b'));
    const res = await route(req(moverKey), deps);
    expect(res.status).toBe(503);
    expect(forward).toHaveBeenCalledTimes(1);
  });

  it('a cached frozen route is checked with the store before a write is refused: the move may be over', async () => {
    const { deps, forward, moveTo } = moving(at('use1-a', 'frozen'));
    forward.mockResolvedValue(answered('use1-a'));
    expect((await route(req(moverKey), deps)).status).toBe(200);
    const write = () =>
      route(req(moverKey, { method: 'PUT', path: '/inventory/a', body: Buffer.from('{}') }), deps);
    expect(json(await write())).toEqual({ error: 'tenant_frozen' });
    moveTo(at('use1-b'));
    forward.mockResolvedValue(answered('use1-b'));
    expect((await write()).status).toBe(200);
    expect(forward.mock.calls.at(-1)![0].url).toBe('http://use1-b.test/inventory/a?sku=a');
  });
});
