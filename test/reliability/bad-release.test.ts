/**
 * Bad release: `bulkhead drill bad-release` ships a version that fails a share of its requests to the
 * canary cell. The local canary analysis must roll it back by itself, all traffic must end on the
 * previous version, the tenants' failures must stay within the canary's share of the traffic, and the
 * other cells must see none.
 */
import type { BadReleaseResult } from '../../lib/release/bad-release-drill';

import { CANARY_CELL, CANARY_PERCENT, figure, platform, TIME_SCALE } from './support';

test('a faulty release is rolled back automatically; failures stay within the canary share and its cell', async () => {
  const p = platform();
  const run = await p.cli(
    [
      'drill',
      'bad-release',
      '--cell',
      CANARY_CELL,
      '--time-scale',
      String(TIME_SCALE),
      '--json',
      '--home',
      p.home,
    ],
    600_000,
  );
  let drill: BadReleaseResult;
  try {
    drill = JSON.parse(run.stdout) as BadReleaseResult;
  } catch {
    throw new Error(`bulkhead drill bad-release gave no result (exit ${run.code}):\n${run.stderr.trim()}`);
  }
  const backOnPrevious = Object.values(drill.weightsAfter).every((w) => w.length === 1 && w[0].weight === 1);
  figure('bad release', {
    'requests tried': drill.requests,
    errors: drill.failures,
    'failure share': `${(drill.failureShare * 100).toFixed(1)}% (canary ${CANARY_PERCENT}%)`,
    'failures on the previous version': drill.failuresOnPrevious,
    'other cells: requests': drill.otherCells.requests,
    'other cells: errors': drill.otherCells.failures,
    result: drill.result,
    'time to rollback s':
      drill.timeToRollbackMs === undefined ? 'n/a' : Number((drill.timeToRollbackMs / 1000).toFixed(2)),
    'all traffic on the previous version': backOnPrevious ? 'yes' : 'NO',
  });
  expect(drill.problems).toEqual([]);
  expect(drill.result).toBe('rolled-back');
  expect(backOnPrevious).toBe(true);
  expect(drill.failuresOnPrevious).toBe(0);
  expect(drill.otherCells.failures).toBe(0);
  expect(drill.failureShare).toBeLessThanOrEqual(CANARY_PERCENT / 100);
});
