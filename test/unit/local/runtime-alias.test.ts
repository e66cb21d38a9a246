import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LocalFunctionVersion } from '../../../lib/local/lambda/function-version';
import type { InvokeResult } from '../../../lib/local/lambda/invocation';
import { type AliasTarget, RuntimeAlias } from '../../../lib/local/lambda/runtime-alias';

/** A bundle that answers with the version that ran it. */
const API_HANDLER = `exports.handler = async () => ({ statusCode: 200, body: process.env.AWS_LAMBDA_FUNCTION_VERSION });`;

let dir: string;
const started: LocalFunctionVersion[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-alias-'));
  fs.writeFileSync(path.join(dir, 'api.js'), API_HANDLER);
});

afterAll(async () => {
  await Promise.all(started.map((v) => v.stop()));
  fs.rmSync(dir, { recursive: true, force: true });
});

function version(v: string): LocalFunctionVersion {
  const fn = new LocalFunctionVersion({
    name: 'fn',
    version: v,
    handlerFile: path.join(dir, 'api.js'),
    environment: {},
    timeoutMs: 5000,
    log: () => undefined,
  });
  started.push(fn);
  return fn;
}

function fake(v: string): AliasTarget {
  return { name: 'fn', version: v, invoke: async () => ({ result: v, durationMs: 1, coldStart: false }) };
}

/** A version whose i-th invocation (from 0) has the outcome `script(i)`, its duration included. */
function scripted(v: string, script: (i: number) => InvokeResult): AliasTarget & { calls: number } {
  const target = {
    name: 'fn',
    version: v,
    calls: 0,
    invoke: async (): Promise<InvokeResult> => script(target.calls++),
  };
  return target;
}

const ok = (statusCode: number, durationMs: number): InvokeResult => ({
  result: { statusCode },
  durationMs,
  coldStart: false,
});

describe('RuntimeAlias', () => {
  it('sends exactly the weight of the traffic to the additional version, evenly spread', async () => {
    const v1 = version('1');
    const v2 = version('2');
    const alias = new RuntimeAlias('live');
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
      const alias = new RuntimeAlias('live');
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
    const alias = new RuntimeAlias('live');
    expect(() => alias.shift(fake('2'), 0.1)).toThrow(/points to no version/);
    alias.point(fake('1'));
    expect(() => alias.shift(fake('1'), 0.1)).toThrow(/must differ/);
    expect(() => alias.shift(fake('2'), 1.5)).toThrow(/within 0\.\.1/);
    expect(() => alias.shift({ ...fake('2'), name: 'other' }, 0.1)).toThrow(/not fn/);
    return expect(new RuntimeAlias('empty').invoke({})).rejects.toThrow(/points to no version/);
  });

  it('keeps error rate and p50/p99 per executed version; a 5xx result is a successful invocation, as Lambda counts it', async () => {
    // Version 1: 10..18 ms and one 300 ms call, a 404 (the client's error, not the function's).
    const v1 = scripted('1', (i) => ok(i === 0 ? 404 : 200, i === 9 ? 300 : 10 + i));
    // Version 2: 20..29 ms; 502s on calls 0, 3 and 6, a function error on calls 1 and 4.
    const v2 = scripted('2', (i) =>
      [1, 4].includes(i)
        ? {
            error: { errorType: 'Error', errorMessage: 'handler failed' },
            durationMs: 20 + i,
            coldStart: false,
          }
        : ok([0, 3, 6].includes(i) ? 502 : 200, 20 + i),
    );
    const alias = new RuntimeAlias('live');
    alias.point(v1);
    alias.shift(v2, 0.5);

    // With weight 0.5, even invocations go to version 2 and odd ones to version 1.
    for (let i = 0; i < 20; i += 1) {
      expect((await alias.invoke({})).executedVersion).toBe(i % 2 === 0 ? '2' : '1');
    }

    const [m1, m2] = alias.metrics();
    expect(m1).toEqual({
      version: '1',
      invocations: 10,
      errors: 0,
      window: { invocations: 10, errors: 0, errorRate: 0, p50Ms: 14, p99Ms: 300 },
    });
    expect(m2).toEqual({
      version: '2',
      invocations: 10,
      errors: 2,
      window: { invocations: 10, errors: 2, errorRate: 0.2, p50Ms: 24, p99Ms: 29 },
    });
    expect(alias.metricsOf('3').invocations).toBe(0);

    alias.resetMetrics('2');
    expect(alias.metricsOf('2').window.invocations).toBe(0);
    expect(alias.metricsOf('1').invocations).toBe(10);
  });

  it('counts an invocation that throws as an error of the version it went to', async () => {
    const alias = new RuntimeAlias('live');
    alias.point({ name: 'fn', version: '1', invoke: () => Promise.reject(new Error('worker gone')) });

    await expect(alias.invoke({})).rejects.toThrow('worker gone');

    expect(alias.metricsOf('1')).toMatchObject({ invocations: 1, errors: 1, window: { errorRate: 1 } });
  });

  it('computes the window over the last N invocations within the last M seconds', async () => {
    let now = 1_000_000;
    const durations = [10, 20, 30, 40, 1000];
    const v1 = scripted('1', (i) =>
      durations[i % durations.length] === 1000
        ? { error: { errorType: 'E', errorMessage: 'slow' }, durationMs: 1000, coldStart: false }
        : { result: 'ok', durationMs: durations[i % durations.length], coldStart: false },
    );
    const alias = new RuntimeAlias('live', { windowSize: 4, windowSeconds: 10, now: () => now });
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
