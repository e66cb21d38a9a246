import { performance } from 'node:perf_hooks';

import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';

import { apiEvent, type ApiHandler } from '../harness/api-events';
import { integrationsFile } from '../harness/integrations-file';
import {
  CELL_TABLE_PROPS,
  type LocalAws,
  startLocalAws,
  SYNC_DLQ_PROPS,
  SYNC_QUEUE_PROPS,
} from '../harness/local-aws';
import { newOrderId } from '../lambdas/api/store';
import { createQueueFromCfn, createTableFromCfn } from '../lib/local/assembly/cfn-resources';

import {
  benchDrains,
  DRAIN_BURST,
  DRAIN_RATE,
  drainLimit,
  DRAIN_TENANTS,
  DRAIN_VENDOR_KEY,
  DRAIN_WORKER_ENV,
  drainUserKey,
} from './drain';
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
  /** The sync drain, recovery and lost answers against a rate-limited compliance simulator. @default true */
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
const DRAIN_ORDER_TENANTS = Object.values(DRAIN_TENANTS);
/** The cell stack's default; the test props' 2 would dead-letter messages a rate-limited worker retries. */
const DRAIN_MAX_RECEIVE_COUNT = 8;
const SKUS = Array.from({ length: 20 }, (_, i) => `sku-${String(i + 1).padStart(2, '0')}`);
/** Enough that no SKU runs out in a run, so every 409 would be a bug, not the workload. */
const STOCK = 1_000_000;

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
    await simulator?.setWriteLimit({ ratePerSecond: DRAIN_RATE, burst: DRAIN_BURST });
    await simulator?.configure(
      [DRAIN_VENDOR_KEY],
      Object.fromEntries(DRAIN_ORDER_TENANTS.map((t) => [t, { userKey: drainUserKey(t) }])),
    );
    for (const tenant of DRAIN_ORDER_TENANTS) await simulator?.setWriteLimit(drainLimit(tenant), tenant);
    const simulatorUrl = simulator?.url ?? 'http://127.0.0.1:9';
    const aws = (started = await startLocalAws());
    const { queueUrl, queueArn, dlqUrl } = await createResources(aws);
    const integration = (tenant: string) => ({
      baseUrl: simulatorUrl,
      ...drainLimit(tenant),
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
      ...DRAIN_WORKER_ENV,
      INTEGRATIONS_FILE: integrationsFile(
        Object.fromEntries([...ORDER_TENANTS, ...DRAIN_ORDER_TENANTS].map((t) => [t, integration(t)])),
      ),
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    const { handler } = require('../lambdas/api/handler') as { handler: ApiHandler };
    await stockUp(handler, [...ORDER_TENANTS, ...DRAIN_ORDER_TENANTS]);

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
      results.push(
        ...(await benchDrains({
          aws,
          api: handler,
          simulator,
          queueUrl,
          queueArn,
          tableName: TABLE,
          progress,
          order: (worker, tenant) => randomOrder(worker, [tenant]),
        })),
      );
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

async function createResources(
  aws: LocalAws,
): Promise<{ queueUrl: string; queueArn: string; dlqUrl: string }> {
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
  return { queueUrl, queueArn: await queueArnOf(aws, queueUrl), dlqUrl };
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
