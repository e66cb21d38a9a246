import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  LocalAlias,
  LocalFunctionVersion,
  type AliasTarget,
  type InvokeResult,
  type LocalFunctionVersionOptions,
} from '../../../lib/local/lambda/function-runtime';

/** Tiny CommonJS bundles, as esbuild would write them. */
const FIXTURES: Record<string, string> = {
  'echo.js': `
    exports.handler = async (event, context) => ({
      x: process.env.X ?? null,
      parentOnly: process.env.PARENT_ONLY ?? null,
      functionNameEnv: process.env.AWS_LAMBDA_FUNCTION_NAME,
      versionEnv: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      region: process.env.AWS_REGION,
      functionName: context.functionName,
      functionVersion: context.functionVersion,
      awsRequestId: context.awsRequestId,
      remaining: context.getRemainingTimeInMillis(),
      waits: context.callbackWaitsForEmptyEventLoop,
      event,
    });`,
  'slow-echo.js': `
    const { threadId } = require('node:worker_threads');
    exports.handler = async (event) => {
      const start = Date.now();
      const x = process.env.X;
      process.env.SEEN = event.tag;
      await new Promise((resolve) => setTimeout(resolve, event.ms));
      return { x, xAfter: process.env.X, seen: process.env.SEEN, threadId, start, end: Date.now() };
    };`,
  'throws.js': `
    exports.handler = async (event) => {
      if (event.kind === 'string') throw 'plain string';
      const error = new Error('boom: ' + event.id);
      error.name = 'BoomError';
      throw error;
    };`,
  'callback.js': `
    exports.handler = (event, context, callback) => {
      setTimeout(() => (event.fail ? callback(new Error('cb failed')) : callback(null, { via: 'callback' })), 5);
    };`,
  'spin.js': `
    exports.handler = async (event) => {
      if (event.spin) for (;;) {}
      if (event.ms) await new Promise((resolve) => setTimeout(resolve, event.ms));
      return 'ok';
    };`,
  'needs-env.js': `
    if (!process.env.TABLE_NAME) throw new Error('missing environment variable: TABLE_NAME');
    exports.handler = async () => ({ table: process.env.TABLE_NAME });`,
  'no-export.js': `exports.main = async () => 'wrong name';`,
  'argv.js': `exports.handler = async () => process.execArgv;`,
  'logs.js': `
    exports.handler = async (event) => {
      console.log('hello from', event.who);
      console.error('an error line');
      process.stdout.write('raw write\\n');
      return null;
    };`,
  'api.js': `
    exports.handler = async (event) => {
      if (event.ms) await new Promise((resolve) => setTimeout(resolve, event.ms));
      if (event.throw) throw new Error('handler failed');
      return { statusCode: event.status ?? 200, body: process.env.AWS_LAMBDA_FUNCTION_VERSION };
    };`,
};

let dir: string;
const started: LocalFunctionVersion[] = [];

function version(file: string, options: Partial<LocalFunctionVersionOptions> = {}): LocalFunctionVersion {
  const v = new LocalFunctionVersion({
    name: 'fn',
    version: '1',
    handlerFile: path.join(dir, file),
    environment: {},
    timeoutMs: 5000,
    log: () => undefined,
    ...options,
  });
  started.push(v);
  return v;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-fn-'));
  for (const [name, code] of Object.entries(FIXTURES)) fs.writeFileSync(path.join(dir, name), code);
});

afterAll(async () => {
  await Promise.all(started.map((v) => v.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('LocalFunctionVersion', () => {
  it('runs the bundle with exactly its own environment and a Lambda context', async () => {
    process.env.PARENT_ONLY = 'must not leak';
    try {
      const fn = version('echo.js', {
        name: 'orders-api',
        version: '7',
        environment: { X: 'one' },
        region: 'eu-west-1',
      });

      const first = await fn.invoke({ hello: 'world' });
      const second = await fn.invoke({ hello: 'again' });

      expect(first.error).toBeUndefined();
      expect(first.result).toMatchObject({
        x: 'one',
        parentOnly: null,
        functionNameEnv: 'orders-api',
        versionEnv: '7',
        region: 'eu-west-1',
        functionName: 'orders-api',
        functionVersion: '7',
        waits: true,
        event: { hello: 'world' },
      });
      const context = first.result as { remaining: number; awsRequestId: string };
      expect(context.remaining).toBeGreaterThan(4000);
      expect(context.remaining).toBeLessThanOrEqual(5000);
      expect(context.awsRequestId).toBe(first.requestId);
      expect(first.coldStart).toBe(true);
      expect(first.initDurationMs).toBeGreaterThan(0);
      expect(second.coldStart).toBe(false);
      expect(second.initDurationMs).toBeUndefined();
      expect(fn.stats()).toMatchObject({ workers: 1, coldStarts: 1, invocations: 2 });
      expect(fn.lastInitDurationMs).toBe(first.initDurationMs);
    } finally {
      delete process.env.PARENT_ONLY;
    }
  });

  it('keeps two versions of the same function isolated while both run', async () => {
    const one = version('slow-echo.js', { version: '1', environment: { X: 'one' }, instances: 3 });
    const two = version('slow-echo.js', { version: '2', environment: { X: 'two' }, instances: 3 });

    const runs = await Promise.all(
      [0, 1, 2].flatMap((i) => [
        one.invoke({ tag: `one-${i}`, ms: 400 }),
        two.invoke({ tag: `two-${i}`, ms: 400 }),
      ]),
    );

    const results = runs.map(
      (r) => r.result as { x: string; xAfter: string; seen: string; start: number; end: number },
    );
    results.forEach((r, n) => {
      const expected = n % 2 === 0 ? 'one' : 'two';
      expect(r).toMatchObject({ x: expected, xAfter: expected, seen: `${expected}-${Math.floor(n / 2)}` });
    });
    // They really ran at once: every run started before any ended.
    expect(Math.max(...results.map((r) => r.start))).toBeLessThan(Math.min(...results.map((r) => r.end)));
    expect(process.env.SEEN).toBeUndefined();
  });

  it('gives each worker one invocation at a time, adds workers up to `instances`, then queues', async () => {
    const fn = version('slow-echo.js', { instances: 2 });

    const runs = await Promise.all([1, 2, 3, 4, 5].map((i) => fn.invoke({ tag: String(i), ms: 120 })));

    const results = runs.map((r) => r.result as { threadId: number; start: number; end: number });
    expect(new Set(results.map((r) => r.threadId)).size).toBe(2);
    expect(runs.filter((r) => r.coldStart)).toHaveLength(2);
    expect(maxOverlap(results)).toBe(2);
    // No worker ever ran two invocations at once.
    for (const threadId of new Set(results.map((r) => r.threadId))) {
      expect(maxOverlap(results.filter((r) => r.threadId === threadId))).toBe(1);
    }
    expect(fn.stats()).toMatchObject({ workers: 2, busy: 0, queued: 0, coldStarts: 2 });
  });

  it('reports what the handler throws as the invocation error', async () => {
    const fn = version('throws.js');
    const cb = version('callback.js');

    const thrown = await fn.invoke({ id: 42 });
    const plain = await fn.invoke({ kind: 'string' });

    expect(thrown.error).toEqual({ errorType: 'BoomError', errorMessage: 'boom: 42' });
    expect(thrown.result).toBeUndefined();
    expect(plain.error).toEqual({ errorType: 'string', errorMessage: 'plain string' });
    expect((await cb.invoke({})).result).toEqual({ via: 'callback' });
    expect((await cb.invoke({ fail: true })).error).toEqual({
      errorType: 'Error',
      errorMessage: 'cb failed',
    });
    // A handler error does not cost the worker.
    expect(fn.stats()).toMatchObject({ workers: 1, coldStarts: 1 });
  });

  it('terminates the worker of an invocation that runs past the timeout', async () => {
    const fn = version('spin.js', { timeoutMs: 200, instances: 1 });
    expect((await fn.invoke({})).result).toBe('ok');

    const begin = Date.now();
    const timedOut = await fn.invoke({ spin: true });

    expect(Date.now() - begin).toBeLessThan(2000);
    expect(timedOut.error?.errorType).toBe('Sandbox.Timedout');
    expect(timedOut.error?.errorMessage).toMatch(/Task timed out after 0\.20 seconds/);
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(195);
    expect(fn.stats().workers).toBe(0);
    const after = await fn.invoke({});
    expect(after).toMatchObject({ result: 'ok', coldStart: true });
  });

  it('times out a slow invocation while queued ones wait, then serves them on a fresh worker', async () => {
    const fn = version('spin.js', { timeoutMs: 150, instances: 1 });

    const [slow, queued] = await Promise.all([fn.invoke({ ms: 1000 }), fn.invoke({})]);

    expect(slow.error?.errorType).toBe('Sandbox.Timedout');
    expect(queued).toMatchObject({ result: 'ok', coldStart: true });
  });

  it('reports a module that throws at load as an init error naming the variable', async () => {
    const broken = version('needs-env.js', { environment: {} });

    const outcome = await broken.invoke({});

    expect(outcome.error).toEqual({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: 'Error: missing environment variable: TABLE_NAME',
    });
    expect(outcome.coldStart).toBe(true);
    expect(broken.initError?.errorMessage).toMatch(/TABLE_NAME/);
    await expect(broken.warm()).rejects.toThrow(
      /Runtime\.ImportModuleError: Error: missing environment variable: TABLE_NAME/,
    );
    expect(broken.stats().workers).toBe(0);

    const wired = version('needs-env.js', { environment: { TABLE_NAME: 'cell-a' } });
    await wired.warm();
    expect(wired.initError).toBeUndefined();
    expect(wired.stats()).toMatchObject({ workers: 1, busy: 0 });
    expect(await wired.invoke({})).toMatchObject({ result: { table: 'cell-a' }, coldStart: false });
  });

  it('reports a bundle without the handler export', async () => {
    const fn = version('no-export.js');

    expect((await fn.invoke({})).error).toEqual({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'no-export.handler is undefined or not exported',
    });
  });

  it("applies the function's NODE_OPTIONS flags that a worker can take, as Lambda applies NODE_OPTIONS", async () => {
    const lines: string[] = [];
    const withMaps = version('argv.js', { environment: { NODE_OPTIONS: '--enable-source-maps' } });
    const processWide = version('argv.js', {
      environment: { NODE_OPTIONS: '--max-old-space-size=100' },
      log: (line) => lines.push(line),
    });

    expect((await withMaps.invoke({})).result).toEqual(['--enable-source-maps']);
    expect((await processWide.invoke({})).result).toEqual([]);
    expect(lines).toContain(
      'NODE_OPTIONS flags --max-old-space-size=100 do not apply to a worker thread: ignored',
    );
  });

  it('sends the handler output to `log`, console lines with the request id and level', async () => {
    const lines: string[] = [];
    const fn = version('logs.js', { log: (line) => lines.push(line) });

    const outcome = await fn.invoke({ who: 'test' });
    await waitFor(() => lines.length >= 3);

    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^\\S+Z\\t${outcome.requestId}\\tINFO\\thello from test$`)),
        expect.stringMatching(new RegExp(`\\t${outcome.requestId}\\tERROR\\tan error line$`)),
        'raw write',
      ]),
    );
  });

  it('stop() fails what runs and a later invocation starts a new worker', async () => {
    const fn = version('spin.js', { instances: 1 });
    const running = fn.invoke({ ms: 2000 });
    const queued = fn.invoke({});
    await waitFor(() => fn.stats().busy === 1);

    await fn.stop();

    expect((await running).error?.errorType).toBe('Local.Stopped');
    expect((await queued).error?.errorType).toBe('Local.Stopped');
    expect(fn.stats().workers).toBe(0);
    expect(await fn.invoke({})).toMatchObject({ result: 'ok', coldStart: true });
  });
});

describe('LocalAlias', () => {
  it('sends exactly the weight of the traffic to the additional version, evenly spread', async () => {
    const v1 = version('api.js', { version: '1' });
    const v2 = version('api.js', { version: '2' });
    const alias = new LocalAlias('live');
    alias.point(v1);
    expect(alias.weights()).toEqual([{ version: '1', weight: 1 }]);

    alias.shift(v2, 0.1);
    const executed: string[] = [];
    for (let i = 0; i < 100; i += 1) {
      const outcome = await alias.invoke({});
      expect((outcome.result as { body: string }).body).toBe(outcome.executedVersion);
      executed.push(outcome.executedVersion);
    }

    expect(alias.weights()).toEqual([
      { version: '1', weight: 0.9 },
      { version: '2', weight: 0.1 },
    ]);
    expect(executed.filter((v) => v === '2')).toHaveLength(10);
    // Spread out, not bunched: one in every ten.
    for (let i = 0; i < 100; i += 10)
      expect(executed.slice(i, i + 10).filter((v) => v === '2')).toHaveLength(1);

    alias.point(v2);
    expect(alias.weights()).toEqual([{ version: '2', weight: 1 }]);
    expect((await alias.invoke({})).executedVersion).toBe('2');
  });

  it('is exact for any weight and any count', async () => {
    for (const weight of [0, 0.01, 0.05, 0.25, 0.3, 0.5, 0.7, 0.9, 1]) {
      const alias = new LocalAlias('live');
      alias.point(fake('1'));
      alias.shift(fake('2'), weight);
      let onNew = 0;
      for (let n = 1; n <= 200; n += 1) {
        if ((await alias.invoke({})).executedVersion === '2') onNew += 1;
        // Exact whenever n·weight is a whole number, never more than one off in between.
        expect(onNew).toBeGreaterThanOrEqual(Math.floor(n * weight + 1e-9));
        expect(onNew).toBeLessThanOrEqual(Math.ceil(n * weight - 1e-9));
      }
    }
  });

  it('refuses a bad split', () => {
    const alias = new LocalAlias('live');
    expect(() => alias.shift(fake('2'), 0.1)).toThrow(/points to no version/);
    alias.point(fake('1'));
    expect(() => alias.shift(fake('1'), 0.1)).toThrow(/must differ/);
    expect(() => alias.shift(fake('2'), 1.5)).toThrow(/within 0\.\.1/);
    expect(() => alias.shift({ ...fake('2'), name: 'other' }, 0.1)).toThrow(/not fn/);
    return expect(new LocalAlias('empty').invoke({})).rejects.toThrow(/points to no version/);
  });

  it('keeps error rate and p50/p99 per executed version, counting 5xx results as errors', async () => {
    const v1 = version('api.js', { version: '1' });
    const v2 = version('api.js', { version: '2' });
    const alias = new LocalAlias('live');
    alias.point(v1);
    alias.shift(v2, 0.5);

    // With weight 0.5, even invocations go to version 2 and odd ones to version 1.
    for (let i = 0; i < 20; i += 1) {
      const event =
        i % 2 === 0
          ? i === 2
            ? { throw: true }
            : { status: i % 4 === 0 ? 502 : 200 }
          : { ms: i === 19 ? 300 : 0, status: i === 1 ? 404 : 200 };
      const outcome = await alias.invoke(event);
      expect(outcome.executedVersion).toBe(i % 2 === 0 ? '2' : '1');
    }

    const [m1, m2] = alias.metrics();
    expect(m1).toMatchObject({ version: '1', invocations: 10, errors: 0 });
    expect(m1.window).toMatchObject({ invocations: 10, errors: 0, errorRate: 0 });
    expect(m1.window.p99Ms).toBeGreaterThanOrEqual(290);
    expect(m1.window.p50Ms).toBeLessThan(100);
    expect(m2).toMatchObject({ version: '2', invocations: 10, errors: 6 });
    expect(m2.window).toMatchObject({ invocations: 10, errors: 6, errorRate: 0.6 });
    expect(m2.window.p99Ms).toBeLessThan(100);
    expect(alias.metricsOf('3').invocations).toBe(0);

    alias.resetMetrics('2');
    expect(alias.metricsOf('2').window.invocations).toBe(0);
    expect(alias.metricsOf('1').invocations).toBe(10);
  });

  it('computes the window over the last N invocations within the last M seconds', async () => {
    let now = 1_000_000;
    const durations = [10, 20, 30, 40, 1000];
    let call = 0;
    const v1: AliasTarget = {
      name: 'fn',
      version: '1',
      invoke: async (): Promise<InvokeResult> => {
        const durationMs = durations[call % durations.length];
        call += 1;
        return durationMs === 1000
          ? { error: { errorType: 'E', errorMessage: 'slow' }, durationMs, coldStart: false }
          : { result: 'ok', durationMs, coldStart: false };
      },
    };
    const alias = new LocalAlias('live', { windowSize: 4, windowSeconds: 10, now: () => now });
    alias.point(v1);

    for (let i = 0; i < 5; i += 1) await alias.invoke({});
    let m = alias.metricsOf('1');
    expect(m).toMatchObject({ invocations: 5, errors: 1 });
    expect(m.window).toEqual({ invocations: 4, errors: 1, errorRate: 0.25, p50Ms: 30, p99Ms: 1000 });

    now += 11_000;
    m = alias.metricsOf('1');
    expect(m.invocations).toBe(5);
    expect(m.window).toEqual({ invocations: 0, errors: 0, errorRate: 0, p50Ms: 0, p99Ms: 0 });
  });
});

function fake(v: string): AliasTarget {
  return { name: 'fn', version: v, invoke: async () => ({ result: v, durationMs: 1, coldStart: false }) };
}

function maxOverlap(runs: readonly { start: number; end: number }[]): number {
  const edges = runs.flatMap((r) => [
    { at: r.start, delta: 1 },
    { at: r.end, delta: -1 },
  ]);
  // An end and a start at the same millisecond do not overlap.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const edge of edges) {
    current += edge.delta;
    max = Math.max(max, current);
  }
  return max;
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
