import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  LocalFunctionVersion,
  type LocalFunctionVersionOptions,
} from '../../../lib/local/lambda/function-version';

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
      remainingLater: await new Promise((resolve) => setTimeout(() => resolve(context.getRemainingTimeInMillis()), 20)),
      waits: context.callbackWaitsForEmptyEventLoop,
      event,
    });`,
  // With a barrier, returns only once \`count\` invocations have arrived at it: proof that they ran at once.
  'barrier-echo.js': `
    const fs = require('node:fs');
    const path = require('node:path');
    const { threadId } = require('node:worker_threads');
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    exports.handler = async (event) => {
      const start = Date.now();
      const x = process.env.X;
      process.env.SEEN = event.tag;
      if (event.barrier) {
        fs.writeFileSync(path.join(event.barrier.dir, event.tag), '');
        while (fs.readdirSync(event.barrier.dir).length < event.barrier.count) await sleep(5);
      }
      await sleep(event.ms ?? 0);
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

/** A fresh directory for one barrier: each invocation that reaches it leaves a file. */
function barrierDir(): string {
  return fs.mkdtempSync(path.join(dir, 'barrier-'));
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
      const context = first.result as { remaining: number; remainingLater: number; awsRequestId: string };
      // The time left counts down from the timeout.
      expect(context.remaining).toBeGreaterThan(0);
      expect(context.remaining).toBeLessThanOrEqual(5000);
      expect(context.remainingLater).toBeLessThan(context.remaining);
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
    // The timeout only bounds a broken barrier: all six must be running at once to pass it.
    const one = version('barrier-echo.js', {
      version: '1',
      environment: { X: 'one' },
      instances: 3,
      timeoutMs: 30_000,
    });
    const two = version('barrier-echo.js', {
      version: '2',
      environment: { X: 'two' },
      instances: 3,
      timeoutMs: 30_000,
    });
    const barrier = { dir: barrierDir(), count: 6 };

    const runs = await Promise.all(
      [0, 1, 2].flatMap((i) => [
        one.invoke({ tag: `one-${i}`, barrier }),
        two.invoke({ tag: `two-${i}`, barrier }),
      ]),
    );

    const results = runs.map(
      (r) => r.result as { x: string; xAfter: string; seen: string; start: number; end: number },
    );
    results.forEach((r, n) => {
      const expected = n % 2 === 0 ? 'one' : 'two';
      expect(r).toMatchObject({ x: expected, xAfter: expected, seen: `${expected}-${Math.floor(n / 2)}` });
    });
    expect(runs.map((r) => r.error)).toEqual(runs.map(() => undefined));
    expect(process.env.SEEN).toBeUndefined();
  });

  it('gives each worker one invocation at a time, adds workers up to `instances`, then queues', async () => {
    const fn = version('barrier-echo.js', { instances: 2, timeoutMs: 30_000 });
    // The first two wait for each other: both workers run at once; the other three queue behind them.
    const barrier = { dir: barrierDir(), count: 2 };

    const runs = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => fn.invoke({ tag: String(i), ms: 20, ...(i <= 2 && { barrier }) })),
    );

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

    const timedOut = await fn.invoke({ spin: true });

    expect(timedOut.error?.errorType).toBe('Sandbox.Timedout');
    expect(timedOut.error?.errorMessage).toMatch(/Task timed out after 0\.20 seconds/);
    expect(timedOut.durationMs).toBeGreaterThanOrEqual(195);
    expect(fn.stats().workers).toBe(0);
    const after = await fn.invoke({});
    expect(after).toMatchObject({ result: 'ok', coldStart: true });
  });

  it('times out a slow invocation while queued ones wait, then serves them on a fresh worker', async () => {
    const fn = version('spin.js', { timeoutMs: 150, instances: 1 });

    const [slow, queued] = await Promise.all([fn.invoke({ spin: true }), fn.invoke({})]);

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
    const running = fn.invoke({ spin: true });
    const queued = fn.invoke({});
    await waitFor(() => fn.stats().busy === 1);

    await fn.stop();

    expect((await running).error?.errorType).toBe('Local.Stopped');
    expect((await queued).error?.errorType).toBe('Local.Stopped');
    expect(fn.stats().workers).toBe(0);
    expect(await fn.invoke({})).toMatchObject({ result: 'ok', coldStart: true });
  });
  it('stopWhenIdle() cuts nothing short: an invocation still starting its environment, one queued behind it, then stops', async () => {
    const fn = version('spin.js', { instances: 1 });
    // Both are asked for before the worker has even started: the first owns the cold start, the second queues.
    const starting = fn.invoke({ ms: 20 });
    const queued = fn.invoke({});
    expect(fn.stats()).toMatchObject({ busy: 0, queued: 1 });

    fn.stopWhenIdle();

    expect(await starting).toMatchObject({ result: 'ok', coldStart: true });
    expect(await queued).toMatchObject({ result: 'ok', coldStart: false });
    await waitFor(() => fn.stats().workers === 0);
    expect(await fn.invoke({})).toMatchObject({ result: 'ok', coldStart: true });
    expect(fn.stats().workers).toBe(1);
  });
});

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
