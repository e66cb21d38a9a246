import { Logger } from '@aws-lambda-powertools/logger';
import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

import { SMOKE_TENANT } from '../../lib/contracts/names';
import { smokeTest, type SmokeResponse } from '../../lib/domain/smoke-test';
import { optional, readEnv, required } from '../shared/env';
import { CELL_SECRET_HEADER, TENANT_HEADER } from '../shared/tenant';
import { TRACING_ENV, Tracing } from '../shared/tracing';

const env = readEnv({
  ...TRACING_ENV,
  CELL_ID: required,
  TARGET_FUNCTION_ARN: required,
  CELL_SECRET: optional,
});
const cellSecret = env.CELL_SECRET;
const logger = new Logger({ serviceName: 'pre-traffic-hook', persistentKeys: { cellId: env.CELL_ID } });
const tracing = Tracing.for('pre-traffic-hook', env);
const lambda = tracing.client(new LambdaClient({}));
const codedeploy = tracing.client(new CodeDeployClient({}));

export interface HookEvent {
  readonly DeploymentId: string;
  readonly LifecycleEventHookExecutionId: string;
}

/** Calls the new version directly (not through its alias) with a Function URL-shaped event. */
async function invokeNewVersion(method: string, path: string, body?: unknown): Promise<SmokeResponse> {
  const event = {
    version: '2.0',
    rawPath: path,
    rawQueryString: '',
    headers: {
      [TENANT_HEADER]: SMOKE_TENANT,
      ...(cellSecret && { [CELL_SECRET_HEADER]: cellSecret }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method, path } },
  };
  const out = await lambda.send(
    new InvokeCommand({ FunctionName: env.TARGET_FUNCTION_ARN, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  if (out.FunctionError) throw new Error(`the new version failed: ${out.FunctionError}`);
  const result = JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as {
    statusCode: number;
    body?: string;
  };
  return { statusCode: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
}

/** CodeDeploy's BeforeAllowTraffic hook: the smoke test decides whether traffic may move. */
export const handler = tracing.handler(
  { cellId: env.CELL_ID, tenantId: SMOKE_TENANT },
  async (event: HookEvent): Promise<void> => {
    const result = await smokeTest(invokeNewVersion);
    logger.info('smoke test finished', {
      ok: result.ok,
      steps: result.steps,
      target: env.TARGET_FUNCTION_ARN,
    });
    await codedeploy.send(
      new PutLifecycleEventHookExecutionStatusCommand({
        deploymentId: event.DeploymentId,
        lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
        status: result.ok ? 'Succeeded' : 'Failed',
      }),
    );
  },
);
