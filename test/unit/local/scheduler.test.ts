import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { ScheduledEvent } from 'aws-lambda';

import { LocalFunctionVersion, type InvokeResult } from '../../../lib/local/lambda/function-runtime';
import { Scheduler, parseRate } from '../../../lib/local/lambda/scheduler';

const schedulers: Scheduler[] = [];

function scheduler(timeScale: number): Scheduler {
  const s = new Scheduler({ timeScale, log: () => undefined });
  schedulers.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(schedulers.splice(0).map((s) => s.stop()));
});

/** A target that takes `ms` per run and records its events and how many runs overlapped. */
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('parseRate', () => {
  it('reads rate expressions as EventBridge writes them', () => {
    expect(parseRate('rate(1 minute)')).toBe(60_000);
    expect(parseRate('rate(5 minutes)')).toBe(300_000);
    expect(parseRate('rate(2 hours)')).toBe(7_200_000);
    expect(parseRate('rate(1 day)')).toBe(86_400_000);
    expect(parseRate('rate(3 days)')).toBe(259_200_000);
  });

  it('says clearly what it cannot do', () => {
    expect(() => parseRate('cron(0/5 * * * ? *)')).toThrow('unsupported locally: cron(0/5 * * * ? *)');
    expect(() => parseRate('rate(5 minute)')).toThrow(/use rate\(5 minutes\)/);
    expect(() => parseRate('rate(1 minutes)')).toThrow(/use rate\(1 minute\)/);
    expect(() => parseRate('rate(0 minutes)')).toThrow(/at least 1/);
    expect(() => parseRate('every 5 minutes')).toThrow(/invalid schedule expression 'every 5 minutes'/);
  });
});

describe('Scheduler', () => {
  it('fires rate(5 minutes) about every 0.5 s at timeScale 600, with the scheduled event shape', async () => {
    const s = scheduler(600);
    const reconcile = target(10);
    const begin = Date.now();
    s.add({ name: 'Reconcile', expression: 'rate(5 minutes)', target: reconcile });

    await sleep(1500);

    const runs = reconcile.seen.at.length;
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(3);
    // The first run comes one period after the rule is added, then one per period.
    expect(reconcile.seen.at[0] - begin).toBeGreaterThanOrEqual(450);
    expect(reconcile.seen.at[1] - reconcile.seen.at[0]).toBeGreaterThanOrEqual(400);
    expect(reconcile.seen.at[1] - reconcile.seen.at[0]).toBeLessThanOrEqual(650);
    expect(reconcile.seen.events[0]).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/Reconcile'],
      detail: {},
    });
    expect(new Set(reconcile.seen.events.map((e) => e.id)).size).toBe(runs);
    expect(s.stats()).toEqual([
      expect.objectContaining({ name: 'Reconcile', periodMs: 500, runs, errors: 0, skipped: 0 }),
    ]);
  });

  it('never overlaps two runs of the same rule: a tick during a run is skipped', async () => {
    const s = scheduler(600);
    const slow = target(700);
    s.add({ name: 'Slow', expression: 'rate(5 minutes)', target: slow });

    await sleep(2300);

    expect(slow.seen.max).toBe(1);
    expect(slow.seen.at.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < slow.seen.at.length; i += 1) {
      expect(slow.seen.at[i] - slow.seen.at[i - 1]).toBeGreaterThanOrEqual(700);
    }
    expect(s.stats()[0].skipped).toBeGreaterThanOrEqual(1);
  });

  it('runNow() runs at once, after a run in progress, never alongside it', async () => {
    const s = scheduler(1);
    const job = target(100);
    s.add({ name: 'Job', expression: 'rate(1 hour)', target: job });

    const [a, b] = await Promise.all([s.runNow('Job'), s.runNow('Job')]);

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

    await sleep(350);

    expect(calls).toBeGreaterThanOrEqual(2);
    expect(s.stats()[0]).toMatchObject({ errors: calls, lastError: 'Error: handler failed' });
  });

  it('rejects cron rules, duplicates and bad time scales', () => {
    const s = scheduler(1);
    const t = target(0);
    expect(() => s.add({ name: 'Nightly', expression: 'cron(0 3 * * ? *)', target: t })).toThrow(
      'unsupported locally: cron(0 3 * * ? *)',
    );
    s.add({ name: 'Once', expression: 'rate(1 day)', target: t });
    expect(() => s.add({ name: 'Once', expression: 'rate(1 day)', target: t })).toThrow(/already exists/);
    expect(() => new Scheduler({ timeScale: 0 })).toThrow(/timeScale/);
  });

  it('stop() ends every clock and waits for the run in progress', async () => {
    const s = scheduler(600);
    const job = target(200);
    s.add({ name: 'Job', expression: 'rate(5 minutes)', target: job });
    await sleep(550);
    expect(job.seen.current).toBe(1);

    await s.stop();

    expect(job.seen.current).toBe(0);
    const runs = job.seen.at.length;
    await sleep(700);
    expect(job.seen.at).toHaveLength(runs);
  });

  it('invokes a real bundled function with the event', async () => {
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
