import {
  type CellOutcome,
  type CellReleaseState,
  DEFAULT_CANARY_THRESHOLDS,
  type DrillRecord,
  drillGate,
  judge,
  planRelease,
  type ReleaseCell,
  type ReleasePlan,
  type ReleasePorts,
  type ReleaseProgress,
  releaseReadiness,
  rollbackOrder,
  rollbackReadiness,
  runRelease,
  scaledMs,
  StopTheLine,
  trafficSteps,
  type WavePlan,
} from '../../../lib/domain/release';

const cell = (id: string, wave: number, bakeMinutes = 10): ReleaseCell => ({
  id,
  wave,
  bakeMinutes,
  deployment: { type: 'canary', percent: 10, intervalMinutes: 5 },
});

const FLEET = [cell('b1', 1, 5), cell('a0', 0, 15), cell('c2', 2), cell('b2', 1, 20)];

function plan(options: Parameters<typeof planRelease>[1]): ReleasePlan {
  const result = planRelease(FLEET, options);
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.plan;
}

describe('planRelease', () => {
  it('groups cells by wave, in wave order, with the longest bake of each wave', () => {
    const p = plan({ label: 'r1' });
    expect(p.waves.map((w) => [w.wave, w.cells.map((c) => c.id), w.bakeMinutes])).toEqual([
      [0, ['a0'], 15],
      [1, ['b1', 'b2'], 20],
      [2, ['c2'], 10],
    ]);
  });

  it('selects waves and cells', () => {
    expect(plan({ label: 'r1', waves: [1, 2] }).waves.map((w) => w.wave)).toEqual([1, 2]);
    expect(plan({ label: 'r1', cells: ['b2', 'c2'] }).waves.map((w) => w.cells.map((c) => c.id))).toEqual([
      ['b2'],
      ['c2'],
    ]);
    expect(plan({ label: 'r1', waves: [1], cells: ['b1', 'c2'] }).waves).toHaveLength(1);
  });

  it('reports every problem with the selection at once', () => {
    const result = planRelease(FLEET, { label: '-bad label', waves: [7], cells: ['zz'] });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      expect.stringContaining('release label "-bad label"'),
      'wave 7: no cell is in it; waves: 0, 1, 2',
      'cell zz: not in the fleet; cells: b1, a0, c2, b2',
    ]);
  });

  it('refuses a selection that leaves no cell', () => {
    const result = planRelease(FLEET, { label: 'r1', waves: [0], cells: ['c2'] });
    expect(!result.ok && result.problems).toEqual(['no cell is both in waves 0 and in cells c2']);
  });
});

describe('rollbackOrder', () => {
  it('groups by wave, latest wave first', () => {
    expect(rollbackOrder(FLEET).map((w) => w.map((c) => c.id))).toEqual([['c2'], ['b1', 'b2'], ['a0']]);
  });
});

describe('trafficSteps', () => {
  it('canary: the percentage for the interval, then everything', () => {
    expect(trafficSteps({ type: 'canary', percent: 10, intervalMinutes: 10 })).toEqual([
      { weight: 0.1, holdMinutes: 10 },
      { weight: 1, holdMinutes: 0 },
    ]);
  });

  it('linear: the percentage more every interval until everything', () => {
    expect(trafficSteps({ type: 'linear', percent: 25, intervalMinutes: 2 })).toEqual([
      { weight: 0.25, holdMinutes: 2 },
      { weight: 0.5, holdMinutes: 2 },
      { weight: 0.75, holdMinutes: 2 },
      { weight: 1, holdMinutes: 0 },
    ]);
    expect(trafficSteps({ type: 'linear', percent: 30, intervalMinutes: 1 }).map((s) => s.weight)).toEqual([
      0.3, 0.6, 0.9, 1,
    ]);
  });

  it('all at once: one step', () => {
    expect(trafficSteps({ type: 'allAtOnce', percent: 100, intervalMinutes: 0 })).toEqual([
      { weight: 1, holdMinutes: 0 },
    ]);
  });

  it('compresses minutes by the time scale', () => {
    expect(scaledMs(10, 1)).toBe(600_000);
    expect(scaledMs(10, 600)).toBe(1000);
  });
});

describe('judge (canary analysis)', () => {
  const health = (version: string, invocations: number, errors: number, p99Ms = 50) => ({
    version,
    invocations,
    errors,
    p99Ms,
  });

  it('rolls back when the new version fails more than the threshold', () => {
    const verdict = judge({ newVersion: '2', versions: [health('1', 90, 0), health('2', 10, 5)] });
    expect(verdict).toEqual({ ok: false, reason: 'version 2: error rate 50% (5 of 10) is over 5%' });
  });

  it('rolls back on the new version’s p99', () => {
    const verdict = judge({ newVersion: '2', versions: [health('2', 10, 0, 4200)] });
    expect(verdict).toEqual({ ok: false, reason: 'version 2: p99 4200 ms is over 3000 ms' });
  });

  it('looks at the new version only: the old one’s errors do not roll the new one back', () => {
    expect(judge({ newVersion: '2', versions: [health('1', 100, 100, 9000), health('2', 10, 0)] })).toEqual({
      ok: true,
    });
  });

  it('says nothing below the minimum of invocations, or with no traffic on the new version', () => {
    expect(judge({ newVersion: '2', versions: [health('2', 4, 4)] })).toEqual({ ok: true });
    expect(judge({ newVersion: '2', versions: [health('1', 100, 0)] })).toEqual({ ok: true });
  });

  it('rolls back on the new version’s 5xx answers, which are successful invocations for Lambda', () => {
    const answering500 = { ...health('2', 10, 0), requests: 10, serverErrors: 4 };
    expect(judge({ newVersion: '2', versions: [health('1', 90, 0), answering500] })).toEqual({
      ok: false,
      reason: 'version 2: 5xx rate 40% (4 of 10) is over 5%',
    });
    // A quiet canary: too few answers to say anything, as the 5xx alarm's IF(requests >= 5, ...).
    expect(
      judge({ newVersion: '2', versions: [{ ...health('2', 4, 0), requests: 4, serverErrors: 4 }] }),
    ).toEqual({ ok: true });
  });

  it('treats the threshold itself as healthy', () => {
    expect(judge({ newVersion: '2', versions: [health('2', 20, 1)] }, DEFAULT_CANARY_THRESHOLDS)).toEqual({
      ok: true,
    });
    expect(
      judge(
        { newVersion: '2', versions: [health('2', 20, 1)] },
        { ...DEFAULT_CANARY_THRESHOLDS, maxErrorRate: 0.01 },
      ),
    ).toMatchObject({ ok: false });
  });
});

const fn = (name: string, more: Partial<CellReleaseState['functions'][number]> = {}) => ({
  name,
  weights: [{ version: '3', weight: 1 }],
  liveExists: true,
  previous: { version: '2', exists: true },
  ...more,
});

describe('releaseReadiness', () => {
  it('is ready with a whole alias on an existing numbered version', () => {
    expect(releaseReadiness({ cellId: 'a0', functions: [fn('api'), fn('worker')] })).toEqual([]);
  });

  it('refuses a cell mid-deployment, a split alias, and drift from CloudFormation, all at once', () => {
    const problems = releaseReadiness({
      cellId: 'a0',
      deployment: { id: 'd-1', status: 'InProgress', release: 'r2' },
      functions: [
        fn('api', {
          weights: [
            { version: '3', weight: 0.9 },
            { version: '4', weight: 0.1 },
          ],
        }),
        fn('worker', { recordedVersion: '4' }),
      ],
    });
    expect(problems).toEqual([
      'cell a0 is mid-deployment (d-1 InProgress, release r2)',
      "cell a0: api's live alias is split between versions 3 (90%) and 4 (10%)",
      "cell a0: worker's live alias is on version 3 but CloudFormation has version 4 (moved outside CloudFormation): re-anchor it with `bulkhead rollback --cell a0`",
    ]);
  });

  it('refuses when the version a rollback would return to is gone or is $LATEST', () => {
    expect(
      releaseReadiness({
        cellId: 'a0',
        functions: [
          fn('api', { liveExists: false }),
          fn('worker', { weights: [{ version: '$LATEST', weight: 1 }] }),
        ],
      }),
    ).toEqual([
      "cell a0: api's previous version 3 (the one a rollback returns to) is gone",
      "cell a0: worker's live alias points at $LATEST, which changes with every deploy: a rollback would have nowhere to go",
    ]);
  });

  it('refuses a cell that is unavailable', () => {
    expect(releaseReadiness({ cellId: 'a0', unavailable: 'the cell is down', functions: [] })).toEqual([
      'cell a0: the cell is down',
    ]);
  });
});

describe('rollbackReadiness', () => {
  it('accepts a cell mid-deployment (the deployment is stopped with rollback)', () => {
    expect(
      rollbackReadiness({
        cellId: 'a0',
        deployment: { id: 'd-1', status: 'InProgress' },
        functions: [fn('api', { previous: undefined })],
      }),
    ).toEqual([]);
  });

  it('accepts a function whose alias drifted from CloudFormation: rolling back finishes the re-anchor', () => {
    expect(
      rollbackReadiness({
        cellId: 'a0',
        functions: [
          fn('api', { weights: [{ version: '2', weight: 1 }], recordedVersion: '3', previous: undefined }),
        ],
      }),
    ).toEqual([]);
  });

  it('refuses without a previous version, or when it is gone', () => {
    expect(
      rollbackReadiness({
        cellId: 'a0',
        functions: [
          fn('api', { previous: undefined }),
          fn('worker', { previous: { version: '2', exists: false } }),
        ],
      }),
    ).toEqual([
      'cell a0: api has no previous version to return to (live: 3)',
      "cell a0: worker's previous version 2 is gone",
    ]);
  });
});

describe('drillGate', () => {
  const drill = (release: string, ok: boolean, at: string): DrillRecord => ({
    release,
    ok,
    at,
    cell: 'a0',
    ...(!ok && { reason: 'old version could not read order o1' }),
  });

  it('is missing without a drill of this release', () => {
    expect(drillGate('r2', [drill('r1', true, '2025-01-01T00:00:00Z')])).toEqual({
      state: 'missing',
      reason: 'no rollback drill of release r2 is recorded',
    });
  });

  it('follows the latest drill of the release', () => {
    const pass = drill('r2', true, '2025-01-01T00:00:00Z');
    const fail = drill('r2', false, '2025-01-01T01:00:00Z');
    expect(drillGate('r2', [fail, pass])).toEqual({
      state: 'failed',
      drill: fail,
      reason:
        'the rollback drill of release r2 on cell a0 failed at 2025-01-01T01:00:00Z: old version could not read order o1',
    });
    const again = drill('r2', true, '2025-01-01T02:00:00Z');
    expect(drillGate('r2', [fail, again, pass])).toEqual({ state: 'passed', drill: again });
  });
});

describe('StopTheLine', () => {
  it('keeps the first reason', () => {
    const line = new StopTheLine();
    expect(line.halted).toBe(false);
    line.trip('cell a0 failed');
    line.trip('alarm');
    expect(line.halted).toBe(true);
    expect(line.reason).toBe('cell a0 failed');
  });
});

/** Fake ports over a fake clock: records what the release did, in order. */
function ports(
  options: {
    outcome?: (cellId: string) => Omit<CellOutcome, 'cellId'>;
    alarms?: (cellId: string, atMs: number) => string[];
    drills?: DrillRecord[];
    drillPasses?: boolean;
    withDrill?: boolean;
  } = {},
) {
  let now = 0;
  const calls: string[] = [];
  const progress: ReleaseProgress[] = [];
  const drills = [...(options.drills ?? [])];
  const p: ReleasePorts<ReleaseCell> = {
    deployWave: async (wave: WavePlan) => {
      calls.push(`deploy ${wave.cells.map((c) => c.id).join('+')} @${now}`);
      now += 1000;
      return wave.cells.map((c) => ({
        cellId: c.id,
        ...(options.outcome?.(c.id) ?? { result: 'succeeded' }),
      }));
    },
    alarms: async (cells) => cells.map((c) => ({ cellId: c.id, alarms: options.alarms?.(c.id, now) ?? [] })),
    rollback: async (c, reason) => {
      calls.push(`rollback ${c.id}: ${reason}`);
    },
    drills: async () => drills,
    ...(options.withDrill !== false && {
      drill: async (c: ReleaseCell) => {
        calls.push(`drill ${c.id}`);
        const record = {
          release: 'r1',
          ok: options.drillPasses ?? true,
          at: new Date(now).toISOString(),
          cell: c.id,
          ...(options.drillPasses === false && { reason: 'verify failed' }),
        };
        drills.push(record);
        return record;
      },
    }),
    sleep: async (ms) => {
      now += ms;
    },
    now: () => now,
    onProgress: (e) => progress.push(e),
  };
  return { ports: p, calls, progress };
}

describe('runRelease', () => {
  it('deploys wave by wave, a wave’s cells together, drilling wave 0 and baking between waves', async () => {
    const { ports: p, calls, progress } = ports();
    const report = await runRelease(plan({ label: 'r1' }), p, { timeScale: 60, alarmPollMs: 100 });
    expect(calls).toEqual(['deploy a0 @0', 'drill a0', 'deploy b1+b2 @16000', 'deploy c2 @37000']);
    expect(report).toMatchObject({ release: 'r1', state: 'succeeded', reached: ['a0', 'b1', 'b2', 'c2'] });
    expect(report.waves.map((w) => [w.wave, w.state, w.bakedMs])).toEqual([
      [0, 'released', 15_000],
      [1, 'released', 20_000],
      [2, 'released', undefined],
    ]);
    expect(progress.filter((e) => e.type === 'bake-started')).toEqual([
      // Each says when it is due to end: the next wave starts then.
      { type: 'bake-started', wave: 0, ms: 15_000, until: 16_000 },
      { type: 'bake-started', wave: 1, ms: 20_000, until: 37_000 },
    ]);
  });

  it('stops the line when a cell’s deployment fails: later waves are skipped, with the reason', async () => {
    const { ports: p, calls } = ports({
      outcome: (id) =>
        id === 'b2'
          ? { result: 'rolled-back', reason: 'version 4: error rate 50% (5 of 10) is over 5%' }
          : { result: 'succeeded' },
    });
    const report = await runRelease(plan({ label: 'r1' }), p, { timeScale: 600 });
    expect(calls.filter((c) => c.startsWith('deploy'))).toEqual(['deploy a0 @0', 'deploy b1+b2 @2500']);
    expect(report.state).toBe('halted');
    expect(report.haltReason).toBe(
      'wave 1: cell b2 rolled-back (version 4: error rate 50% (5 of 10) is over 5%)',
    );
    expect(report.waves.map((w) => w.state)).toEqual(['released', 'failed', 'skipped']);
    expect(report.reached).toEqual(['a0', 'b1']);
  });

  it('halts on a plain failure too', async () => {
    const { ports: p } = ports({
      outcome: (id) =>
        id === 'a0' ? { result: 'failed', reason: 'smoke test failed' } : { result: 'succeeded' },
    });
    const report = await runRelease(plan({ label: 'r1' }), p, { timeScale: 600 });
    expect(report.haltReason).toBe('wave 0: cell a0 failed (smoke test failed)');
    expect(report.waves.map((w) => w.state)).toEqual(['failed', 'skipped', 'skipped']);
  });

  it('rolls back a cell that alarms while its wave bakes, and stops the line', async () => {
    const { ports: p, calls } = ports({
      alarms: (id, at) => (id === 'b1' && at >= 5000 ? ['api:v4 errors'] : []),
    });
    const report = await runRelease(plan({ label: 'r1' }), p, { timeScale: 60, alarmPollMs: 1000 });
    expect(calls).toEqual([
      'deploy a0 @0',
      'drill a0',
      'deploy b1+b2 @16000',
      'rollback b1: alarm while baking: api:v4 errors',
    ]);
    expect(report.haltReason).toBe('wave 1 alarmed while baking: cell b1 (api:v4 errors)');
    expect(report.waves.map((w) => w.state)).toEqual(['released', 'failed', 'skipped']);
    expect(report.waves[1].alarms).toEqual([{ cellId: 'b1', alarms: ['api:v4 errors'] }]);
    expect(report.reached).toEqual(['a0', 'b2']);
  });

  it('does not promote past wave 0 when the rollback drill fails', async () => {
    const { ports: p, calls } = ports({ drillPasses: false });
    const report = await runRelease(plan({ label: 'r1' }), p, { timeScale: 600 });
    expect(calls).toEqual(['deploy a0 @0', 'drill a0']);
    expect(report.haltReason).toMatch(
      /^the rollback drill of release r1 on cell a0 failed at .*: verify failed: not promoted past wave 0$/,
    );
    expect(report.waves.map((w) => w.state)).toEqual(['released', 'skipped', 'skipped']);
  });

  it('skips the drill when one of this release already passed', async () => {
    const { ports: p, calls } = ports({ drills: [{ release: 'r1', ok: true, at: '2025-01-01T00:00:00Z' }] });
    await runRelease(plan({ label: 'r1', waves: [0, 1] }), p, { timeScale: 600 });
    expect(calls.some((c) => c.startsWith('drill'))).toBe(false);
  });

  it('refuses later waves without a passing drill when wave 0 is not in the run', async () => {
    const { ports: p, calls } = ports();
    const report = await runRelease(plan({ label: 'r1', waves: [1, 2] }), p, { timeScale: 600 });
    expect(calls).toEqual([]);
    expect(report.haltReason).toBe(
      'no rollback drill of release r1 is recorded: not promoted past wave 0 (release wave 0, which runs the drill, or run `bulkhead drill rollback`)',
    );
    expect(report.waves.map((w) => w.state)).toEqual(['skipped', 'skipped']);
  });

  it('goes on to later waves with a passing drill on record', async () => {
    const { ports: p, calls } = ports({ drills: [{ release: 'r1', ok: true, at: '2025-01-01T00:00:00Z' }] });
    const report = await runRelease(plan({ label: 'r1', waves: [1, 2] }), p, { timeScale: 600 });
    expect(calls).toEqual(['deploy b1+b2 @0', 'deploy c2 @3000']);
    expect(report.state).toBe('succeeded');
  });

  it('stops when the line is tripped from outside, between waves', async () => {
    const line = new StopTheLine();
    const { ports: p, calls } = ports({
      withDrill: false,
      drills: [{ release: 'r1', ok: true, at: '2025-01-01T00:00:00Z' }],
    });
    const deploy = p.deployWave;
    p.deployWave = async (wave) => {
      const out = await deploy(wave);
      line.trip('interrupted by the operator');
      return out;
    };
    const report = await runRelease(plan({ label: 'r1' }), p, { timeScale: 600, line });
    expect(calls).toEqual(['deploy a0 @0']);
    expect(report).toMatchObject({ state: 'halted', haltReason: 'interrupted by the operator' });
  });
});
