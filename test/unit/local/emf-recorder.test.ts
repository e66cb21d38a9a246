import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { until } from '../../../harness/wait';
import { judge } from '../../../lib/domain/release';
import { canaryMetrics } from '../../../lib/local/codedeploy/deployment';
import { EmfRecorder, parseEmf } from '../../../lib/local/lambda/emf-recorder';
import { LocalFunctionVersion } from '../../../lib/local/lambda/function-version';
import { RuntimeAlias } from '../../../lib/local/lambda/runtime-alias';

/** An EMF document as Powertools Metrics prints it. */
const emf = (version: string, serverErrors: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    _aws: {
      Timestamp: 0,
      CloudWatchMetrics: [
        {
          Namespace: 'Bulkhead',
          Dimensions: [['service', 'FunctionVersion']],
          Metrics: [
            { Name: 'Requests', Unit: 'Count' },
            { Name: 'ServerErrors', Unit: 'Count' },
          ],
        },
      ],
    },
    service: 'api',
    FunctionVersion: version,
    Requests: 1,
    ServerErrors: serverErrors,
    ...extra,
  });

describe('parseEmf', () => {
  it('reads every metric of every dimension set of an EMF line, and nothing from other lines', () => {
    expect(parseEmf(emf('3', 1), 42)).toEqual([
      {
        at: 42,
        namespace: 'Bulkhead',
        name: 'Requests',
        dimensions: { service: 'api', FunctionVersion: '3' },
        value: 1,
      },
      {
        at: 42,
        namespace: 'Bulkhead',
        name: 'ServerErrors',
        dimensions: { service: 'api', FunctionVersion: '3' },
        value: 1,
      },
    ]);
    expect(parseEmf('2025-01-01T00:00:00Z\treq\tINFO\t{"_aws": 1}', 0)).toEqual([]);
    expect(parseEmf('{"message":"not a metric"}', 0)).toEqual([]);
    expect(parseEmf('{"_aws": {broken', 0)).toEqual([]);
  });
});

describe('EmfRecorder', () => {
  it('sums a metric over its window, for datapoints that carry the dimensions asked for', () => {
    let now = 1_000_000;
    const recorder = new EmfRecorder({ windowSeconds: 60, now: () => now });
    recorder.observe(emf('3', 1));
    recorder.observe(emf('3', 0));
    recorder.observe(emf('4', 1));
    const where = { FunctionVersion: '3' };
    expect(recorder.statistics('Bulkhead', 'ServerErrors', where)).toEqual({ sum: 1, count: 2 });
    expect(recorder.statistics('Bulkhead', 'Requests', { FunctionVersion: '4' })).toEqual({
      sum: 1,
      count: 1,
    });
    expect(recorder.statistics('Other', 'Requests', where)).toEqual({ sum: 0, count: 0 });
    now += 61_000;
    expect(recorder.statistics('Bulkhead', 'Requests', where)).toEqual({ sum: 0, count: 0 });
  });
});

describe('the local canary reads the 5xx a version reports in its own metrics', () => {
  let dir: string;
  let version: LocalFunctionVersion;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-emf-'));
    // Answers 500 to every other request, and counts it the way lambdas/shared/metrics.ts does.
    const handler = `let n = 0;
exports.handler = async () => {
  const failed = n++ % 2 === 0;
  process.stdout.write(${JSON.stringify(emf('V', 0))}.replace('"V"', JSON.stringify(process.env.AWS_LAMBDA_FUNCTION_VERSION)).replace('"ServerErrors":0', '"ServerErrors":' + (failed ? 1 : 0)) + '\\n');
  return { statusCode: failed ? 500 : 200, body: '{}' };
};`;
    fs.writeFileSync(path.join(dir, 'api.js'), handler);
    version = new LocalFunctionVersion({
      name: 'api',
      version: '2',
      handlerFile: path.join(dir, 'api.js'),
      environment: {},
      timeoutMs: 5000,
      log: () => undefined,
    });
  });

  afterAll(async () => {
    await version.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('has no function error for Lambda, and a 5xx rate the canary rolls back on', async () => {
    const alias = new RuntimeAlias('live');
    alias.point(version);
    for (let i = 0; i < 10; i += 1) await alias.invoke({});
    // The metric lines come over the worker's stdout, a moment after the answers.
    await until(
      'the version’s ten metric lines',
      10_000,
      async () =>
        version.emitted.statistics('Bulkhead', 'Requests', { FunctionVersion: '2' }).sum === 10
          ? true
          : undefined,
      20,
    );
    const metrics = canaryMetrics(alias, version, '2');
    expect(metrics.versions[0]).toMatchObject({ invocations: 10, errors: 0, requests: 10, serverErrors: 5 });
    expect(judge(metrics)).toEqual({ ok: false, reason: 'version 2: 5xx rate 50% (5 of 10) is over 5%' });
  });
});
