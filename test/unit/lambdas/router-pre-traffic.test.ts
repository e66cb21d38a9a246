import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';

const lambda = mockClient(LambdaClient);
const codedeploy = mockClient(CodeDeployClient);

process.env.TARGET_FUNCTION_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:Router:9';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';

/** A payload as the SDK hands it over (a byte array with string helpers the hook does not use). */
const payload = (text: string) => Buffer.from(text) as unknown as InvokeCommandOutput['Payload'];

/** The router's answers are base64 (it does not interpret cell bodies). */
const answer = (statusCode: number, body: unknown) => ({
  Payload: payload(
    JSON.stringify({
      statusCode,
      body: Buffer.from(JSON.stringify(body)).toString('base64'),
      isBase64Encoded: true,
    }),
  ),
});

const sent = () =>
  lambda
    .commandCalls(InvokeCommand)
    .map((c) => JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString('utf8')));
const status = () =>
  codedeploy.commandCalls(PutLifecycleEventHookExecutionStatusCommand)[0].args[0].input.status;

const event = { DeploymentId: 'd-9', LifecycleEventHookExecutionId: 'hook-9' };

beforeEach(() => {
  lambda.reset();
  codedeploy.reset();
  codedeploy.on(PutLifecycleEventHookExecutionStatusCommand).resolves({});
});

test('a new router version that refuses a missing key and the synthetic tenant’s key passes: traffic may move', async () => {
  lambda.on(InvokeCommand).resolves(answer(401, { error: 'unauthenticated' }));
  const { handler } = await import('../../../lambdas/hooks/router-pre-traffic');
  await handler(event);
  const requests = sent();
  expect(lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input.FunctionName)).toEqual([
    process.env.TARGET_FUNCTION_ARN,
    process.env.TARGET_FUNCTION_ARN,
  ]);
  expect(requests.map((r) => [r.requestContext.http.method, r.rawPath, r.headers.authorization])).toEqual([
    ['GET', '/health', undefined],
    ['GET', '/health', expect.stringMatching(/^Bearer bk_bulkhead-smoke_/)],
  ]);
  expect(status()).toBe('Succeeded');
});

test('a new router version that cannot read the routing store (503 for the synthetic tenant) fails the hook', async () => {
  lambda
    .on(InvokeCommand)
    .resolvesOnce(answer(401, { error: 'unauthenticated' }))
    .resolves(answer(503, { error: 'routing_unavailable' }));
  const { handler } = await import('../../../lambdas/hooks/router-pre-traffic');
  await handler(event);
  expect(status()).toBe('Failed');
});

test('a crashing new router version (FunctionError) fails the hook at its first step', async () => {
  lambda.on(InvokeCommand).resolves({ FunctionError: 'Unhandled', Payload: payload('{}') });
  const { handler } = await import('../../../lambdas/hooks/router-pre-traffic');
  await handler(event);
  expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  expect(status()).toBe('Failed');
});
