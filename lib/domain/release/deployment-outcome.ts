/**
 * When a cell's deployment on AWS has ended, and how: from what `cdk deploy`, CloudFormation and
 * CodeDeploy say about it. A stack update that completes is a release; one that rolls back was rolled
 * back by CodeDeploy (alarm, failed hook) or CloudFormation; `cdk deploy` exiting 0 without touching the
 * stack means nothing changed.
 */
import type { CellResult } from './outcomes';

/** What the AWS target last saw of a cell's deployment. */
export interface DeploymentObservation {
  /** The cell stack as last read, or why it could not be read. */
  readonly stack:
    | {
        readonly status: string;
        readonly statusReason?: string;
        /** Whether the stack was updated since the wave's `cdk deploy` started. */
        readonly updatedSinceStart: boolean;
        /** Whether the stack was created since then (a new stack has no `LastUpdatedTime`). */
        readonly createdSinceStart?: boolean;
      }
    | { readonly unreadable: string };
  /** `cdk deploy`'s exit, once it has exited (read before the stack, so a later read cannot miss it). */
  readonly cdkExit?: { readonly code: number; readonly output: string };
  /** The cell's CodeDeploy deployments since the wave started, first seen first. */
  readonly deployments: readonly {
    readonly fn: string;
    readonly status?: string;
    readonly error?: string;
  }[];
}

export type DeploymentOutcome =
  { readonly ended: false } | { readonly ended: true; readonly result: CellResult; readonly reason?: string };

/** CodeDeploy's statuses of a deployment that has ended. */
const CODEDEPLOY_ENDED: readonly string[] = ['Succeeded', 'Failed', 'Stopped'];

export const codeDeployEnded = (status: string | undefined): boolean =>
  status !== undefined && CODEDEPLOY_ENDED.includes(status);

export const stackInProgress = (status: string): boolean => status.endsWith('_IN_PROGRESS');

/** The last three lines of the CDK CLI's output, on one line. */
export const cdkTail = (output: string): string => output.trim().split('\n').slice(-3).join(' / ');

const ended = (result: CellResult, reason?: string): DeploymentOutcome => ({
  ended: true,
  result,
  ...(reason && { reason }),
});

export function classifyDeployment(seen: DeploymentObservation): DeploymentOutcome {
  const { stack, cdkExit } = seen;
  if ('unreadable' in stack) {
    return cdkExit
      ? ended('failed', `${stack.unreadable}; cdk: ${cdkTail(cdkExit.output)}`)
      : { ended: false };
  }
  if (stackInProgress(stack.status)) return { ended: false };
  if (stack.createdSinceStart && !stack.updatedSinceStart) {
    if (stack.status === 'CREATE_COMPLETE') return ended('created');
    return ended('failed', `${stack.status}: ${stack.statusReason ?? ''}`.trim());
  }
  if (stack.updatedSinceStart) {
    if (stack.status === 'UPDATE_COMPLETE') return ended('succeeded');
    if (stack.status === 'UPDATE_ROLLBACK_COMPLETE') {
      const stopped = seen.deployments.find((d) => d.status === 'Failed' || d.status === 'Stopped');
      return ended(
        'rolled-back',
        stopped
          ? `${stopped.fn}: ${stopped.error ?? stopped.status}`
          : (stack.statusReason ?? 'the stack update was rolled back'),
      );
    }
    return ended('failed', `${stack.status}: ${stack.statusReason ?? ''}`.trim());
  }
  if (!cdkExit) return { ended: false };
  return cdkExit.code === 0
    ? ended('unchanged')
    : ended('failed', `cdk deploy exited with ${cdkExit.code}: ${cdkTail(cdkExit.output)}`);
}
