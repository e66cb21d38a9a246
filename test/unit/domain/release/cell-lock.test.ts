import {
  type CellLock,
  decideAcquire,
  decideRelease,
  decideRenew,
  type LockRequest,
  lockLost,
  lockRefusal,
  meetsExpectation,
} from '../../../../lib/domain/release';

const T0 = Date.parse('2026-12-02T03:00:00Z');
const LEASE = 300_000;

const request = (more: Partial<LockRequest> = {}): LockRequest => ({
  cellId: 'use1-a',
  holder: 'alice@laptop',
  token: 'run-a',
  reason: 'release r7',
  leaseMs: LEASE,
  ...more,
});

const bobs: CellLock = {
  cellId: 'use1-a',
  holder: 'bob@desk',
  token: 'run-b',
  reason: 'rollback: orders slow',
  since: T0 - 60_000,
  expiresAt: T0 + 60_000,
};

describe('taking a cell’s release lock', () => {
  it('a free cell is taken for one lease, on the condition that it is still free', () => {
    const d = decideAcquire(undefined, request(), T0);
    expect(d).toEqual({
      action: 'write',
      lock: {
        cellId: 'use1-a',
        holder: 'alice@laptop',
        token: 'run-a',
        reason: 'release r7',
        since: T0,
        expiresAt: T0 + LEASE,
      },
      expect: { kind: 'free', now: T0 },
    });
  });

  it('a live lock of someone else is refused, naming who holds it, since when and why', () => {
    const d = decideAcquire(bobs, request(), T0);
    expect(d).toEqual({ action: 'refuse', held: bobs });
    expect(lockRefusal(bobs)).toBe(
      'cell use1-a is locked by bob@desk since 2026-12-02T02:59:00Z (rollback: orders slow); --force to take it',
    );
  });

  it('a lock whose lease ran out (a crashed CLI) is taken as if free', () => {
    const d = decideAcquire(bobs, request(), bobs.expiresAt + 1);
    expect(d).toMatchObject({ action: 'write', lock: { holder: 'alice@laptop' }, expect: { kind: 'free' } });
    expect(d).not.toHaveProperty('stolen');
  });

  it('--force steals a live lock from exactly the holder read, and says whom it was taken from', () => {
    const d = decideAcquire(bobs, request({ force: 'bob is on a plane' }), T0);
    expect(d).toEqual({
      action: 'write',
      lock: expect.objectContaining({ holder: 'alice@laptop', since: T0 }),
      expect: { kind: 'held-by', token: 'run-b' },
      stolen: bobs,
    });
  });

  it('the run already holding it extends its lease and keeps its start', () => {
    const mine = { ...bobs, token: 'run-a', holder: 'alice@laptop' };
    expect(decideAcquire(mine, request(), T0)).toEqual({
      action: 'write',
      lock: { ...mine, expiresAt: T0 + LEASE },
      expect: { kind: 'held-by', token: 'run-a' },
    });
  });
});

describe('the heartbeat and giving the lock back', () => {
  it('renews only the lock this run holds', () => {
    expect(decideRenew(bobs, 'run-b', LEASE, T0)).toEqual({
      action: 'write',
      lock: { ...bobs, expiresAt: T0 + LEASE },
      expect: { kind: 'held-by', token: 'run-b' },
    });
  });

  it('a lock taken over is lost, to its new holder; a lock deleted is lost to nobody', () => {
    expect(decideRenew(bobs, 'run-a', LEASE, T0)).toEqual({ action: 'lost', held: bobs });
    expect(decideRenew(undefined, 'run-a', LEASE, T0)).toEqual({ action: 'lost' });
    expect(decideRenew(bobs, 'run-a', LEASE, bobs.expiresAt + 1)).toEqual({ action: 'lost' });
    expect(lockLost('use1-a', bobs)).toBe(
      'lost the lock of cell use1-a to bob@desk (rollback: orders slow) at 2026-12-02T02:59:00Z: stopped before the next step',
    );
  });

  it('a run deletes only its own lock', () => {
    expect(decideRelease(bobs, 'run-b')).toBe('delete');
    expect(decideRelease(bobs, 'run-a')).toBe('not-held');
    expect(decideRelease(undefined, 'run-a')).toBe('not-held');
  });
});

describe('the conditions the store checks', () => {
  it('"free": no lock, or one expired at the time of the decision', () => {
    expect(meetsExpectation(undefined, { kind: 'free', now: T0 })).toBe(true);
    expect(meetsExpectation(bobs, { kind: 'free', now: T0 })).toBe(false);
    expect(meetsExpectation(bobs, { kind: 'free', now: bobs.expiresAt + 1 })).toBe(true);
  });

  it('"held-by": the stored lock is still the one read', () => {
    expect(meetsExpectation(bobs, { kind: 'held-by', token: 'run-b' })).toBe(true);
    expect(meetsExpectation(bobs, { kind: 'held-by', token: 'run-a' })).toBe(false);
    expect(meetsExpectation(undefined, { kind: 'held-by', token: 'run-b' })).toBe(false);
  });
});
