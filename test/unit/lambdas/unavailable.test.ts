import { isUnavailable } from '../../../lambdas/shared/unavailable';

test.each([
  ['a refused connection', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })],
  ['a reset inside the cause', Object.assign(new Error('socket'), { cause: { code: 'ECONNRESET' } })],
  ['an SDK timeout', Object.assign(new Error('slow'), { name: 'TimeoutError' })],
  ['throttling', Object.assign(new Error('slow down'), { name: 'ThrottlingException' })],
  ['a 5xx from the service', Object.assign(new Error('oops'), { $metadata: { httpStatusCode: 503 } })],
])('%s means the dependency is unavailable (503)', (_what, err) => {
  expect(isUnavailable(err)).toBe(true);
});

test.each([
  ['a plain bug', new TypeError('x is undefined')],
  [
    'a refused request (4xx)',
    Object.assign(new Error('bad'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }),
  ],
  ['not an error at all', 'boom'],
])('%s is not', (_what, err) => {
  expect(isUnavailable(err)).toBe(false);
});
