import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { type AttributeValue, PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';

import { apiEvent, type ApiHandler } from '../harness/api-events';
import {
  CELL_TABLE_PROPS,
  type LocalAws,
  startLocalAws,
  SYNC_DLQ_PROPS,
  SYNC_QUEUE_PROPS,
} from '../harness/local-aws';
import { SqsDriver, type SqsHandler } from '../harness/sqs-driver';
import { newOrderId } from '../lambdas/api/store';
import { apiKeyEnvName } from '../lambdas/sync/decide';
import { createQueueFromCfn, createTableFromCfn } from '../lib/local/assembly/cfn-resources';

import { SimulatorProcess } from './simulator-process';

/** One measured figure; `value` is null when the benchmark was skipped (the notes say why). */
export interface BenchResult {
  readonly name: string;
  readonly value: number | null;
  readonly unit: string;
  readonly notes: string;
}

export interface CellApiBenchOptions {
  /** Measured seconds per phase (after a short warm-up). @default 10 */
  readonly seconds?: number;
  /** Requests in flight at once, in the PutItem and the orders phases. @default 16 */
  readonly concurrency?: number;
  /** Receives one line per phase. @default a line on stderr */
  readonly progress?: (line: string) => void;
  /** PutItem/s vs orders/s. @default true */
  readonly orders?: boolean;
  /** The sync drain against a rate-limited compliance simulator. @default true */
  readonly drain?: boolean;
}

export const DEFAULT_SECONDS = 10;
export const DEFAULT_CONCURRENCY = 16;
export const MAX_SECONDS = 600;
export const MAX_CONCURRENCY = 1024;

const TABLE = 'bench-cell';
const QUEUE = 'bench-cell-sync';
const DLQ = 'bench-cell-sync-dlq';
/** Phase 1 writes under its own partition so the API tenants' data and indexes stay as the API left them. */
const RAW_TENANT = 'raw-put-item';
const ORDER_TENANTS = ['greenleaf', 'high-noon', 'sativa-springs', 'kind-leaf'];
const SKUS = Array.from({ length: 20 }, (_, i) => `sku-${String(i + 1).padStart(2, '0')}`);
/** Enough that no SKU runs out in a run, so every 409 would be a bug, not the workload. */
const STOCK = 1_000_000;

const DRAIN_TENANT = 'drain-dispensary';
const DRAIN_ORDERS = 300;
const DRAIN_RATE = 20;
const DRAIN_BURST = 2;
const DRAIN_POLLERS = 4;
/** What Lambda's SQS event source would hand the worker per invocation (the cell stack's batchSize). */
const DRAIN_BATCH = 10;
const SEED_CONCURRENCY = 16;
const DRAIN_DEADLINE_MS = 45_000;
const DRAIN_CHECK_MS = 100;
const DRAIN_API_KEY = 'bench-drain-key';
/** The cell stack's default; the test props' 2 would dead-letter messages a rate-limited worker retries. */
const DRAIN_MAX_RECEIVE_COUNT = 8;

/**
 * Measures, side by side against one in-memory DynamoDB Local: raw PutItem/s (the ceiling), orders/s
 * through the cell's API handler in process (with fauxqs, so the enqueue is real), and how fast the sync
 * worker drains a backlog against a rate-limited compliance API (the simulator in its own process).
 */
export async function benchCellApi(options: CellApiBenchOptions = {}): Promise<BenchResult[]> {
  const seconds = options.seconds ?? DEFAULT_SECONDS;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const progress = options.progress ?? ((line: string) => process.stderr.write(`bench: ${line}\n`));
  const runOrders = options.orders ?? true;
  const runDrain = options.drain ?? true;
  if (!(Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_SECONDS)) {
    throw new RangeError(`seconds must be a number > 0 and <= ${MAX_SECONDS}, got ${seconds}`);
  }
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= MAX_CONCURRENCY)) {
    throw new RangeError(`concurrency must be an integer from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`);
  }
  const durationMs = seconds * 1000;
  // Long enough for the JVM and the SDK's connection pools to settle; never counted.
  const warmupMs = Math.min(2000, durationMs / 5);

  let simulator: SimulatorProcess | undefined;
  let started: LocalAws | undefined;
  try {
    progress(
      `starting DynamoDB Local (in memory), fauxqs${runDrain ? ' and the compliance simulator (own process)' : ''}`,
    );
    // Out of process: in this one, the workers' event-loop stalls would bunch its arrivals (see SimulatorProcess).
    simulator = runDrain ? await SimulatorProcess.start() : undefined;
    await simulator?.setRateLimit(DRAIN_RATE, DRAIN_BURST);
    const simulatorUrl = simulator?.url ?? 'http://127.0.0.1:9';
    const aws = (started = await startLocalAws());
    const { queueUrl, dlqUrl } = await createResources(aws);
    const integration = (tenant: string) => ({
      baseUrl: simulatorUrl,
      ratePerSecond: DRAIN_RATE,
      burst: DRAIN_BURST,
      apiKeySecret: `bench/${tenant}`,
    });
    // The handlers read their environment when they are loaded, so they are required only now (and by
    // require(), which the CLI's TypeScript loader, tsx/cjs, compiles; it leaves import() to Node).
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: aws.dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: aws.sqs.endpoint,
      CELL_ID: 'bench-a',
      RELEASE: 'v-bench',
      TABLE_NAME: TABLE,
      QUEUE_URL: queueUrl,
      DLQ_URL: dlqUrl,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      INTEGRATIONS: JSON.stringify(
        Object.fromEntries([...ORDER_TENANTS, DRAIN_TENANT].map((t) => [t, integration(t)])),
      ),
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const { handler } = require('../lambdas/api/handler') as { handler: ApiHandler };
    await stockUp(handler, [...ORDER_TENANTS, DRAIN_TENANT]);

    const results: BenchResult[] = [];
    if (runOrders) {
      const settings = `${concurrency} concurrent, ${seconds} s after ${warmupMs / 1000} s warm-up`;
      progress(`cell-api [1/2] raw PutItem: ${settings}`);
      const put = (worker: number) => aws.ddbClient.send(new PutItemCommand(rawOrder(worker)));
      await closedLoop(concurrency, warmupMs, put);
      const raw = await closedLoop(concurrency, durationMs, put);

      progress(`cell-api [2/2] POST /orders through the API handler: ${settings}`);
      const order = async (worker: number) => {
        const res = await handler(apiEvent('POST', '/orders', randomOrder(worker)));
        if (res.statusCode !== 201) throw new StatusError(res.statusCode ?? 0);
      };
      await closedLoop(concurrency, warmupMs, order);
      const orders = await closedLoop(concurrency, durationMs, order);
      results.push(...ordersResults(raw, orders, concurrency));
    }

    if (simulator) {
      progress(
        `drain: ${DRAIN_ORDERS} pending orders, ${DRAIN_RATE}/s burst ${DRAIN_BURST}, ${DRAIN_POLLERS} pollers`,
      );
      results.push(...(await benchDrain(aws, handler, simulator, queueUrl)));
    }
    return results;
  } finally {
    progress(`stopping DynamoDB Local, fauxqs${simulator ? ' and the compliance simulator' : ''}`);
    await Promise.allSettled([simulator?.stop(), started?.stop()]);
  }
}

function ordersResults(raw: LoopResult, orders: LoopResult, concurrency: number): BenchResult[] {
  return [
    {
      name: 'dynamodb-local.put-item',
      value: round(raw.perSecond),
      unit: 'ops/s',
      notes: `ceiling: order-shaped items (both GSIs), distinct keys, ${concurrency} in flight${failures(raw)}`,
    },
    {
      name: 'cell-api.orders',
      value: round(orders.perSecond),
      unit: 'orders/s',
      notes:
        `POST /orders in process, 1 line, ${SKUS.length} SKUs x ${ORDER_TENANTS.length} tenants, ` +
        `enqueue to fauxqs, ${concurrency} in flight`,
    },
    {
      name: 'cell-api.orders.vs-put-item',
      value: raw.perSecond > 0 ? round(orders.perSecond / raw.perSecond, 3) : null,
      unit: 'x',
      notes: 'orders/s over PutItem/s: an order is 1 GetItem, 1 TransactWriteItems (2 items), 1 SendMessage',
    },
    {
      name: 'cell-api.orders.p50',
      value: percentile(orders.latencies, 0.5),
      unit: 'ms',
      notes: 'latency of successful orders',
    },
    {
      name: 'cell-api.orders.p99',
      value: percentile(orders.latencies, 0.99),
      unit: 'ms',
      notes: 'latency of successful orders',
    },
    {
      name: 'cell-api.orders.errors',
      value: orders.failed,
      unit: 'errors',
      notes:
        orders.failed === 0
          ? `of ${orders.ok} orders`
          : `of ${orders.ok + orders.failed}: ${breakdown(orders)}`,
    },
  ];
}

async function createResources(aws: LocalAws): Promise<{ queueUrl: string; dlqUrl: string }> {
  await createTableFromCfn(aws.ddbClient, TABLE, CELL_TABLE_PROPS);
  const dlqUrl = await createQueueFromCfn(aws.sqsClient, DLQ, SYNC_DLQ_PROPS, () => '');
  const dlqArn = await queueArnOf(aws, dlqUrl);
  const queueUrl = await createQueueFromCfn(
    aws.sqsClient,
    QUEUE,
    {
      ...SYNC_QUEUE_PROPS,
      RedrivePolicy: { ...SYNC_QUEUE_PROPS.RedrivePolicy, maxReceiveCount: DRAIN_MAX_RECEIVE_COUNT },
    },
    () => dlqArn,
  );
  return { queueUrl, dlqUrl };
}

async function queueArnOf(aws: LocalAws, queueUrl: string): Promise<string> {
  const out = await aws.sqsClient.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`fauxqs returned no QueueArn for ${queueUrl}`);
  return arn;
}

async function stockUp(handler: ApiHandler, tenants: readonly string[]): Promise<void> {
  await Promise.all(
    tenants.flatMap((tenant) =>
      SKUS.map(async (sku, i) => {
        const res = await handler(
          apiEvent('PUT', `/inventory/${sku}`, {
            tenant,
            body: { quantity: STOCK, priceCents: 500 + 100 * i, name: `Item ${sku}` },
          }),
        );
        if (res.statusCode !== 200) throw new Error(`stocking ${tenant}/${sku} answered ${res.statusCode}`);
      }),
    ),
  );
}

let rawSequence = 0;

/** An item with the attributes the API writes for a PENDING order, so both GSIs take a write too. */
function rawOrder(worker: number) {
  const now = Date.now();
  const id = `${newOrderId(now)}${(rawSequence++).toString(36)}`;
  const createdAt = new Date(now).toISOString();
  const tenant = `${RAW_TENANT}-${worker % ORDER_TENANTS.length}`;
  const Item: Record<string, AttributeValue> = {
    pk: { S: tenant },
    sk: { S: `ORDER#${id}` },
    type: { S: 'order' },
    schemaVersion: { N: '1' },
    id: { S: id },
    items: {
      L: [
        { M: { sku: { S: SKUS[worker % SKUS.length] }, quantity: { N: '1' }, unitPriceCents: { N: '500' } } },
      ],
    },
    totalCents: { N: '500' },
    syncStatus: { S: 'PENDING' },
    createdAt: { S: createdAt },
    statusPk: { S: `${tenant}#PENDING` },
    pendingTenant: { S: tenant },
    pendingSince: { S: createdAt },
  };
  return { TableName: TABLE, Item, ConditionExpression: 'attribute_not_exists(pk)' };
}

function randomOrder(worker: number, tenants: readonly string[] = ORDER_TENANTS) {
  const tenant = tenants[Math.floor(Math.random() * tenants.length)];
  const sku = SKUS[Math.floor(Math.random() * SKUS.length)];
  return { tenant, body: { items: [{ sku, quantity: 1 }], customerId: `c-${worker}` } };
}

class StatusError extends Error {
  constructor(readonly status: number) {
    super(`answered ${status}`);
  }
}

interface LoopResult {
  readonly ok: number;
  readonly failed: number;
  /** Failure counts by HTTP status, or by error name for thrown errors. */
  readonly failures: ReadonlyMap<string, number>;
  /** Milliseconds, of successful operations only. */
  readonly latencies: number[];
  readonly perSecond: number;
}

/**
 * `concurrency` workers, each starting its next operation as soon as the last one finished, until
 * `durationMs` is over. Operations still running then are waited for and counted: the rate is over
 * the time until the last one finished.
 */
async function closedLoop(
  concurrency: number,
  durationMs: number,
  op: (worker: number) => Promise<unknown>,
): Promise<LoopResult> {
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let failed = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const began = performance.now();
        try {
          await op(worker);
          latencies.push(performance.now() - began);
        } catch (error) {
          failed++;
          const key = error instanceof StatusError ? String(error.status) : (error as Error).name;
          failures.set(key, (failures.get(key) ?? 0) + 1);
        }
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  return {
    ok: latencies.length,
    failed,
    failures,
    latencies,
    perSecond: (latencies.length * 1000) / elapsedMs,
  };
}

/** Nearest-rank percentile, in ms to 0.1; null when nothing succeeded. */
function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]);
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits));

function breakdown(result: LoopResult): string {
  return [...result.failures].map(([what, n]) => `${n} x ${what}`).join(', ');
}

const failures = (result: LoopResult): string => (result.failed === 0 ? '' : `; ${breakdown(result)} failed`);

/**
 * Seeds the backlog through the API (so each order is a real PENDING order with its message), then
 * lets DRAIN_POLLERS pollers of the local SQS event source hand batches to the worker. Drained means
 * every order's receipt was accepted by the compliance simulator.
 */
async function benchDrain(
  aws: LocalAws,
  api: ApiHandler,
  simulator: SimulatorProcess,
  queueUrl: string,
): Promise<BenchResult[]> {
  // Only the backlog below may be on the queue: the orders phase enqueued thousands of messages.
  await aws.sqsClient.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  let seeded = 0;
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async (_, worker) => {
      while (seeded < DRAIN_ORDERS) {
        seeded++;
        const res = await api(apiEvent('POST', '/orders', randomOrder(worker, [DRAIN_TENANT])));
        if (res.statusCode !== 201)
          throw new Error(`seeding the drain backlog: an order answered ${res.statusCode}`);
      }
    }),
  );
  await simulator.reset();

  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after its environment is set
  const { handler: worker } = require('../lambdas/sync/handler') as { handler: SqsHandler };
  process.env[apiKeyEnvName(DRAIN_TENANT)] = DRAIN_API_KEY;

  const driver = new SqsDriver({
    client: aws.sqsClient,
    queueUrl,
    handler: worker,
    concurrency: DRAIN_POLLERS,
    batchSize: DRAIN_BATCH,
  });
  const start = performance.now();
  const deadline = start + DRAIN_DEADLINE_MS;
  let finishedAt: number | undefined;
  driver.start();
  try {
    while (finishedAt === undefined && performance.now() < deadline) {
      await sleep(DRAIN_CHECK_MS);
      if ((await simulator.counters()).accepted >= DRAIN_ORDERS) finishedAt = performance.now();
    }
  } finally {
    await driver.stop();
  }
  const counters = await simulator.counters();
  const elapsedS = ((finishedAt ?? deadline) - start) / 1000;
  const rate = counters.accepted / elapsedS;
  const stillPending = await pendingCount(aws, DRAIN_TENANT);
  const idealS = (DRAIN_ORDERS - DRAIN_BURST) / DRAIN_RATE;
  const outcome =
    finishedAt === undefined
      ? `NOT drained: ${counters.accepted}/${DRAIN_ORDERS} accepted in ${DRAIN_DEADLINE_MS / 1000} s`
      : `${DRAIN_ORDERS} in ${elapsedS.toFixed(1)} s (at exactly ${DRAIN_RATE}/s: ${idealS.toFixed(1)} s)`;
  const { invocations, failed } = driver.stats;
  return [
    {
      name: 'sync.drain',
      value: round(rate),
      unit: 'msgs/s',
      notes:
        `${round(rate / DRAIN_RATE, 2)} x the configured ${DRAIN_RATE}/s (burst ${DRAIN_BURST}); ${outcome}; ` +
        `${invocations} batches, ${failed} records retried, ${counters.duplicates} duplicate receipts` +
        (counters.rejected > 0 ? `; ${counters.rejected} receipts refused (400/401)` : '') +
        (stillPending > 0 ? `; ${stillPending} orders still PENDING` : ''),
    },
    {
      name: 'sync.drain.rate-limited',
      value: counters.rateLimited,
      unit: '429s',
      notes: `answered by the compliance simulator (${DRAIN_RATE}/s, burst ${DRAIN_BURST}) during the drain`,
    },
  ];
}

async function pendingCount(aws: LocalAws, tenantId: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const out = await aws.ddbClient.send(
      new QueryCommand({
        TableName: TABLE,
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
