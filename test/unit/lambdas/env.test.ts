import { CELL_FUNCTION_ENV, numberOr, optional, readEnv, required } from '../../../lambdas/shared/env';
import { BREAKER_ENV, breakerPolicyOf } from '../../../lambdas/shared/integration-state';
import { DEFAULT_BREAKER_POLICY } from '../../../lib/domain/circuit-breaker';

const SHAPE = { TABLE_NAME: required, QUEUE_URL: required, CELL_SECRET: optional, RATE: numberOr(0.9) };

describe('readEnv', () => {
  test('reads the variables of the schema, with defaults for the optional ones', () => {
    expect(readEnv(SHAPE, { TABLE_NAME: 't', QUEUE_URL: 'q', OTHER: 'x' })).toEqual({
      TABLE_NAME: 't',
      QUEUE_URL: 'q',
      CELL_SECRET: undefined,
      RATE: 0.9,
    });
    expect(readEnv(SHAPE, { TABLE_NAME: 't', QUEUE_URL: 'q', CELL_SECRET: 's', RATE: '0.5' })).toMatchObject({
      CELL_SECRET: 's',
      RATE: 0.5,
    });
  });

  test('a missing variable is named, in the words the local platform shows', () => {
    expect(() => readEnv(SHAPE, { QUEUE_URL: 'q' })).toThrow(
      new Error('missing environment variable: TABLE_NAME'),
    );
    expect(() => readEnv(SHAPE, {})).toThrow(
      new Error('missing environment variables: TABLE_NAME, QUEUE_URL'),
    );
  });

  test('an empty value counts as missing (required) or absent (optional)', () => {
    expect(() => readEnv(SHAPE, { TABLE_NAME: '', QUEUE_URL: 'q' })).toThrow(
      new Error('missing environment variable: TABLE_NAME'),
    );
    expect(readEnv(SHAPE, { TABLE_NAME: 't', QUEUE_URL: 'q', CELL_SECRET: '', RATE: '' })).toMatchObject({
      CELL_SECRET: undefined,
      RATE: 0.9,
    });
  });

  test.each(['fast', '-1', 'Infinity'])('a number that is not one (%s) is refused with its value', (raw) => {
    expect(() => readEnv(SHAPE, { TABLE_NAME: 't', QUEUE_URL: 'q', RATE: raw })).toThrow(
      new Error(`environment variable RATE must be a number ≥ 0, got '${raw}'`),
    );
  });

  test('every problem at once: the missing ones, then each malformed one', () => {
    expect(() => readEnv(SHAPE, { RATE: 'x' })).toThrow(
      new Error(
        "missing environment variables: TABLE_NAME, QUEUE_URL; environment variable RATE must be a number ≥ 0, got 'x'",
      ),
    );
  });
});

test('a cell function needs its cell, table and queue (its integrations are a bundled file)', () => {
  expect(() => readEnv(CELL_FUNCTION_ENV, {})).toThrow(
    'missing environment variables: CELL_ID, TABLE_NAME, QUEUE_URL',
  );
});

test('the breaker policy: the domain defaults, unless the environment sets them', () => {
  expect(breakerPolicyOf(readEnv(BREAKER_ENV, {}))).toEqual(DEFAULT_BREAKER_POLICY);
  expect(
    breakerPolicyOf(readEnv(BREAKER_ENV, { BREAKER_FAILURES: '3', BREAKER_COOLDOWN_MS: '30000' })),
  ).toEqual({ ...DEFAULT_BREAKER_POLICY, failureThreshold: 3, cooldownMs: 30_000 });
});

describe('a handler without its variables fails to load, naming every missing one', () => {
  test.each([
    ['api/handler', 'CELL_ID, TABLE_NAME, QUEUE_URL, RELEASE'],
    ['sync/handler', 'CELL_ID, TABLE_NAME, QUEUE_URL, DLQ_URL'],
    ['reconcile/handler', 'CELL_ID, TABLE_NAME, QUEUE_URL'],
    ['router/handler', 'ROUTES_TABLE, REGISTRY_TABLE'],
    ['hooks/pre-traffic', 'CELL_ID, TARGET_FUNCTION_ARN'],
  ])('%s', async (handler, names) => {
    await expect(
      jest.isolateModulesAsync(async () => {
        await import(`../../../lambdas/${handler}`);
      }),
    ).rejects.toThrow(new Error(`missing environment variables: ${names}`));
  });
});
