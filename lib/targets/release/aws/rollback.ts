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
import { LambdaClient, UpdateAliasCommand } from '@aws-sdk/client-lambda';

import type { Cell } from '../../../config/types';
import { LIVE_ALIAS } from '../../../contracts/names';
import type { Clock } from '../../../domain/clock';
import { codeDeployEnded, reanchorTemplate, stackInProgress } from '../../../domain/release';
import type { RegionalClients } from '../../aws-clients';
import type { RollbackResult } from '../release-target';

import { appSpecVersions, type CellStack, type CellStackReader } from './cell-stack';

/** UpdateStack's limit for an inline template. */
const MAX_TEMPLATE_BODY = 51_200;
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
  const codedeploy = ctx.clients.get(CodeDeployClient, cell.region);
  const from: Record<string, string> = {};
  const to: Record<string, string> = {};
  for (const id of active) {
    await codedeploy.send(new StopDeploymentCommand({ deploymentId: id, autoRollbackEnabled: true }));
  }
  for (const id of active) {
    for (;;) {
      const info = await ctx.reader.deployment(cell, id);
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
  return {
    cellId: cell.id,
    kind: 'stopped-deployment',
    from,
    to,
    ms: ctx.now() - started,
    notes: ['CodeDeploy moved the alias back; CloudFormation rolls the stack update back with it'],
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
  const lambda = ctx.clients.get(LambdaClient, cell.region);
  const from: Record<string, string> = {};
  const to: Record<string, string> = {};
  for (const fn of stack.functions) {
    const version = versions[fn.name];
    if (version === undefined) continue;
    const before = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: fn.name,
        Name: LIVE_ALIAS,
        FunctionVersion: version,
        RoutingConfig: { AdditionalVersionWeights: {} },
      }),
    );
    from[fn.name] = fn.recordedVersion ?? before.FunctionVersion ?? '?';
    to[fn.name] = version;
  }
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
  if (Buffer.byteLength(body) > MAX_TEMPLATE_BODY) {
    throw new Error(
      `the template is ${Buffer.byteLength(body)} bytes, over UpdateStack's ${MAX_TEMPLATE_BODY}`,
    );
  }
  const cfn = ctx.clients.get(CloudFormationClient, cell.region);
  await cfn.send(
    new UpdateStackCommand({
      StackName: stack.stackName,
      TemplateBody: body,
      Parameters: stack.parameters.map((p) => ({ ParameterKey: p.ParameterKey, UsePreviousValue: true })),
      Capabilities: [...CAPABILITIES],
    }),
  );
  for (;;) {
    await ctx.sleep(Math.min(ctx.pollMs, 5000));
    const s = (await cfn.send(new DescribeStacksCommand({ StackName: stack.stackName }))).Stacks?.[0];
    const status = s?.StackStatus ?? 'UNKNOWN';
    if (stackInProgress(status)) continue;
    if (status !== 'UPDATE_COMPLETE') throw new Error(`${status}: ${s?.StackStatusReason ?? ''}`.trim());
    return `CloudFormation re-anchored on ${pinned.join(', ')}`;
  }
}
