import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { ScheduledEvent } from 'aws-lambda';

import { LocalFunctionVersion } from '../../../lib/local/lambda/function-version';
import type { InvokeResult } from '../../../lib/local/lambda/invocation';
import { Scheduler } from '../../../lib/local/lambda/scheduler';

// The scheduler's clock (setTimeout, Date) is jest's fake one: time moves only when a test moves it.
const schedulers: Scheduler[] = [];

function scheduler(timeScale: number): Scheduler {
  const s = new Scheduler({ timeScale, log: () => undefined });
  schedulers.push(s);
  return s;
}

let fakeClock = false;

beforeEach(() => {
  jest.useFakeTimers({ now: Date.parse('2026-04-20T16:20:00.000Z') });
  fakeClock = true;
});

afterEach(async () => {
  const stopped = Promise.all(schedulers.splice(0).map((s) => s.stop()));
  // stop() waits for the runs in progress: on the fake clock they end only when it moves.
  if (fakeClock) await jest.runAllTimersAsync();
  await stopped;
  jest.useRealTimers();
});

/** A target that takes `ms` (of fake time) per run and records its events, their times and overlaps. */
function target(ms: number) {
  const seen = { events: [] as ScheduledEvent[], at: [] as number[], current: 0, max: 0 };
  return {
    seen,
    async invoke(event: ScheduledEvent): Promise<InvokeResult> {
      seen.events.push(event);
      seen.at.push(Date.now());
      seen.current += 1;
      seen.max = Math.max(seen.max, seen.current);
      await new Promise((resolve) => setTimeout(resolve, ms));
      seen.current -= 1;
      return { result: null, durationMs: ms, coldStart: false };
    },
  };
}

describe('Scheduler', () => {
  it('fires rate(5 minutes) every 0.5 s at timeScale 600, with the scheduled event shape', async () => {
    const s = scheduler(600);
    const reconcile = target(10);
    const begin = Date.now();
    s.add({ name: 'Reconcile', expression: 'rate(5 minutes)', target: reconcile });

    await jest.advanceTimersByTimeAsync(499);
    expect(reconcile.seen.at).toEqual([]);
    await jest.advanceTimersByTimeAsync(1001);

    // The first run comes one period after the rule is added, then one per period.
    expect(reconcile.seen.at).toEqual([begin + 500, begin + 1000, begin + 1500]);
    expect(reconcile.seen.events[0]).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: '2026-04-20T16:20:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/Reconcile'],
      detail: {},
    });
    expect(new Set(reconcile.seen.events.map((e) => e.id)).size).toBe(3);
    expect(s.stats()).toEqual([
      expect.objectContaining({ name: 'Reconcile', periodMs: 500, runs: 3, errors: 0, skipped: 0 }),
    ]);
  });

  it('never overlaps two runs of the same rule: a tick during a run is skipped', async () => {
    const s = scheduler(600);
    const slow = target(700);
    const begin = Date.now();
    s.add({ name: 'Slow', expression: 'rate(5 minutes)', target: slow });

    await jest.advanceTimersByTimeAsync(2300);

    // Runs at 0.5 s (until 1.2 s: the 1 s tick is skipped), 1.5 s (until 2.2 s: 2 s skipped).
    expect(slow.seen.at).toEqual([begin + 500, begin + 1500]);
    expect(slow.seen.max).toBe(1);
    expect(s.stats()[0]).toMatchObject({ runs: 2, skipped: 2 });
  });

  it('runNow() runs at once, after a run in progress, never alongside it', async () => {
    const s = scheduler(1);
    const job = target(100);
    s.add({ name: 'Job', expression: 'rate(1 hour)', target: job });

    const both = Promise.all([s.runNow('Job'), s.runNow('Job')]);
    await jest.advanceTimersByTimeAsync(200);
    const [a, b] = await both;

    expect(a).toEqual({ result: null, durationMs: 100, coldStart: false });
    expect(b.error).toBeUndefined();
    expect(job.seen.max).toBe(1);
    expect(job.seen.at).toHaveLength(2);
    await expect(s.runNow('Nope')).rejects.toThrow(/no schedule rule named Nope/);
  });

  it('counts failed runs and keeps its schedule', async () => {
    const s = scheduler(600);
    let calls = 0;
    s.add({
      name: 'Flaky',
      expression: 'rate(1 minute)',
      target: {
        invoke: async () => {
          calls += 1;
          if (calls === 1) throw new Error('network down');
          return {
            error: { errorType: 'Error', errorMessage: 'handler failed' },
            durationMs: 1,
            coldStart: false,
          };
        },
      },
    });

    await jest.advanceTimersByTimeAsync(300);

    // Every 100 ms: the thrown run and the two that returned an error all count.
    expect(calls).toBe(3);
    expect(s.stats()[0]).toMatchObject({ runs: 3, errors: 3, lastError: 'Error: handler failed' });
  });

  it('rejects cron rules, duplicates and bad time scales', () => {
    const s = scheduler(1);
    const t = target(0);
    expect(() => s.add({ name: 'Nightly', expression: 'cron(0 3 * * ? *)', target: t })).toThrow(
      'unsupported locally: cron(0 3 * * ? *)',
    );
    expect(() => s.add({ name: 'Typo', expression: 'rate(5 minute)', target: t })).toThrow(
      /use rate\(5 minutes\)/,
    );
    s.add({ name: 'Once', expression: 'rate(1 day)', target: t });
    expect(() => s.add({ name: 'Once', expression: 'rate(1 day)', target: t })).toThrow(/already exists/);
    expect(() => new Scheduler({ timeScale: 0 })).toThrow(/timeScale/);
  });

  it('stop() ends every clock and waits for the run in progress', async () => {
    const s = scheduler(600);
    const job = target(200);
    s.add({ name: 'Job', expression: 'rate(5 minutes)', target: job });
    await jest.advanceTimersByTimeAsync(550);
    expect(job.seen.current).toBe(1);

    const stopped = s.stop();
    await jest.advanceTimersByTimeAsync(150);
    await stopped;

    expect(job.seen.current).toBe(0);
    await jest.advanceTimersByTimeAsync(2000);
    expect(job.seen.at).toHaveLength(1);
  });

  it('invokes a real bundled function with the event', async () => {
    // A worker thread answers in real time.
    jest.useRealTimers();
    fakeClock = false;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-sched-'));
    const handlerFile = path.join(dir, 'index.js');
    fs.writeFileSync(
      handlerFile,
      `exports.handler = async (event) => ({ got: event['detail-type'], rule: event.resources[0] });`,
    );
    const fn = new LocalFunctionVersion({
      name: 'reconcile',
      version: '1',
      handlerFile,
      environment: {},
      timeoutMs: 5000,
      log: () => undefined,
    });
    try {
      const s = scheduler(1);
      s.add({ name: 'Reconcile', expression: 'rate(10 minutes)', target: fn });

      const outcome = await s.runNow('Reconcile');

      expect(outcome.result).toEqual({
        got: 'Scheduled Event',
        rule: 'arn:aws:events:us-east-1:000000000000:rule/Reconcile',
      });
    } finally {
      await fn.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
