import { StopTheLine } from '../../../lib/domain/release';
import { withCellLocks } from '../../../lib/release/cell-locks';
import type { ReleaseContext } from '../../../lib/release/context';
import { rollbackCells } from '../../../lib/release/rollback';
import { releaseFleet } from '../../../lib/release/run';

import { cell, FakeReleaseTarget } from './fake-release-target';
import { MemoryLockStore } from './memory-lock-store';

const A = cell('a', 0);
const B = cell('b', 1);
const LEASE = 300_000;

let target: FakeReleaseTarget;
let locks: MemoryLockStore;
let clock: number;
let progress: string[];
/** The heartbeat the run registered (called by hand: no timer runs). */
let beat: (() => void) | undefined;

function context(holder = 'alice@laptop'): ReleaseContext {
  return {
    target,
    fleet: { router: { account: '111111111111', region: 'us-east-1' }, cells: [A, B] },
    timeScale: 1,
    sleep: async (ms) => void (clock += ms),
    now: () => clock,
    progress: (line) => progress.push(line),
    locking: {
      holder,
      leaseMs: LEASE,
      every: (_ms, fn) => {
        beat = fn;
        return () => (beat = undefined);
      },
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
const bobHolds = (cellId: string, more: { expiresAt?: number } = {}) =>
  locks.locks.set(cellId, {
    cellId,
    holder: 'bob@desk',
    token: 'run-bob',
    reason: 'release r1',
    since: clock - 60_000,
    expiresAt: clock + 60_000,
    ...more,
  });

beforeEach(() => {
  locks = new MemoryLockStore();
  target = new FakeReleaseTarget([A, B], locks);
  clock = Date.parse('2026-12-02T03:00:00Z');
  progress = [];
  beat = undefined;
});

afterEach(() => target.close());

describe('a run holds its cells’ release locks', () => {
  it('takes every cell’s lock for one lease, runs, and gives them back', async () => {
    const seen = await withCellLocks(context(), ['b', 'a'], { reason: 'release r7' }, async () => [
      ...locks.locks.values(),
    ]);
    expect(seen).toEqual({
      state: 'held',
      value: ['a', 'b'].map((cellId) =>
        expect.objectContaining({
          cellId,
          holder: 'alice@laptop',
          reason: 'release r7',
          expiresAt: clock + LEASE,
        }),
      ),
    });
    expect(locks.locks.size).toBe(0);
  });

  it('refuses, running nothing and keeping nothing, when another operator holds one of them', async () => {
    bobHolds('b');
    const run = jest.fn();
    const locked = await withCellLocks(context(), ['a', 'b'], { reason: 'release r7' }, run);
    expect(locked).toEqual({
      state: 'locked',
      problems: ['cell b is locked by bob@desk since 2026-12-02T02:59:00Z (release r1); --force to take it'],
    });
    expect(run).not.toHaveBeenCalled();
    expect([...locks.locks.keys()]).toEqual(['b']);
  });

  it('--force takes it and says so in the release log, with whom it was taken from', async () => {
    bobHolds('a');
    const locked = await withCellLocks(
      context(),
      ['a'],
      { reason: 'release r7', force: 'bob is on a plane' },
      async () => locks.locks.get('a')?.holder,
    );
    expect(locked).toEqual({ state: 'held', value: 'alice@laptop' });
    expect(target.log.entries()).toEqual([
      expect.objectContaining({
        kind: 'lock',
        cell: 'a',
        why: 'bob is on a plane',
        detail: expect.stringContaining('taken from bob@desk (release r1)'),
      }),
    ]);
  });

  it('the heartbeat renews the lease while the run goes on', async () => {
    await withCellLocks(context(), ['a'], { reason: 'release r7' }, async () => {
      clock += LEASE / 3;
      beat!();
      await settle();
      expect(locks.locks.get('a')?.expiresAt).toBe(clock + LEASE);
    });
  });

  it('a run whose lock was taken stops before its next step, naming who took it', async () => {
    const lost: string[] = [];
    const deploy = jest.spyOn(target, 'deploy');
    const locked = withCellLocks(
      context(),
      ['a'],
      { reason: 'release r7', onLost: (m) => lost.push(m) },
      async (held) => {
        bobHolds('a');
        beat!();
        await settle();
        await held.target.deploy([A], { release: 'r7' });
      },
    );
    await expect(locked).rejects.toThrow(
      'lost the lock of cell a to bob@desk (release r1) at 2026-12-02T02:59:00Z: stopped before the next step',
    );
    expect(lost).toHaveLength(1);
    expect(deploy).not.toHaveBeenCalled();
    // Bob's lock is his: the run that lost it does not delete it.
    expect(locks.locks.get('a')?.holder).toBe('bob@desk');
  });

  it('a run whose heartbeat could not renew (the table unreachable) stops once its lease has run out unrenewed', async () => {
    const locked = withCellLocks(context(), ['a'], { reason: 'release r7' }, async (held) => {
      jest.spyOn(locks, 'read').mockRejectedValue(new Error('connect ETIMEDOUT'));
      clock += LEASE / 3;
      beat!();
      await settle();
      await held.target.status(A);
      clock += LEASE;
      beat!();
      await settle();
      await held.target.deploy([A], { release: 'r7' });
    });
    await expect(locked).rejects.toThrow(
      'lost the lock of cell a (its lease expired): stopped before the next step',
    );
  });
});

describe('release and rollback take the locks', () => {
  it('a release on a locked cell is refused before anything is deployed', async () => {
    bobHolds('b');
    const deploy = jest.spyOn(target, 'deploy');
    const run = await releaseFleet(context(), { label: 'r7', line: new StopTheLine() });
    expect(run).toEqual({
      state: 'refused',
      problems: ['cell b is locked by bob@desk since 2026-12-02T02:59:00Z (release r1); --force to take it'],
    });
    expect(deploy).not.toHaveBeenCalled();
  });

  it('a release that loses its lock halts before its next wave, saying who took it', async () => {
    const line = new StopTheLine();
    const deploy = target.deploy.bind(target);
    const deployed = jest.spyOn(target, 'deploy').mockImplementation(async (cells, spec) => {
      await deploy(cells, spec);
      // Another operator forces the lock while wave 0 deploys; the next heartbeat notices.
      bobHolds('b');
      beat!();
      await settle();
    });
    const run = await releaseFleet(context(), { label: 'r7', line, waves: [0, 1] });
    expect(run.state).toBe('ran');
    if (run.state !== 'ran') return;
    expect(run.report.state).toBe('halted');
    expect(run.report.haltReason).toContain('lost the lock of cell b to bob@desk (release r1)');
    expect(run.report.waves.map((w) => [w.wave, w.state])).toEqual([
      [0, expect.any(String)],
      [1, 'skipped'],
    ]);
    expect(deployed.mock.calls.map(([cells]) => cells.map((c) => c.id))).toEqual([['a']]);
  });

  it('a rollback of a cell another operator is releasing is refused', async () => {
    bobHolds('a');
    const rollback = jest.spyOn(target, 'rollback');
    const run = await rollbackCells(context(), { cell: A }, 'orders slow');
    expect(rollback).not.toHaveBeenCalled();
    expect(run).toEqual({
      state: 'refused',
      problems: ['cell a is locked by bob@desk since 2026-12-02T02:59:00Z (release r1); --force to take it'],
    });
  });
});
