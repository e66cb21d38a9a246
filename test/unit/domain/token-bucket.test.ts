import { refill, reserve, take, type Bucket } from '../../../lib/domain/token-bucket';

const limit = { ratePerSecond: 10, burst: 3 };

describe('token bucket', () => {
  it('starts full: a burst of calls goes out back to back, then the next must wait', () => {
    let bucket: Bucket | undefined;
    for (let i = 0; i < 3; i++) {
      const result = take(bucket, 0, limit);
      expect(result.ok).toBe(true);
      bucket = result.next;
    }
    expect(take(bucket, 0, limit)).toEqual({ ok: false, next: { tokens: 0, updatedAt: 0 }, waitMs: 100 });
  });

  it('refills at the configured rate and never above the burst', () => {
    const empty = { tokens: 0, updatedAt: 1000 };
    expect(refill(empty, 1250, limit)).toEqual({ tokens: 2.5, updatedAt: 1250 });
    expect(refill(empty, 60_000, limit)).toEqual({ tokens: 3, updatedAt: 60_000 });
  });

  it('says how long until a whole token is there when only a fraction is', () => {
    const result = take({ tokens: 0, updatedAt: 0 }, 30, limit);
    expect(result).toEqual({ ok: false, next: { tokens: 0.3, updatedAt: 30 }, waitMs: 70 });
    expect(take(result.next, 30 + (result.ok ? 0 : result.waitMs), limit).ok).toBe(true);
  });

  it('ignores a clock that went backwards (another worker wrote a later time) instead of minting tokens', () => {
    expect(refill({ tokens: 1, updatedAt: 5000 }, 4000, limit)).toEqual({ tokens: 1, updatedAt: 4000 });
  });

  it('never lets more than burst + rate × time calls through, however often it is asked', () => {
    let bucket: Bucket | undefined;
    let taken = 0;
    for (let now = 0; now <= 2000; now += 7) {
      const result = take(bucket, now, limit);
      bucket = result.next;
      if (result.ok) taken++;
    }
    expect(taken).toBeLessThanOrEqual(3 + 10 * 2);
    expect(taken).toBeGreaterThanOrEqual(3 + 10 * 2 - 1);
  });

  it('reserves ahead: callers asking at once go out one token apart, after the burst, in the order they asked', () => {
    let bucket: Bucket | undefined;
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const result = reserve(bucket, 0, limit, 1000);
      expect(result.ok).toBe(true);
      waits.push(result.waitMs);
      bucket = result.next;
    }
    expect(waits).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('refuses a reservation that would wait longer than allowed, taking nothing', () => {
    const drained = { tokens: -4, updatedAt: 0 };
    expect(reserve(drained, 0, limit, 400)).toEqual({ ok: false, next: drained, waitMs: 500 });
    expect(reserve(drained, 0, limit, 500)).toEqual({
      ok: true,
      next: { tokens: -5, updatedAt: 0 },
      waitMs: 500,
    });
  });

  it('never has more calls out than burst + rate × time, the calls made at their reserved times', () => {
    let bucket: Bucket | undefined;
    const callTimes: number[] = [];
    for (let now = 0; now <= 2000; now += 7) {
      const result = reserve(bucket, now, limit, 1000);
      if (!result.ok) continue;
      bucket = result.next;
      callTimes.push(now + result.waitMs);
    }
    for (const start of callTimes) {
      const within = callTimes.filter((t) => t >= start && t < start + 1000).length;
      expect(within).toBeLessThanOrEqual(3 + 10);
    }
  });
});
