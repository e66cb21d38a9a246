import type { CanaryMetrics, ShiftStep } from '../../../lib/domain/release';
import { type FunctionHealth, overThresholds, runTrafficShift } from '../../../lib/domain/traffic-shift';

/** Fake time: `sleep` moves the clock and records how long each wait was. */
function fakeTime(start = 1_000_000) {
  const clock = { now: start, sleeps: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
  };
}

const metrics = (newVersion: string, invocations: number, errors: number, p99Ms = 50): CanaryMetrics => ({
  newVersion,
  versions: [{ version: newVersion, invocations, errors, p99Ms }],
});

const healthy: FunctionHealth[] = [{ name: 'api', metrics: metrics('2', 100, 0) }];

/** A shift whose health is `health(now)` and that records every step it was given, with its time. */
function shiftPorts(
  health: (now: number) => readonly FunctionHealth[],
  stopped: (now: number) => boolean = () => false,
) {
  const time = fakeTime();
  const shifts: { weight: number; first: boolean; at: number }[] = [];
  const ports = {
    shift: (step: ShiftStep, first: boolean) =>
      shifts.push({ weight: step.weight, first, at: time.clock.now }),
    health: () => health(time.clock.now),
    stopped: () => stopped(time.clock.now),
    sleep: time.sleep,
    now: time.now,
  };
  return { ports, shifts, clock: time.clock };
}

const CANARY: ShiftStep[] = [
  { weight: 0.1, holdMinutes: 5 },
  { weight: 1, holdMinutes: 0 },
];

describe('runTrafficShift', () => {
  it('holds each step for its time-scaled minutes, watching every watchMs, then shifts all', async () => {
    const { ports, shifts, clock } = shiftPorts(() => healthy);

    // 5 minutes at time scale 60: 5 s of real time, looked at every second.
    const outcome = await runTrafficShift(CANARY, ports, { timeScale: 60, watchMs: 1000 });

    expect(outcome).toEqual({ result: 'shifted' });
    expect(shifts).toEqual([
      { weight: 0.1, first: true, at: 1_000_000 },
      { weight: 1, first: false, at: 1_005_000 },
    ]);
    expect(clock.sleeps).toEqual([1000, 1000, 1000, 1000, 1000]);
  });

  it('never sleeps past the end of a hold', async () => {
    const { ports, clock } = shiftPorts(() => healthy);

    await runTrafficShift(
      [
        { weight: 0.5, holdMinutes: 1 },
        { weight: 1, holdMinutes: 0 },
      ],
      ports,
      {
        timeScale: 60,
        watchMs: 400,
      },
    );

    expect(clock.sleeps).toEqual([400, 400, 200]);
  });

  it('shifts all at once, judging the new versions once', async () => {
    let looks = 0;
    const { ports, shifts, clock } = shiftPorts(() => {
      looks += 1;
      return healthy;
    });

    const outcome = await runTrafficShift([{ weight: 1, holdMinutes: 0 }], ports, {
      timeScale: 1,
      watchMs: 20,
    });

    expect(outcome).toEqual({ result: 'shifted' });
    expect(shifts).toEqual([{ weight: 1, first: true, at: 1_000_000 }]);
    expect(looks).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('stops at the first new version over a threshold, naming the function and the step', async () => {
    // The new worker version starts failing two seconds into the canary.
    const { ports, shifts, clock } = shiftPorts((now) => [
      { name: 'api', metrics: metrics('2', 100, 0) },
      { name: 'worker', metrics: now >= 1_002_000 ? metrics('3', 20, 4) : metrics('3', 20, 0) },
    ]);

    const outcome = await runTrafficShift(CANARY, ports, { timeScale: 60, watchMs: 1000 });

    expect(outcome).toEqual({
      result: 'rolled-back',
      reason: 'worker version 3: error rate 20% (4 of 20) is over 5%',
      weight: 0.1,
    });
    expect(shifts.map((s) => s.weight)).toEqual([0.1]);
    expect(clock.now).toBe(1_002_000);
  });

  it('judges with the thresholds it is given, and says nothing below minInvocations', async () => {
    const slow: FunctionHealth[] = [{ name: 'api', metrics: metrics('2', 10, 0, 900) }];
    const thresholds = { maxErrorRate: 0.05, maxServerErrorRate: 0.05, maxP99Ms: 500, minInvocations: 5 };

    const tight = await runTrafficShift(CANARY, shiftPorts(() => slow).ports, {
      timeScale: 60,
      watchMs: 1000,
      thresholds,
    });
    const quiet = await runTrafficShift(
      CANARY,
      shiftPorts(() => [{ name: 'api', metrics: metrics('2', 4, 4) }]).ports,
      { timeScale: 60, watchMs: 1000, thresholds },
    );

    expect(tight).toEqual({
      result: 'rolled-back',
      reason: 'api version 2: p99 900 ms is over 500 ms',
      weight: 0.1,
    });
    expect(quiet).toEqual({ result: 'shifted' });
  });

  it('ends without judging once the deployment was stopped from outside', async () => {
    let looks = 0;
    const { ports, shifts, clock } = shiftPorts(
      () => {
        looks += 1;
        return healthy;
      },
      (now) => now >= 1_001_000,
    );

    const outcome = await runTrafficShift(CANARY, ports, { timeScale: 60, watchMs: 1000 });

    expect(outcome).toEqual({ result: 'stopped' });
    expect(shifts.map((s) => s.weight)).toEqual([0.1]);
    // Judged as the canary began; a second later the stop is seen before anything else.
    expect(looks).toBe(1);
    expect(clock.now).toBe(1_001_000);
  });
});

describe('overThresholds', () => {
  it('lists every function whose new version is over a threshold', () => {
    expect(
      overThresholds([
        { name: 'api', metrics: metrics('2', 10, 5) },
        { name: 'worker', metrics: metrics('4', 10, 0) },
        { name: 'hook', metrics: metrics('7', 10, 0, 4000) },
      ]),
    ).toEqual([
      'api version 2: error rate 50% (5 of 10) is over 5%',
      'hook version 7: p99 4000 ms is over 3000 ms',
    ]);
  });

  it('judges a function by its own limits where it has them: a slow reconciler is not an API', () => {
    const own = { maxErrorRate: 0.05, maxServerErrorRate: 0.05, maxP99Ms: 54_000, minInvocations: 5 };
    expect(
      overThresholds([
        { name: 'reconciler', metrics: metrics('3', 10, 0, 3189), thresholds: own },
        { name: 'api', metrics: metrics('2', 10, 0, 3189) },
        { name: 'stuck', metrics: metrics('5', 10, 0, 60_000), thresholds: own },
      ]),
    ).toEqual([
      'api version 2: p99 3189 ms is over 3000 ms',
      'stuck version 5: p99 60000 ms is over 54000 ms',
    ]);
  });
});
