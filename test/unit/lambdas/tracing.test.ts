/**
 * `Tracing` without an X-Ray daemon (the local platform, these tests): the Powertools Tracer is never
 * loaded and everything passes through. The real Tracer against a daemon is
 * `test/integration/lambdas/tracing.test.ts` (a process of its own: the X-Ray SDK hooks every promise).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { Tracing } from '../../../lambdas/shared/tracing';

const constructed = jest.fn();
jest.mock('@aws-lambda-powertools/tracer', () => ({
  Tracer: class {
    constructor(options: unknown) {
      constructed(options);
    }
    isTracingEnabled = () => false;
  },
}));

test('without a daemon address nothing is traced, and the Tracer is not even loaded', async () => {
  const tracing = Tracing.for('api', { _HANDLER: 'index.handler' });
  const client = new DynamoDBClient({ region: 'us-east-1' });
  const stepsBefore = client.middlewareStack.identify().length;
  const handler = async (n: number) => n + 1;

  expect(tracing.client(client)).toBe(client);
  expect(client.middlewareStack.identify()).toHaveLength(stepsBefore);
  expect(tracing.handler({ cellId: 'c1' }, handler)).toBe(handler);
  expect(await tracing.span('### work', async () => 'done')).toBe('done');
  tracing.annotate({ tenantId: 'acme' });
  expect(constructed).not.toHaveBeenCalled();
});

test('with a daemon address the Tracer is made for the service; a disabled one passes through', async () => {
  const tracing = Tracing.for('api', { AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000' });
  const handler = async () => 'ok';
  expect(constructed).toHaveBeenCalledWith({ serviceName: 'api' });
  expect(tracing.handler({}, handler)).toBe(handler);
  expect(await tracing.span('### work', async () => 'done')).toBe('done');
});
