import { badReleaseDrill } from '../../../lib/release/bad-release-drill';
import type { ReleaseContext } from '../../../lib/release/context';
import { rehearseRollback } from '../../../lib/release/rehearse-rollback';
import { rollbackDrill } from '../../../lib/release/rollback-drill';

import { cell, FakeReleaseTarget } from './fake-release-target';

const INTEGRATION = {
  baseUrl: 'https://compliance.example.com',
  ratePerSecond: 5,
  burst: 1,
  apiKeySecret: 'bulkhead/compliance/acme',
  licenseNumber: 'C10-0000001-LIC',
  timeZone: 'UTC',
  vendorKeySecret: 'bulkhead/compliance/vendor',
  batchSize: 10,
};
const A = cell('a', 0, [{ id: 'acme', integration: INTEGRATION }]);
const B = cell('b', 1);

let target: FakeReleaseTarget;
let progress: string[];
let clock: number;

function context(): ReleaseContext {
  return {
    target,
    fleet: { router: { account: '111111111111', region: 'us-east-1' }, cells: [A, B] },
    timeScale: 1,
    sleep: async (ms) => void (clock += ms),
    now: () => clock,
    progress: (line) => progress.push(line),
  };
}

beforeEach(() => {
  target = new FakeReleaseTarget([A, B]);
  progress = [];
  clock = 1_000;
});

afterEach(() => target.close());

describe('rehearseRollback', () => {
  it('rolls back, has the old version read what the new one wrote, rolls forward, and records a passing drill', async () => {
    const r = await rehearseRollback(context(), A, 'r7');
    expect(r.steps.map((s) => [s.step, s.ok])).toEqual([
      ['versions known', true],
      ['new version v2 writes (tenant bulkhead-drill)', true],
      ['roll back', true],
      ['new version v2 writes while v1 is live', true],
      ["old version v1 reads the new version's orders", true],
      ["old sync worker sends the new version's orders to the sandbox", true],
      ['roll forward to v2', true],
      ["remove bulkhead-drill's data", true],
    ]);
    expect(r.record).toMatchObject({ release: 'r7', ok: true, cell: 'a' });
    expect(r.rollbackMs).toBe(3);
    expect(target.cells.get('a')!.live).toBe('2');
    expect(target.log.drills()).toEqual([{ release: 'r7', ok: true, at: expect.any(String), cell: 'a' }]);
    expect(target.log.entries().map((e) => e.kind)).toEqual(['rollback', 'release', 'drill']);
  });

  it('reads and writes only as the drill tenant, never as the cell’s real tenant, and leaves nothing behind', async () => {
    const r = await rehearseRollback(context(), A, 'r7');
    expect(r.record.ok).toBe(true);
    expect([...target.tenants]).toEqual(['bulkhead-drill']);
    expect(target.orders.size).toBe(0);
    expect(target.inventory.size).toBe(0);
  });

  it('without a sandbox for the drill tenant it checks no sync message, says so, and still cleans up', async () => {
    target.drillSandbox = false;
    const r = await rehearseRollback(context(), A, 'r7');
    expect(r.record.ok).toBe(true);
    expect(progress).toContainEqual(
      '[a] drill: no sync message to check: bulkhead-drill has no sandbox here (fleet file: drill.integration)',
    );
    expect(target.orders.size).toBe(0);
  });

  it('fails at the step that broke, says why, and still rolls forward', async () => {
    target.cells.get('a')!.broken.add('1');
    const r = await rehearseRollback(context(), A, 'r7');
    expect(r.record).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^old version v1 reads the new version's orders: order o1: expected 200, got 500/,
      ),
    });
    expect(r.steps.slice(-2)).toMatchObject([
      { step: 'roll forward to v2', ok: true },
      { step: "remove bulkhead-drill's data", ok: true },
    ]);
    expect(target.orders.size).toBe(0);
    expect(target.cells.get('a')!.live).toBe('2');
    expect(target.log.drills()).toMatchObject([{ release: 'r7', ok: false }]);
    expect(progress).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^\[a\] drill: old version v1 reads the new version's orders: FAILED: order o1/,
        ),
      ]),
    );
  });

  it('needs a previous version to rehearse on: nothing is rolled back without one', async () => {
    target.cells.get('a')!.previous = undefined;
    const r = await rehearseRollback(context(), A, 'r7');
    expect(r.steps).toEqual([
      expect.objectContaining({
        step: 'versions known',
        ok: false,
        detail: expect.stringContaining('previous none'),
      }),
    ]);
    expect(target.calls).toEqual([]);
  });
});

describe('rollbackDrill', () => {
  it('releases first, then rehearses the rollback of that release', async () => {
    const r = await rollbackDrill(context(), A, 'r8');
    expect(r.state).toBe('rehearsed');
    expect(r.state === 'rehearsed' && r.record).toMatchObject({ release: 'r8', ok: true });
    expect(target.cells.get('a')!.live).toBe('3');
    expect(target.log.entries().map((e) => [e.kind, e.release])).toEqual([
      ['release', 'r8'],
      ['rollback', 'r8'],
      ['release', 'r8'],
      ['drill', 'r8'],
    ]);
  });

  it('records a failed drill when the release itself did not succeed', async () => {
    target.cells.get('a')!.next = 'failed';
    const r = await rollbackDrill(context(), A, 'r8');
    expect(r.state).toBe('release-failed');
    expect(target.log.drills()).toMatchObject([{ release: 'r8', ok: false, reason: 'release: failed' }]);
  });
});

describe('badReleaseDrill', () => {
  it('passes when the deployer rolls the faulty version back: failures only on it, none in other cells', async () => {
    target.cells.get('a')!.next = 'rolled-back';
    const run = await badReleaseDrill(context(), A, { faultRate: 0.5, release: 'bad-1' });
    expect(run.state).toBe('judged');
    const r = run.state === 'judged' ? run.result : undefined;
    expect(r).toMatchObject({
      ok: true,
      release: 'bad-1',
      result: 'rolled-back',
      timeToRollbackMs: 300,
      failuresOnPrevious: 0,
      otherCells: { failures: 0 },
      weightsAfter: { 'bulkhead-a-api': [{ version: '2', weight: 1 }] },
      problems: [],
    });
    // Traffic ran on every cell, and on the drilled cell after the deployment ended.
    expect(r!.otherCells.requests).toBeGreaterThan(0);
    expect(target.calls.filter((c) => c.startsWith('a v2 GET')).length).toBeGreaterThanOrEqual(20);
    expect(target.log.entries().at(-1)).toMatchObject({
      kind: 'drill',
      drill: 'bad-release',
      ok: true,
      ms: 300,
    });
  });

  it('fails, and takes the faulty version off, when the deployer let it go live', async () => {
    const run = await badReleaseDrill(context(), A, { faultRate: 0.5, release: 'bad-2' });
    const r = run.state === 'judged' ? run.result : undefined;
    expect(r?.ok).toBe(false);
    expect(r?.problems).toContain('the release was not rolled back automatically (succeeded)');
    expect(target.cells.get('a')!.live).toBe('2');
    expect(target.log.entries().map((e) => [e.kind, e.why ?? e.drill ?? null])).toEqual([
      ['release', null],
      ['rollback', 'bad-release drill: the faulty version was not rolled back automatically'],
      ['drill', 'bad-release'],
    ]);
  });

  it('refuses a cell that is not ready for a release, and does nothing', async () => {
    target.status = async () => ({ cellId: 'a', wave: 0, unavailable: 'the cell is down', functions: [] });
    const run = await badReleaseDrill(context(), A, { faultRate: 0.5, release: 'bad-3' });
    expect(run).toEqual({ state: 'refused', problems: ['cell a: the cell is down'] });
    expect(target.calls).toEqual([]);
  });
});
