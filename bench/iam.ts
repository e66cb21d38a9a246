/**
 * What IAM enforcement costs (issue 11): the same fleet started with enforcement on and with
 * `--no-enforce-iam`, one after the other in one run: the start-up time of `bulkhead local up` (synth
 * included), router requests/s (`GET /inventory/{sku}`, one GetItem in the cell) and orders/s
 * (`POST /orders`, a transaction in the cell), both through the router at saturation with autocannon.
 */
import autocannon from 'autocannon';

import { send } from '../harness/http-client';
import { startPlatform, type StartOptions } from '../harness/platform-runner';
import type { PlatformState } from '../lib/local/platform/platform-state';

import type { BenchResult } from './cell-api';

export interface IamBenchOptions {
  readonly fleet: StartOptions['fleet'];
  /** Measured seconds per load run. @default 10 */
  readonly seconds?: number;
  /** Connections of the load runs. @default 16 */
  readonly connections?: number;
  readonly progress: (line: string) => void;
}

type LoadOptions = Parameters<typeof autocannon>[0];

const SKU = 'bench-iam-sku';
const WARMUP_SECONDS = 3;

interface Measured {
  readonly startupSeconds: number;
  readonly requestsPerSecond: number;
  readonly ordersPerSecond: number;
  readonly failed: number;
}

/** Successful answers per second of `seconds` of load; failures are counted, not hidden. */
async function perSecond(
  request: Pick<LoadOptions, 'url' | 'method' | 'headers' | 'body'>,
  seconds: number,
  connections: number,
): Promise<{ perSecond: number; failed: number }> {
  const result = await autocannon({ ...request, connections, duration: seconds, timeout: 10 });
  return { perSecond: result['2xx'] / result.duration, failed: result.non2xx + result.errors };
}

async function measure(state: PlatformState, seconds: number, connections: number) {
  const [, tenant] = Object.entries(state.tenants)[0];
  const auth = { authorization: `Bearer ${tenant.apiKey}`, 'content-type': 'application/json' };
  const stocked = await send(state.router, {
    method: 'PUT',
    path: `/inventory/${SKU}`,
    headers: auth,
    body: JSON.stringify({ quantity: 1_000_000, priceCents: 100, name: 'Bench item' }),
  });
  if (stocked.status !== 200) throw new Error(`stocking ${SKU} answered ${stocked.status}: ${stocked.text}`);
  const read = { url: `${state.router}/inventory/${SKU}`, headers: auth };
  const order = {
    url: `${state.router}/orders`,
    method: 'POST' as const,
    headers: auth,
    body: JSON.stringify({ items: [{ sku: SKU, quantity: 1 }] }),
  };
  await perSecond(read, WARMUP_SECONDS, connections);
  const reads = await perSecond(read, seconds, connections);
  await perSecond(order, WARMUP_SECONDS, connections);
  const orders = await perSecond(order, seconds, connections);
  return { reads, orders };
}

async function run(options: IamBenchOptions, enforceIam: boolean): Promise<Measured> {
  const mode = enforceIam ? 'on' : 'off';
  const seconds = options.seconds ?? 10;
  const connections = options.connections ?? 16;
  options.progress(`iam [${mode}]: starting the platform${enforceIam ? '' : ' with --no-enforce-iam'}`);
  const started = performance.now();
  const platform = await startPlatform({
    fleet: options.fleet,
    label: `bench-iam-${mode}`,
    enforceIam,
    log: options.progress,
  });
  const startupSeconds = (performance.now() - started) / 1000;
  try {
    options.progress(`iam [${mode}]: GET and POST /orders through the router, ${connections} connections`);
    const { reads, orders } = await measure(platform.state, seconds, connections);
    return {
      startupSeconds,
      requestsPerSecond: reads.perSecond,
      ordersPerSecond: orders.perSecond,
      failed: reads.failed + orders.failed,
    };
  } finally {
    await platform.stop();
  }
}

const round = (value: number): number => Number(value.toFixed(1));

/** One mode's figures, or why it has none: a start that fails in one mode still lets the other measure. */
async function attempt(options: IamBenchOptions, enforceIam: boolean): Promise<Measured | Error> {
  try {
    return await run(options, enforceIam);
  } catch (error) {
    options.progress(`iam [${enforceIam ? 'on' : 'off'}]: FAILED: ${(error as Error).message}`);
    return error as Error;
  }
}

const failedRow = (mode: string, error: Error): BenchResult => ({
  name: `iam.${mode}.failed`,
  value: null,
  unit: '-',
  notes: `failed: ${error.message.split('\n').slice(0, 2).join(' ').slice(0, 300)}`,
});

export async function benchIam(options: IamBenchOptions): Promise<BenchResult[]> {
  const off = await attempt(options, false);
  const on = await attempt(options, true);
  if (on instanceof Error || off instanceof Error)
    return [
      ...(off instanceof Error ? [failedRow('off', off)] : rowsOf(options, 'off', off)),
      ...(on instanceof Error ? [failedRow('on', on)] : rowsOf(options, 'on', on)),
    ];
  return [...rowsOf(options, 'on', on), ...rowsOf(options, 'off', off), ...ratios(on, off)];
}

function rowsOf(options: IamBenchOptions, mode: 'on' | 'off', m: Measured): BenchResult[] {
  const connections = options.connections ?? 16;
  const failures = (m: Measured) => (m.failed === 0 ? '' : `; ${m.failed} failed`);
  return [
    {
      name: `iam.${mode}.startup`,
      value: round(m.startupSeconds),
      unit: 's',
      notes: `bulkhead local up until ready (synth included), IAM enforcement ${mode}`,
    },
    {
      name: `iam.${mode}.router.req-s`,
      value: round(m.requestsPerSecond),
      unit: 'req/s',
      notes: `GET /inventory/{sku} through the router, ${connections} connections${failures(m)}`,
    },
    {
      name: `iam.${mode}.orders-s`,
      value: round(m.ordersPerSecond),
      unit: 'orders/s',
      notes: `POST /orders through the router, ${connections} connections${failures(m)}`,
    },
  ];
}

function ratios(on: Measured, off: Measured): BenchResult[] {
  const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(2)) : null);
  return [
    {
      name: 'iam.on-vs-off.router.req-s',
      value: ratio(on.requestsPerSecond, off.requestsPerSecond),
      unit: 'x',
      notes: 'router requests/s with enforcement on, as a share of off (same run)',
    },
    {
      name: 'iam.on-vs-off.orders-s',
      value: ratio(on.ordersPerSecond, off.ordersPerSecond),
      unit: 'x',
      notes: 'orders/s with enforcement on, as a share of off (same run)',
    },
  ];
}
