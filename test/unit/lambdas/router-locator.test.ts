import 'aws-sdk-client-mock-jest';
import { GetFunctionUrlConfigCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';

import {
  cellApiFunctionArn,
  FunctionUrlLocator,
  parseCellEndpoints,
  staticCellLocator,
} from '../../../lambdas/router/locator';

const lambda = mockClient(LambdaClient);
const east = { region: 'us-east-1', account: '111111111111' };
const west = { region: 'us-west-2', account: '222222222222' };
const URL_A = 'https://abc.lambda-url.us-east-1.on.aws/';

beforeEach(() => lambda.reset());

async function regionOf(n: number): Promise<string> {
  const client = lambda.call(n).thisValue as { config: { region: () => Promise<string> } };
  return client.config.region();
}

describe('FunctionUrlLocator (AWS)', () => {
  it('asks Lambda for the live alias’s Function URL of the cell API, by ARN, in the cell’s region', async () => {
    lambda.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL_A });
    const locator = new FunctionUrlLocator();
    expect(await locator.locate('use1-a', east)).toEqual({ endpoint: URL_A });
    expect(await locator.locate('usw2-a', west)).toEqual({ endpoint: URL_A });
    expect(lambda.calls().map((c) => c.args[0].input)).toEqual([
      {
        FunctionName: 'arn:aws:lambda:us-east-1:111111111111:function:bulkhead-use1-a-api',
        Qualifier: 'live',
      },
      {
        FunctionName: 'arn:aws:lambda:us-west-2:222222222222:function:bulkhead-usw2-a-api',
        Qualifier: 'live',
      },
    ]);
    expect([await regionOf(0), await regionOf(1)]).toEqual(['us-east-1', 'us-west-2']);
  });

  it('caches a found URL for its TTL, and concurrent misses share one call', async () => {
    lambda.on(GetFunctionUrlConfigCommand).resolves({ FunctionUrl: URL_A });
    let now = 0;
    const locator = new FunctionUrlLocator({ ttlMs: 1000, now: () => now });
    await Promise.all([locator.locate('use1-a', east), locator.locate('use1-a', east)]);
    now = 999;
    await locator.locate('use1-a', east);
    expect(lambda).toHaveReceivedCommandTimes(GetFunctionUrlConfigCommand, 1);
    now = 1000;
    await locator.locate('use1-a', east);
    expect(lambda).toHaveReceivedCommandTimes(GetFunctionUrlConfigCommand, 2);
  });

  it('a failed lookup answers undefined, is counted, and is not retried on every request', async () => {
    lambda
      .on(GetFunctionUrlConfigCommand)
      .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))
      .resolves({});
    let now = 0;
    const locator = new FunctionUrlLocator({ failureTtlMs: 100, now: () => now });
    expect(await locator.locate('use1-a', east)).toBeUndefined();
    now = 99;
    expect(await locator.locate('use1-a', east)).toBeUndefined();
    expect(lambda).toHaveReceivedCommandTimes(GetFunctionUrlConfigCommand, 1);
    now = 100;
    expect(await locator.locate('use1-a', east)).toBeUndefined(); // no URL configured: a failure too
    expect(locator.failures).toBe(2);
  });

  it('a hung Lambda API counts as a failure when the timeout runs out, not before', async () => {
    jest.useFakeTimers();
    try {
      const locator = new FunctionUrlLocator({
        timeoutMs: 50,
        clientFor: () => ({ send: () => new Promise(() => undefined) }) as never,
      });
      const found = locator.locate('use1-a', east);
      await jest.advanceTimersByTimeAsync(49);
      expect(locator.failures).toBe(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(await found).toBeUndefined();
      expect(locator.failures).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('names the function in the cell’s partition', () => {
    expect(cellApiFunctionArn('c1', { region: 'cn-north-1', account: '1' })).toBe(
      'arn:aws-cn:lambda:cn-north-1:1:function:bulkhead-c1-api',
    );
    expect(cellApiFunctionArn('c1', { region: 'us-gov-west-1', account: '1' })).toBe(
      'arn:aws-us-gov:lambda:us-gov-west-1:1:function:bulkhead-c1-api',
    );
  });
});

describe('CELL_ENDPOINTS (local)', () => {
  it('maps cells to their endpoint and secret', async () => {
    const endpoints = parseCellEndpoints(
      JSON.stringify({
        'cell-a': { endpoint: 'http://127.0.0.1:9001', secret: 's-a' },
        'cell-b': { endpoint: 'http://127.0.0.1:9002' },
      }),
    );
    const locator = staticCellLocator(endpoints);
    expect(await locator.locate('cell-a', east)).toEqual({
      endpoint: 'http://127.0.0.1:9001',
      secret: 's-a',
    });
    expect(await locator.locate('cell-b', east)).toEqual({ endpoint: 'http://127.0.0.1:9002' });
    expect(await locator.locate('cell-c', east)).toBeUndefined();
    expect(await locator.locate('toString', east)).toBeUndefined();
  });

  it('refuses a malformed value loudly (the router then fails at load, by name)', () => {
    expect(() => parseCellEndpoints('nope')).toThrow('CELL_ENDPOINTS is not valid JSON');
    expect(() => parseCellEndpoints('[]')).toThrow('must be a JSON object');
    expect(() => parseCellEndpoints('{"a":{"endpoint":"ftp://x"}}')).toThrow('CELL_ENDPOINTS.a needs');
    expect(() => parseCellEndpoints('{"a":{"endpoint":"http://x","secret":1}}')).toThrow('secret');
  });
});
