/**
 * Rolling a cell back on AWS. A deployment under way is stopped with `StopDeployment(autoRollbackEnabled)`,
 * so CodeDeploy moves the alias back and CloudFormation rolls the stack back with it: alias, CodeDeploy
 * and CloudFormation stay in agreement. A finished deployment is rolled back by moving the alias
 * (`UpdateAlias`, seconds) and then re-anchoring CloudFormation on the version the alias is now on (see
 * `lib/domain/release/re-anchor.ts`). Until the re-anchor succeeds, the alias and CloudFormation's version
 * differ, and `release` refuses the cell (readiness compares `GetAlias` with the stack's record).
 */
import {
  CloudFormationClient,
  DescribeStacksCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { CodeDeployClient, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { GetAliasCommand, LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import type { Cell } from '../../../config/types';
import { LIVE_ALIAS } from '../../../contracts/names';
import type { Clock } from '../../../domain/clock';
import { codeDeployEnded, reanchorTemplate, stackInProgress } from '../../../domain/release';
import { cellPlace, type RegionalClients } from '../../aws-clients';
import type { RollbackResult } from '../release-target';

import { appSpecVersions, type CellStack, type CellStackReader } from './cell-stack';
import { retryThrottled } from './throttle';

/** UpdateStack's limit for an inline template; a bigger one (up to 1 MB) goes by `TemplateURL` from S3. */
export const MAX_TEMPLATE_BODY = 51_200;
const CAPABILITIES = ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'] as const;

export interface RollbackContext extends Clock {
  readonly clients: RegionalClients;
  readonly reader: CellStackReader;
  readonly pollMs: number;
}

/** Stops the deployments under way with rollback, and waits until CodeDeploy has moved each alias back. */
export async function stopDeployments(
  ctx: RollbackContext,
  cell: Cell,
  stack: CellStack,
  active: readonly string[],
  started: number,
): Promise<RollbackResult> {
  const codedeploy = ctx.clients.get(CodeDeployClient, cellPlace(cell));
  const from: Record<string, string> = {};
  const to: Record<string, string> = {};
  for (const id of active) {
    await retryThrottled(ctx, () =>
      codedeploy.send(new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true })),
    );
  }
  for (const id of active) {
    for (;;) {
      const info = await retryThrottled(ctx, () => ctx.reader.deployment(cell, id));
      if (codeDeployEnded(info?.status ?? 'Stopped')) {
        const fn = stack.functions.find((f) => f.deploymentGroup === info?.deploymentGroupName)?.name ?? id;
        const v = appSpecVersions(info);
        if (v.target) from[fn] = v.target;
        if (v.current) to[fn] = v.current;
        break;
      }
      await ctx.sleep(Math.min(ctx.pollMs, 2000));
    }
  }
  const settled = await settle(ctx, cell, stack.stackName);
  await verifyAliases(ctx, cell, to);
  return {
    cellId: cell.id,
    kind: 'stopped-deployment',
    from,
    to,
    ms: ctx.now() - started,
    notes: [
      `CodeDeploy moved the alias back; CloudFormation rolled the stack update back with it (${settled})`,
    ],
  };
}

/** Moves each alias (by function name) to its version, then re-anchors CloudFormation on them. */
export async function moveAliases(
  ctx: RollbackContext,
  cell: Cell,
  stack: CellStack,
  versions: Readonly<Record<string, string>>,
  started: number,
): Promise<RollbackResult> {
  const lambda = ctx.clients.get(LambdaClient, cellPlace(cell));
  const from: Record<string, string> = {};
  const to: Record<string, string> = {};
  for (const fn of stack.functions) {
    const version = versions[fn.name];
    if (version === undefined) continue;
    const before = await retryThrottled(ctx, () =>
      lambda.send(
        new UpdateAliasCommand({
          FunctionName: fn.name,
          Name: LIVE_ALIAS,
          FunctionVersion: version,
          RoutingConfig: { AdditionalVersionWeights: {} },
        }),
      ),
    );
    from[fn.name] = fn.recordedVersion ?? before.FunctionVersion ?? '?';
    to[fn.name] = version;
  }
  await verifyAliases(ctx, cell, to);
  const ms = ctx.now() - started;
  const notes: string[] = [];
  try {
    notes.push(await anchor(ctx, cell, stack, versions));
  } catch (err) {
    notes.push(
      `the alias is back, but CloudFormation could not be re-anchored (${(err as Error).message}): ` +
        `\`release\` refuses this cell until \`bulkhead rollback --cell ${cell.id}\` succeeds`,
    );
  }
  return { cellId: cell.id, kind: 'alias', from, to, ms, notes };
}

/**
 * Updates the stack with its own deployed template, each moved alias pinned to its version and without
 * the CodeDeploy update policy: CloudFormation then records the alias's real version, and sets it
 * (a no-op, the alias is already there) instead of starting a traffic shift.
 */
export async function anchor(
  ctx: RollbackContext,
  cell: Cell,
  stack: CellStack,
  versions: Readonly<Record<string, string>>,
): Promise<string> {
  const { template, pinned } = reanchorTemplate(stack.template, stack.functions, versions);
  if (pinned.length === 0) return 'CloudFormation already has these versions';
  const body = JSON.stringify(template);
  const cfn = ctx.clients.get(CloudFormationClient, cellPlace(cell));
  const source = await templateSource(ctx, cell, stack, body);
  await retryThrottled(ctx, () =>
    cfn.send(
      new UpdateStackCommand({
        StackName: stack.stackName,
        ...source,
        Parameters: stack.parameters.map((p) => ({ ParameterKey: p.ParameterKey, UsePreviousValue: true })),
        Capabilities: [...CAPABILITIES],
      }),
    ),
  );
  const status = await settle(ctx, cell, stack.stackName);
  if (status !== 'UPDATE_COMPLETE') throw new Error(status);
  return `CloudFormation re-anchored on ${pinned.join(', ')}`;
}

/**
 * The template inline, or, over UpdateStack's 51,200 bytes, uploaded to the cell account's CDK bootstrap
 * bucket (`cdk-<qualifier>-assets-<account>-<region>`, the qualifier read from the stack's
 * `BootstrapVersion` parameter) and passed by `TemplateURL`, as `cdk deploy` does.
 */
async function templateSource(
  ctx: RollbackContext,
  cell: Cell,
  stack: CellStack,
  body: string,
): Promise<{ TemplateBody: string } | { TemplateURL: string }> {
  if (Buffer.byteLength(body) <= MAX_TEMPLATE_BODY) return { TemplateBody: body };
  const bootstrap = stack.parameters.find((p) => p.ParameterKey === 'BootstrapVersion')?.ParameterValue;
  const qualifier = /^\/cdk-bootstrap\/([^/]+)\/version$/.exec(bootstrap ?? '')?.[1] ?? 'hnb659fds';
  const bucket = `cdk-${qualifier}-assets-${cell.account}-${cell.region}`;
  const key = `bulkhead/re-anchor/${stack.stackName}-${ctx.now()}.json`;
  await retryThrottled(ctx, () =>
    ctx.clients
      .get(S3Client, cellPlace(cell))
      .send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' })),
  );
  return { TemplateURL: `https://${bucket}.s3.${cell.region}.amazonaws.com/${key}` };
}

/** Waits until the stack is no longer in progress; its final status, with the reason when it is not a success. */
async function settle(ctx: RollbackContext, cell: Cell, stackName: string): Promise<string> {
  const cfn = ctx.clients.get(CloudFormationClient, cellPlace(cell));
  for (;;) {
    const s = (await retryThrottled(ctx, () => cfn.send(new DescribeStacksCommand({ StackName: stackName }))))
      .Stacks?.[0];
    const status = s?.StackStatus ?? 'UNKNOWN';
    if (!stackInProgress(status)) {
      return status.endsWith('_COMPLETE') && !status.includes('FAILED')
        ? status
        : `${status}: ${s?.StackStatusReason ?? ''}`.trim();
    }
    await ctx.sleep(Math.min(ctx.pollMs, 5000));
  }
}

/**
 * A rollback is done when each alias is whole (no `RoutingConfig` weights left) on the version it was
 * rolled back to: anything else is reported as a failed rollback, never as a success.
 */
async function verifyAliases(
  ctx: RollbackContext,
  cell: Cell,
  expected: Readonly<Record<string, string>>,
): Promise<void> {
  const lambda = ctx.clients.get(LambdaClient, cellPlace(cell));
  for (const [name, version] of Object.entries(expected)) {
    const alias = await retryThrottled(ctx, () =>
      lambda.send(new GetAliasCommand({ FunctionName: name, Name: LIVE_ALIAS })),
    );
    const split = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
    if (alias.FunctionVersion !== version || split.length > 0) {
      const extra = split.map(([v, w]) => `, ${Math.round(w * 100)}% on v${v}`).join('');
      throw new Error(
        `the rollback did not take: ${name}'s live alias is on v${alias.FunctionVersion}${extra}, not wholly on v${version}`,
      );
    }
  }
}
