/**
 * Deploying a wave on AWS: `cdk deploy` of the wave's cell stacks (`-c release=<label> -c cells=<ids>`),
 * then following each cell until CloudFormation and CodeDeploy say how it ended.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import type { DeploymentInfo } from '@aws-sdk/client-codedeploy';

import type { Cell } from '../../../config/types';
import { cellStackName } from '../../../contracts/names';
import type { Clock } from '../../../domain/clock';
import {
  type CellResult,
  classifyDeployment,
  codeDeployEnded,
  type DeploymentObservation,
} from '../../../domain/release';
import { shiftMinutes } from '../../../domain/release/traffic-steps';
import type { DeployEvent, DeploySpec } from '../release-target';

import { appSpecVersions, type CellStack, type CellStackReader } from './cell-stack';
import { backoffMs, isThrottle } from './throttle';

/** A run of the CDK CLI: resolves with its exit code and the tail of its output. */
export interface CdkRun {
  readonly done: Promise<{ readonly code: number; readonly output: string }>;
}

export type RunCdk = (args: readonly string[]) => CdkRun;

/** One `cdk deploy` of a wave, shared by the wave's cells. */
export interface WaveRun {
  readonly startedAt: number;
  readonly release: string;
  readonly run: CdkRun;
  exit?: { readonly code: number; readonly output: string };
}

/** The project's own CDK CLI, run from the project root. */
export function projectCdk(root: string): RunCdk {
  return (args) => {
    const cdk = path.join(root, 'node_modules', 'aws-cdk', 'bin', 'cdk');
    const child = spawn(process.execPath, [cdk, ...args], {
      cwd: root,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    return {
      done: new Promise((resolve) => {
        child.once('error', (err) => resolve({ code: 1, output: err.message }));
        child.once('close', (code) => resolve({ code: code ?? 1, output }));
      }),
    };
  };
}

/**
 * `cdk deploy` of exactly these cells' stacks, all at once, with the release label and this deploy's id
 * (`deployId`: the same release deployed again after a stopped one still publishes new versions).
 */
export function cdkDeployArgs(
  cells: readonly Cell[],
  spec: DeploySpec,
  configFile: string | undefined,
  deployId: string,
): string[] {
  const ids = cells.map((c) => c.id);
  return [
    'deploy',
    ...ids.map(cellStackName),
    '--exclusively',
    '--require-approval',
    'never',
    '--concurrency',
    String(cells.length),
    '-c',
    `release=${spec.release}`,
    '-c',
    `deployId=${deployId}`,
    '-c',
    `cells=${ids.join(',')}`,
    ...(configFile ? ['-c', `config=${configFile}`] : []),
  ];
}

export interface FollowContext extends Clock {
  readonly reader: CellStackReader;
  readonly pollMs: number;
}

/** Each deployment seen, by id: its function, what CodeDeploy said last, and its status as reported. */
type Seen = Map<string, { fn: string; info: DeploymentInfo; status: string }>;

/** Progress events for deployments not seen before or whose status changed. */
async function* readDeployments(
  ctx: FollowContext,
  cell: Cell,
  stack: CellStack,
  wave: WaveRun,
  seen: Seen,
): AsyncGenerator<DeployEvent> {
  for (const fn of stack.functions) {
    for (const id of await ctx.reader.deploymentsOf(cell, stack, fn, { since: wave.startedAt })) {
      const before = seen.get(id)?.status;
      if (codeDeployEnded(before)) continue;
      const info = await ctx.reader.deployment(cell, id);
      if (!info) continue;
      const status = info.status ?? 'Unknown';
      seen.set(id, { fn: fn.name, info, status });
      if (before === status) continue;
      const why = info.errorInformation?.message ? `: ${info.errorInformation.message}` : '';
      const eta = status === 'InProgress' ? shiftEta(cell, info, ctx.now()) : '';
      yield {
        type: 'progress',
        cellId: cell.id,
        message: `${fn.name}: CodeDeploy ${id} ${status}${why}${eta}`,
      };
    }
  }
}

/** When a shift that has started should have all traffic: the deployment's start plus the config's holds. */
function shiftEta(cell: Cell, info: DeploymentInfo, now: number): string {
  const minutes = shiftMinutes(cell.deployment);
  const at = (info.createTime?.getTime() ?? now) + minutes * 60_000;
  return `; ${cell.deployment.type} over ${minutes} min: all traffic at about ${new Date(at).toISOString().slice(11, 19)} UTC unless an alarm stops it`;
}

function doneEvent(
  cell: Cell,
  wave: WaveRun,
  result: CellResult,
  reason: string | undefined,
  seen: Seen,
  now: number,
): Extract<DeployEvent, { type: 'done' }> {
  const from: Record<string, string> = {};
  const to: Record<string, string> = {};
  for (const { fn, info } of seen.values()) {
    const v = appSpecVersions(info);
    if (v.current) from[fn] = v.current;
    if (v.target) to[fn] = v.target;
  }
  return {
    type: 'done',
    cellId: cell.id,
    result,
    ...(reason && { reason }),
    ...(Object.keys(from).length > 0 && { from }),
    ...(Object.keys(to).length > 0 && { to }),
    durationMs: now - wave.startedAt,
  };
}

/** Follows one cell of a wave: CodeDeploy progress, then one `done` event; throttled reads wait and ask again. */
export async function* followCellDeployment(
  ctx: FollowContext,
  cell: Cell,
  wave: WaveRun,
): AsyncGenerator<DeployEvent> {
  const seen: Seen = new Map();
  let throttles = 0;
  for (;;) {
    try {
      const done = yield* observe(ctx, cell, wave, seen);
      if (done) {
        yield done;
        return;
      }
      throttles = 0;
    } catch (err) {
      if (!isThrottle(err)) throw err;
      await ctx.sleep(backoffMs(ctx.pollMs, throttles++));
      continue;
    }
    await ctx.sleep(ctx.pollMs);
  }
}

/** One look at the cell: its stack and deployments; the `done` event once the deployment has ended. */
async function* observe(
  ctx: FollowContext,
  cell: Cell,
  wave: WaveRun,
  seen: Seen,
): AsyncGenerator<DeployEvent, Extract<DeployEvent, { type: 'done' }> | undefined> {
  const cdkExit = wave.exit;
  let stack: CellStack | undefined;
  let observed: DeploymentObservation['stack'];
  try {
    stack = await ctx.reader.describe(cell);
    observed = {
      status: stack.status,
      ...(stack.statusReason && { statusReason: stack.statusReason }),
      updatedSinceStart: stack.lastUpdated !== undefined && stack.lastUpdated.getTime() >= wave.startedAt,
      createdSinceStart: stack.created.getTime() >= wave.startedAt,
    };
  } catch (err) {
    if (isThrottle(err)) throw err;
    observed = { unreadable: (err as Error).message };
  }
  if (stack) yield* readDeployments(ctx, cell, stack, wave, seen);
  const outcome = classifyDeployment({
    stack: observed,
    ...(cdkExit && { cdkExit }),
    deployments: [...seen.values()].map(({ fn, info }) => ({
      fn,
      ...(info.status && { status: info.status }),
      ...(info.errorInformation?.message && { error: info.errorInformation.message }),
    })),
  });
  return outcome.ended ? doneEvent(cell, wave, outcome.result, outcome.reason, seen, ctx.now()) : undefined;
}
