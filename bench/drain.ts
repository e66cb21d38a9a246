/**
 * The sync worker against the rate-limited compliance simulator (its own process), three ways: how fast
 * a backlog drains against the configured POST limit, how long an outage of 200 orders takes to recover
 * from (integration back → every pending order synced), and how many duplicates 1,000 orders leave in
 * the state system when half of the POSTs lose their answer after the commit (`flaky` 50 %).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { type AttributeValue, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';

import { apiEvent, type ApiHandler } from '../harness/api-events';
import type { LocalAws } from '../harness/local-aws';
import { lambdaContext, type SqsHandler } from '../harness/sqs-driver';
import { keys } from '../lib/contracts/cell-items';
import { SYNC_EVENT_SOURCE, userKeyEnvName, VENDOR_KEY_ENV } from '../lib/contracts/integrations';
import type { SimulatorCounters } from '../lib/local/compliance/compliance-simulator';
import { SqsEventSource } from '../lib/local/lambda/sqs-event-source';

import type { BenchResult } from './cell-api';
import type { SimulatorProcess } from './simulator-process';

export const DRAIN_RATE = 20;
export const DRAIN_BURST = 2;
/**
 * The POST limit of the paced run: low enough that the limit, not the table's writes, bounds the drain,
 * so the figure says how much of its POST budget the worker uses when the budget is what binds.
 */
export const PACED_RATE = 2;
const DRAIN_ORDERS = 300;
const PACED_ORDERS = 400;
const RECOVERY_ORDERS = 200;
const FLAKY_ORDERS = 1000;
const FLAKY_SHARE = 0.5;
/** Invocations at once: the event source's maximum concurrency. */
const DRAIN_POLLERS = 4;
/** Metrc takes at most this many receipts per POST (metrc.md §4): the most a POST token can carry. */
const RECEIPTS_PER_POST = 10;
const SEED_CONCURRENCY = 16;
const DRAIN_DEADLINE_MS = 60_000;
const FLAKY_DEADLINE_MS = 240_000;
const CHECK_MS = 100;
export const DRAIN_VENDOR_KEY = 'bench-vendor-key';

/** The tenants of the three runs, each with its own facility (license) and user key. */
export const DRAIN_TENANTS = {
  drain: 'drain-dispensary',
  paced: 'paced-dispensary',
  recovery: 'recovery-dispensary',
  flaky: 'flaky-dispensary',
} as const;
export const drainUserKey = (tenant: string) => `bench-user-key-${tenant}`;
/** The POST limit of a tenant's integration (the simulator's facility and the worker's bucket alike). */
export const drainLimit = (tenant: string) => ({
  ratePerSecond: tenant === DRAIN_TENANTS.paced ? PACED_RATE : DRAIN_RATE,
  burst: DRAIN_BURST,
});

/** The breaker's cool-down in these runs: short, so the recovery is mostly the drain, not the wait. */
const COOLDOWN_MS = 2000;
/**
 * The sync worker's settings, set before its handler is loaded: the breaker's cool-down, and a short
 * timeout, as a lost answer of the `hang` kind costs one.
 */
export const DRAIN_WORKER_ENV = {
  BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
  COMPLIANCE_TIMEOUT_MS: '1000',
};

export interface DrainBench {
  readonly aws: LocalAws;
  readonly api: ApiHandler;
  readonly simulator: SimulatorProcess;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly tableName: string;
  readonly progress: (line: string) => void;
  /** Orders of a tenant for the API: one line of a SKU the benchmark stocked. */
  readonly order: (worker: number, tenant: string) => { tenant: string; body: unknown };
}

/** The three runs, one after the other, each on a queue holding only its own backlog. */
export async function benchDrains(bench: DrainBench): Promise<BenchResult[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after its environment is set
  const { handler } = require('../lambdas/sync/handler') as { handler: SqsHandler };
  process.env[VENDOR_KEY_ENV] = DRAIN_VENDOR_KEY;
  for (const tenant of Object.values(DRAIN_TENANTS))
    process.env[userKeyEnvName(tenant)] = drainUserKey(tenant);
  const results: BenchResult[] = [];
  const runs = [
    { tenant: DRAIN_TENANTS.drain, orders: DRAIN_ORDERS, name: 'sync.drain' },
    { tenant: DRAIN_TENANTS.paced, orders: PACED_ORDERS, name: 'sync.drain.paced' },
  ];
  for (const [i, run] of runs.entries()) {
    const { ratePerSecond, burst } = drainLimit(run.tenant);
    bench.progress(
      `drain [${i + 1}/4]: ${run.orders} pending orders, ${ratePerSecond} POSTs/s burst ${burst}, ${DRAIN_POLLERS} pollers`,
    );
    results.push(...(await drainRate(bench, handler, run)));
  }
  bench.progress(`drain [3/4]: recovery after an outage of ${RECOVERY_ORDERS} orders`);
  results.push(...(await recovery(bench, handler)));
  bench.progress(`drain [4/4]: ${FLAKY_ORDERS} orders, flaky ${FLAKY_SHARE * 100} %`);
  results.push(...(await flaky(bench, handler)));
  return results;
}

/** Only this run's backlog may be on the queue: the orders phase, or a run before, left messages there. */
async function onlyThisRun(bench: DrainBench): Promise<void> {
  await bench.aws.sqsClient.send(new PurgeQueueCommand({ QueueUrl: bench.queueUrl }));
}

/** A backlog of `count` orders through the API (each a real PENDING order with its message). */
async function seed(bench: DrainBench, tenant: string, count: number): Promise<void> {
  let seeded = 0;
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async (_, worker) => {
      while (seeded < count) {
        seeded++;
        const res = await bench.api(apiEvent('POST', '/orders', bench.order(worker, tenant)));
        if (res.statusCode !== 201) throw new Error(`seeding ${tenant}: an order answered ${res.statusCode}`);
      }
    }),
  );
}

/** The local event source mapping, with the cell stack's batch settings, invoking the handler in process. */
function workers(bench: DrainBench, handler: SqsHandler): SqsEventSource {
  return new SqsEventSource({
    sqs: bench.aws.sqsClient,
    queueUrl: bench.queueUrl,
    queueArn: bench.queueArn,
    target: {
      invoke: async (event) => {
        const began = performance.now();
        try {
          const result = await handler(event, lambdaContext('sync-worker'));
          return { result, durationMs: performance.now() - began, coldStart: false };
        } catch (error) {
          const errorType = (error as Error).name;
          const errorMessage = (error as Error).message;
          return {
            error: { errorType, errorMessage },
            durationMs: performance.now() - began,
            coldStart: false,
          };
        }
      },
    },
    batchSize: SYNC_EVENT_SOURCE.batchSize,
    maximumBatchingWindowSeconds: SYNC_EVENT_SOURCE.maxBatchingWindowSeconds,
    maximumConcurrency: DRAIN_POLLERS,
    reportBatchItemFailures: true,
    log: bench.progress,
  });
}

/** Epoch ms once `done` holds (checked every CHECK_MS), or undefined at the deadline. */
async function until(done: () => Promise<boolean>, deadlineMs: number): Promise<number | undefined> {
  const deadline = performance.now() + deadlineMs;
  while (performance.now() < deadline) {
    if (await done()) return performance.now();
    await sleep(CHECK_MS);
  }
  return undefined;
}

/**
 * Where the POST budget went unused: the gaps between POSTs longer than two tokens' time, their total
 * beyond one token's time each, and the longest, with its place in the drain (POST k of n).
 */
function idleGaps(times: readonly number[], ratePerSecond: number): string {
  const sorted = [...times].sort((a, b) => a - b);
  const tokenMs = 1000 / ratePerSecond;
  const gaps = sorted.slice(1).map((t, i) => ({ ms: t - sorted[i], after: i + 1 }));
  const long = gaps.filter((g) => g.ms > 2 * tokenMs);
  if (long.length === 0) return 'no gap between POSTs over two tokens';
  const lost = long.reduce((sum, g) => sum + g.ms - tokenMs, 0) / 1000;
  const worst = long.reduce((a, b) => (b.ms > a.ms ? b : a));
  return (
    `${long.length} gaps between POSTs over two tokens, ${round(lost, 1)} s of budget unused; ` +
    `longest ${round(worst.ms / 1000, 1)} s after POST ${worst.after} of ${sorted.length} ` +
    `(${long
      .slice(0, 8)
      .map((g) => `${round(g.ms / 1000, 1)} s after ${g.after}`)
      .join(', ')}${long.length > 8 ? ', ...' : ''})`
  );
}

/** A backlog of `orders` for `tenant`, drained against its POST limit: the pace, in orders and in POSTs. */
async function drainRate(
  bench: DrainBench,
  handler: SqsHandler,
  run: { readonly tenant: string; readonly orders: number; readonly name: string },
): Promise<BenchResult[]> {
  const { simulator } = bench;
  const { tenant, orders, name } = run;
  const { ratePerSecond, burst } = drainLimit(tenant);
  await onlyThisRun(bench);
  await seed(bench, tenant, orders);
  await simulator.reset();
  const driver = workers(bench, handler);
  const since = Date.now();
  const start = performance.now();
  driver.start();
  let finishedAt: number | undefined;
  try {
    finishedAt = await until(async () => (await pendingCount(bench, tenant)) === 0, DRAIN_DEADLINE_MS);
  } finally {
    await driver.stop();
  }
  const [counters, receipts, calls] = await Promise.all([
    simulator.counters(),
    simulator.receipts(tenant),
    simulator.calls(since),
  ]);
  const elapsedS = ((finishedAt ?? start + DRAIN_DEADLINE_MS) - start) / 1000;
  const active = receipts.filter((r) => !r.ArchivedDate);
  const duplicates = active.length - new Set(active.map((r) => r.ExternalReceiptNumber)).size;
  const rate = active.length / elapsedS;
  const postTimes = calls.filter((c) => c.method === 'POST').map((c) => c.at);
  const posts = postTimes.length;
  const gets = calls.filter((c) => c.method === 'GET').length;
  // The pace while the drain is under way, first POST to last (the wait for the first poll and the
  // batching window, and the settling after the last POST, are in `elapsedS` and the recovery figure).
  const spanS = posts > 1 ? (Math.max(...postTimes) - Math.min(...postTimes)) / 1000 : 0;
  const idle = idleGaps(postTimes, ratePerSecond);
  const steady = spanS > 0 ? (posts - 1) / spanS : 0;
  // The most the POST limit lets through: every token a full POST, over the same time.
  const ceiling = ratePerSecond * RECEIPTS_PER_POST;
  const stillPending = await pendingCount(bench, tenant);
  const outcome =
    finishedAt === undefined
      ? `NOT drained: ${active.length}/${orders} recorded in ${DRAIN_DEADLINE_MS / 1000} s`
      : `${orders} in ${elapsedS.toFixed(1)} s`;
  const { batches, received, deleted, maxReceiveCount } = driver.stats();
  return [
    {
      name,
      value: round(rate),
      unit: 'msgs/s',
      notes:
        `${outcome}; ${posts} POSTs (${round(active.length / Math.max(1, posts))} receipts each) = ` +
        `${round(posts / elapsedS)} POSTs/s, ${gets} GETs; ${batches} batches, ${received - deleted} records retried ` +
        `(a record received at most ${maxReceiveCount} times), ` +
        `${duplicates} duplicate receipts` +
        (counters.rejected > 0 ? `; ${counters.rejected} receipts refused (400/401)` : '') +
        (stillPending > 0 ? `; ${stillPending} orders still PENDING` : ''),
    },
    {
      name: `${name}.vs-post-limit`,
      value: round(steady / ratePerSecond, 2),
      unit: 'x',
      notes:
        `POSTs/s from the first POST to the last (${round(steady)}) over the configured ${ratePerSecond}/s ` +
        `(burst ${burst}); over the whole drain ${round(posts / elapsedS / ratePerSecond, 2)} x; orders/s over ` +
        `the POST limit: ${round(rate / ratePerSecond, 2)} x; receipts/s over the ceiling ` +
        `(${ratePerSecond} POSTs/s x ${RECEIPTS_PER_POST}): ${round(rate / ceiling, 2)} x; ${idle}`,
    },
    {
      name: `${name}.rate-limited`,
      value: counters.rateLimited.writes + counters.rateLimited.reads,
      unit: '429s',
      notes:
        `answered by the compliance simulator during the drain: ${counters.rateLimited.writes} to POSTs, ` +
        `${counters.rateLimited.reads} to GETs`,
    },
  ];
}

/**
 * The integration down while 200 orders come in: the breaker opens, every order stays PENDING. Then it
 * is back: timed until every order is synced (the probe at the cool-down's end, then the drain).
 */
async function recovery(bench: DrainBench, handler: SqsHandler): Promise<BenchResult[]> {
  const { simulator } = bench;
  const tenant = DRAIN_TENANTS.recovery;
  await onlyThisRun(bench);
  await simulator.reset();
  await simulator.setFault('down');
  const driver = workers(bench, handler);
  driver.start();
  let recoveredAt: number | undefined;
  let upAt = performance.now();
  try {
    await seed(bench, tenant, RECOVERY_ORDERS);
    const opened = await until(async () => (await breakerState(bench, tenant)) === 'open', DRAIN_DEADLINE_MS);
    if (opened === undefined) throw new Error('the breaker did not open during the outage');
    await until(async () => (await pendingCount(bench, tenant)) === RECOVERY_ORDERS, DRAIN_DEADLINE_MS);
    await simulator.setFault('none');
    upAt = performance.now();
    recoveredAt = await until(async () => (await pendingCount(bench, tenant)) === 0, DRAIN_DEADLINE_MS);
  } finally {
    await simulator.setFault('none');
    await driver.stop();
  }
  const counters = await simulator.counters();
  const held = await heldOnce(bench, tenant, RECOVERY_ORDERS);
  const bound = COOLDOWN_MS / 1000 + RECOVERY_ORDERS / (DRAIN_RATE * RECEIPTS_PER_POST);
  return [
    {
      name: 'sync.recovery',
      value: recoveredAt === undefined ? null : round((recoveredAt - upAt) / 1000),
      unit: 's',
      notes:
        (recoveredAt === undefined
          ? `NOT recovered in ${DRAIN_DEADLINE_MS / 1000} s (${await stalled(bench, tenant)}${await pendingCount(bench, tenant)} pending); `
          : '') +
        `integration back -> all ${RECOVERY_ORDERS} outage orders synced, no reconciler; bound ` +
        `cool-down ${COOLDOWN_MS / 1000} s + backlog / (${DRAIN_RATE} POSTs/s x ${RECEIPTS_PER_POST}) = ${round(bound)} s; ` +
        `${held.duplicates} duplicates, ${held.missing} missing, ${rateLimited(counters)}`,
    },
  ];
}

/** 1,000 orders while half of the POSTs lose their answer after the state system committed them. */
async function flaky(bench: DrainBench, handler: SqsHandler): Promise<BenchResult[]> {
  const { simulator } = bench;
  const tenant = DRAIN_TENANTS.flaky;
  await onlyThisRun(bench);
  await simulator.reset();
  await simulator.setFault('flaky', FLAKY_SHARE);
  const driver = workers(bench, handler);
  const start = performance.now();
  driver.start();
  let doneAt: number | undefined;
  try {
    await seed(bench, tenant, FLAKY_ORDERS);
    doneAt = await until(async () => (await pendingCount(bench, tenant)) === 0, FLAKY_DEADLINE_MS);
  } finally {
    await simulator.setFault('none');
    await driver.stop();
  }
  const counters = await simulator.counters();
  const held = await heldOnce(bench, tenant, FLAKY_ORDERS);
  return [
    {
      name: 'sync.flaky.duplicates',
      value: held.duplicates,
      unit: 'receipts',
      notes:
        `extra active receipts in the state system after ${FLAKY_ORDERS} orders, flaky ${FLAKY_SHARE * 100} % ` +
        `(${counters.answersLost} answers lost after the commit); ${held.missing} missing; ` +
        (doneAt === undefined
          ? `NOT all synced in ${FLAKY_DEADLINE_MS / 1000} s (${await stalled(bench, tenant)}${await pendingCount(bench, tenant)} pending)`
          : `all synced in ${round((doneAt - start) / 1000)} s`) +
        `; ${counters.requests.post} POSTs, ${counters.requests.get} GETs, ${rateLimited(counters)}`,
    },
  ];
}

const rateLimited = (c: SimulatorCounters) =>
  `429s: ${c.rateLimited.writes} to POSTs, ${c.rateLimited.reads} to GETs`;

/** Of the tenant's `count` orders: extra active receipts, and orders with none. */
async function heldOnce(
  bench: DrainBench,
  tenant: string,
  count: number,
): Promise<{ duplicates: number; missing: number }> {
  const active = (await bench.simulator.receipts(tenant)).filter((r) => !r.ArchivedDate);
  const distinct = new Set(active.map((r) => r.ExternalReceiptNumber)).size;
  return { duplicates: active.length - distinct, missing: count - distinct };
}

async function item(bench: DrainBench, key: { pk: string; sk: string }) {
  const { Item } = await bench.aws.ddbClient.send(
    new GetItemCommand({
      TableName: bench.tableName,
      Key: { pk: { S: key.pk }, sk: { S: key.sk } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

async function breakerState(bench: DrainBench, tenant: string): Promise<string | undefined> {
  return (await item(bench, keys.breaker(tenant)))?.state?.S;
}

/** What a drain that did not finish was left with: the breaker, the drain's cursor, the queue. */
async function stalled(bench: DrainBench, tenant: string): Promise<string> {
  const [breaker, integration, queue] = await Promise.all([
    item(bench, keys.breaker(tenant)),
    item(bench, keys.integration(tenant)),
    bench.aws.sqsClient.send(
      new GetQueueAttributesCommand({
        QueueUrl: bench.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    ),
  ]);
  const a = queue.Attributes ?? {};
  return (
    `at ${Date.now()}: breaker ${breaker?.state?.S ?? 'none'} (opened ${breaker?.openedAt?.N ?? '-'}, ` +
    `probe started ${breaker?.probeStartedAt?.N ?? '-'}, probe due ${breaker?.probeDueAt?.N ?? '-'}), ` +
    `drain cursor ${integration?.drainCursor?.S ? 'set' : 'none'}, queue ${a.ApproximateNumberOfMessages ?? '?'} ` +
    `visible ${a.ApproximateNumberOfMessagesNotVisible ?? '?'} in flight; `
  );
}

async function pendingCount(bench: DrainBench, tenantId: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await bench.aws.ddbClient.send(
      new QueryCommand({
        TableName: bench.tableName,
        IndexName: 'pending',
        KeyConditionExpression: 'pendingTenant = :t',
        ExpressionAttributeValues: { ':t': { S: tenantId } },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
