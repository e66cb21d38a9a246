/** Error names the AWS SDK uses when a service is down, overloaded or too slow, rather than refusing the request. */
const UNAVAILABLE_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalServerError',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
]);
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether an error means a dependency (the cell's database or queue) could not answer, as opposed to a
 * bug: the caller should get a 503 and retry, not a 500.
 */
export function isUnavailable(err: unknown): boolean {
  const e = err as {
    name?: string;
    code?: string;
    cause?: { code?: string };
    $metadata?: { httpStatusCode?: number };
  };
  if (!e || typeof e !== 'object') return false;
  if (e.name && UNAVAILABLE_NAMES.has(e.name)) return true;
  if ((e.code && UNAVAILABLE_CODES.has(e.code)) || (e.cause?.code && UNAVAILABLE_CODES.has(e.cause.code)))
    return true;
  return (e.$metadata?.httpStatusCode ?? 0) >= 500;
}
