/**
 * What the pre-traffic hooks share: CodeDeploy's `BeforeAllowTraffic` event, calling the new version
 * directly (by its version ARN, not through the alias), and reporting the smoke test's verdict back to
 * CodeDeploy, which shifts no traffic on `Failed`.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

import type { SmokeResponse, SmokeResult } from '../../lib/domain/smoke-test';
import type { Tracing } from '../shared/tracing';

export interface HookEvent {
  readonly DeploymentId: string;
  readonly LifecycleEventHookExecutionId: string;
}

export interface Hook {
  readonly tracing: Tracing;
  readonly logger: Logger;
  /** The new version's ARN (`TARGET_FUNCTION_ARN`). */
  readonly target: string;
}

/** Calls the new version with an HTTP-shaped event and reads its answer; a function error throws. */
export function versionInvoker(hook: Hook): (event: unknown) => Promise<SmokeResponse> {
  const lambda = hook.tracing.client(new LambdaClient({}));
  return async (event) => {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: hook.target, Payload: Buffer.from(JSON.stringify(event)) }),
    );
    if (out.FunctionError) throw new Error(`the new version failed: ${out.FunctionError}`);
    const result = JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as {
      statusCode: number;
      body?: string;
      isBase64Encoded?: boolean;
    };
    const text =
      result.body === undefined
        ? undefined
        : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8').toString('utf8');
    return { statusCode: result.statusCode, body: text ? (JSON.parse(text) as unknown) : undefined };
  };
}

/** The hook's handler: runs the smoke test, logs it, and tells CodeDeploy whether traffic may move. */
export function lifecycleHandler(
  hook: Hook,
  annotations: Readonly<Record<string, string>>,
  smoke: () => Promise<SmokeResult>,
): (event: HookEvent) => Promise<void> {
  const codedeploy = hook.tracing.client(new CodeDeployClient({}));
  return hook.tracing.handler(annotations, async (event: HookEvent): Promise<void> => {
    const result = await smoke();
    hook.logger.info('smoke test finished', { ok: result.ok, steps: result.steps, target: hook.target });
    await codedeploy.send(
      new PutLifecycleEventHookExecutionStatusCommand({
        deploymentId: event.DeploymentId,
        lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
        status: result.ok ? 'Succeeded' : 'Failed',
      }),
    );
  });
}
