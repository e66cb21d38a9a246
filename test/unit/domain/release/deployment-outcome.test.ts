import { cdkTail, classifyDeployment, type DeploymentObservation } from '../../../../lib/domain/release';

const stack = (
  status: string,
  updatedSinceStart = true,
  statusReason?: string,
): DeploymentObservation['stack'] => ({
  status,
  updatedSinceStart,
  ...(statusReason && { statusReason }),
});
const seen = (
  o: Partial<DeploymentObservation> & Pick<DeploymentObservation, 'stack'>,
): DeploymentObservation => ({
  deployments: [],
  ...o,
});

describe('classifyDeployment', () => {
  it('goes on waiting while the stack update is under way, whatever cdk says', () => {
    expect(classifyDeployment(seen({ stack: stack('UPDATE_IN_PROGRESS') }))).toEqual({ ended: false });
    expect(
      classifyDeployment(
        seen({ stack: stack('UPDATE_ROLLBACK_IN_PROGRESS'), cdkExit: { code: 1, output: 'x' } }),
      ),
    ).toEqual({ ended: false });
  });

  it('a stack update that completed since the wave started is a release', () => {
    expect(classifyDeployment(seen({ stack: stack('UPDATE_COMPLETE') }))).toEqual({
      ended: true,
      result: 'succeeded',
    });
  });

  it('a stack created since the wave started (it has no LastUpdatedTime) is a new cell, created', () => {
    const created = { status: 'CREATE_COMPLETE', updatedSinceStart: false, createdSinceStart: true };
    expect(classifyDeployment(seen({ stack: created, cdkExit: { code: 0, output: '' } }))).toEqual({
      ended: true,
      result: 'created',
    });
    expect(
      classifyDeployment(seen({ stack: { ...created, status: 'ROLLBACK_COMPLETE', statusReason: 'limit' } })),
    ).toEqual({ ended: true, result: 'failed', reason: 'ROLLBACK_COMPLETE: limit' });
  });

  it('a rolled-back update says which function CodeDeploy failed or stopped, and why', () => {
    const outcome = classifyDeployment(
      seen({
        stack: stack(
          'UPDATE_ROLLBACK_COMPLETE',
          true,
          'The following resource(s) failed to update: [ApiAlias]',
        ),
        deployments: [
          { fn: 'bulkhead-a-sync', status: 'Succeeded' },
          { fn: 'bulkhead-a-api', status: 'Failed', error: 'One or more alarms have been activated' },
        ],
      }),
    );
    expect(outcome).toEqual({
      ended: true,
      result: 'rolled-back',
      reason: 'bulkhead-a-api: One or more alarms have been activated',
    });
    expect(
      classifyDeployment(
        seen({ stack: stack('UPDATE_ROLLBACK_COMPLETE'), deployments: [{ fn: 'f', status: 'Stopped' }] }),
      ),
    ).toEqual({ ended: true, result: 'rolled-back', reason: 'f: Stopped' });
  });

  it('a rollback without a failed deployment gives CloudFormation’s reason, or says it was rolled back', () => {
    expect(
      classifyDeployment(seen({ stack: stack('UPDATE_ROLLBACK_COMPLETE', true, 'hook failed') })),
    ).toEqual({
      ended: true,
      result: 'rolled-back',
      reason: 'hook failed',
    });
    expect(classifyDeployment(seen({ stack: stack('UPDATE_ROLLBACK_COMPLETE') }))).toEqual({
      ended: true,
      result: 'rolled-back',
      reason: 'the stack update was rolled back',
    });
  });

  it('any other end of the update is a failure with the stack’s status', () => {
    expect(classifyDeployment(seen({ stack: stack('UPDATE_FAILED', true, 'quota') }))).toEqual({
      ended: true,
      result: 'failed',
      reason: 'UPDATE_FAILED: quota',
    });
    expect(classifyDeployment(seen({ stack: stack('UPDATE_ROLLBACK_FAILED') }))).toEqual({
      ended: true,
      result: 'failed',
      reason: 'UPDATE_ROLLBACK_FAILED:',
    });
  });

  it('a stack not updated since the wave started: unchanged when cdk exits 0, failed otherwise, else waiting', () => {
    const old = stack('UPDATE_COMPLETE', false);
    expect(classifyDeployment(seen({ stack: old }))).toEqual({ ended: false });
    expect(classifyDeployment(seen({ stack: old, cdkExit: { code: 0, output: 'no changes' } }))).toEqual({
      ended: true,
      result: 'unchanged',
    });
    expect(
      classifyDeployment(seen({ stack: old, cdkExit: { code: 1, output: 'a\nb\nc\nAccessDenied\n' } })),
    ).toEqual({ ended: true, result: 'failed', reason: 'cdk deploy exited with 1: b / c / AccessDenied' });
  });

  it('an unreadable stack is waited for until cdk has exited, then it is a failure with cdk’s last words', () => {
    const gone = { unreadable: 'stack Bulkhead-Cell-a not found' };
    expect(classifyDeployment(seen({ stack: gone }))).toEqual({ ended: false });
    expect(classifyDeployment(seen({ stack: gone, cdkExit: { code: 1, output: 'synth failed' } }))).toEqual({
      ended: true,
      result: 'failed',
      reason: 'stack Bulkhead-Cell-a not found; cdk: synth failed',
    });
  });
});

describe('cdkTail', () => {
  it('keeps the last three lines on one line', () => {
    expect(cdkTail('\n1\n2\n3\n4\n\n')).toBe('2 / 3 / 4');
    expect(cdkTail('only')).toBe('only');
  });
});
