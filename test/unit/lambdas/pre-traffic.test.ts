import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';

const lambda = mockClient(LambdaClient);
const codedeploy = mockClient(CodeDeployClient);

process.env.CELL_ID = 'use1-a';
process.env.TARGET_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:bulkhead-use1-a-api:7';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';

const payload = (statusCode: number, body: unknown) => ({
  Payload: Buffer.from(JSON.stringify({ statusCode, body: JSON.stringify(body) })),
});

/** The new version as a tiny in-memory API answering what the smoke test asks. */
function healthyApi() {
  lambda.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
    const event = JSON.parse(Buffer.from(input.Payload).toString('utf8'));
    const key = `${event.requestContext.http.method} ${event.rawPath}`;
    if (key === 'GET /health') return payload(200, { cell: 'use1-a' });
    if (key.startsWith('PUT /inventory/')) return payload(200, { quantity: 1000 });
    if (key.startsWith('GET /inventory/')) return payload(200, { quantity: 1000 });
    if (key === 'POST /orders') return payload(201, { id: 'o1' });
    if (key === 'GET /orders/o1') return payload(200, { id: 'o1' });
    return payload(404, { error: 'not_found' });
  });
}

const event = { DeploymentId: 'd-123', LifecycleEventHookExecutionId: 'hook-1' };

beforeEach(() => {
  lambda.reset();
  codedeploy.reset();
  codedeploy.on(PutLifecycleEventHookExecutionStatusCommand).resolves({});
});

test('a healthy new version passes: every step invokes the target version as the synthetic tenant, then Succeeded', async () => {
  healthyApi();
  const { handler } = await import('../../../lambdas/hooks/pre-traffic');
  await handler(event);
  const calls = lambda.commandCalls(InvokeCommand);
  expect(calls.map((c) => c.args[0].input.FunctionName)).toEqual(
    Array(5).fill(process.env.TARGET_FUNCTION_ARN),
  );
  for (const c of calls) {
    const sent = JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString('utf8'));
    expect(sent.headers['x-bulkhead-tenant']).toBe('bulkhead-smoke');
  }
  expect(codedeploy.commandCalls(PutLifecycleEventHookExecutionStatusCommand)[0].args[0].input).toEqual({
    deploymentId: 'd-123',
    lifecycleEventHookExecutionId: 'hook-1',
    status: 'Succeeded',
  });
});

test('a new version that cannot create an order fails the hook, so no traffic moves', async () => {
  healthyApi();
  lambda.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
    const e = JSON.parse(Buffer.from(input.Payload).toString('utf8'));
    return e.rawPath === '/orders' ? payload(500, { error: 'internal' }) : payload(200, { quantity: 1000 });
  });
  const { handler } = await import('../../../lambdas/hooks/pre-traffic');
  await handler(event);
  expect(codedeploy.commandCalls(PutLifecycleEventHookExecutionStatusCommand)[0].args[0].input.status).toBe(
    'Failed',
  );
});

test('a crashing new version (FunctionError) fails the hook', async () => {
  lambda.on(InvokeCommand).callsFake(() => ({ FunctionError: 'Unhandled', Payload: Buffer.from('{}') }));
  const { handler } = await import('../../../lambdas/hooks/pre-traffic');
  await handler(event);
  expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  expect(codedeploy.commandCalls(PutLifecycleEventHookExecutionStatusCommand)[0].args[0].input.status).toBe(
    'Failed',
  );
});
