/**
 * Throttled AWS calls during a release. CodeDeploy answers `ThrottlingException` ("An API function was
 * called too frequently"), CloudFormation `Throttling` ("Rate exceeded"), Lambda `TooManyRequestsException`;
 * the SDK's own retries give up after three attempts. A throttle says nothing about the deployment, and
 * `cdk deploy` goes on meanwhile: the release waits and asks again instead of aborting the wave.
 */
import type { Clock } from '../../../domain/clock';

const THROTTLE_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
]);

export function isThrottle(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
  return (
    THROTTLE_NAMES.has(e?.name ?? '') ||
    e?.$metadata?.httpStatusCode === 429 ||
    e?.message === 'Rate exceeded'
  );
}

/** Exponential backoff from `baseMs`, doubled per throttle in a row, capped at a minute. */
export const backoffMs = (baseMs: number, throttles: number): number =>
  Math.min(60_000, baseMs * 2 ** Math.min(throttles, 10));

/** Calls `call` until it answers without a throttle (at most `attempts` times), backing off between. */
export async function retryThrottled<T>(
  clock: Clock,
  call: () => Promise<T>,
  options: { readonly baseMs?: number; readonly attempts?: number } = {},
): Promise<T> {
  const attempts = options.attempts ?? 12;
  for (let throttles = 0; ; throttles += 1) {
    try {
      return await call();
    } catch (err) {
      if (!isThrottle(err) || throttles + 1 >= attempts) throw err;
      await clock.sleep(backoffMs(options.baseMs ?? 1000, throttles));
    }
  }
}
