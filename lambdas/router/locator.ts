/**
 * Where a cell answers, without the routing store: what a cold router needs to forward a baked tenant's
 * request while the store is down. The store's cell registry is the usual source; this is the fallback.
 *
 * - On AWS: the cell API's Function URL, read with Lambda `GetFunctionUrlConfig` on the `live` alias of
 *   `bulkhead-<cellId>-api` in the cell's account and region (the router's role may do exactly that),
 *   cached per warm instance.
 * - Locally: a fixed map from the environment (`CELL_ENDPOINTS`, JSON `{ cellId: { endpoint, secret } }`),
 *   set on the router function by the local platform.
 */
import { GetFunctionUrlConfigCommand, LambdaClient } from '@aws-sdk/client-lambda';

import { cellApiFunctionName, LIVE_ALIAS } from '../../lib/contracts/names';
import { type BakedCell, withTimeout } from '../../lib/domain/route-cache';

export interface CellEndpoint {
  readonly endpoint: string;
  /** Local target only: the per-cell secret the cell expects from the router. */
  readonly secret?: string;
}

export interface CellLocator {
  /** The cell's endpoint, or `undefined` when it cannot be found now (the router then answers 503). */
  locate(cellId: string, cell: BakedCell): Promise<CellEndpoint | undefined>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `CELL_ENDPOINTS`. A value that is set but malformed throws, so a misconfigured router fails when
 * it loads, by name, rather than answering 503 for everyone later.
 */
export function parseCellEndpoints(text: string): Record<string, CellEndpoint> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('CELL_ENDPOINTS is not valid JSON');
  }
  if (!isObject(raw))
    throw new Error('CELL_ENDPOINTS must be a JSON object: { cellId: { endpoint, secret } }');
  const out: Record<string, CellEndpoint> = {};
  for (const [cellId, value] of Object.entries(raw)) {
    if (!isObject(value) || typeof value.endpoint !== 'string' || !/^https?:\/\//.test(value.endpoint)) {
      throw new Error(`CELL_ENDPOINTS.${cellId} needs an http(s) endpoint`);
    }
    if (value.secret !== undefined && typeof value.secret !== 'string') {
      throw new Error(`CELL_ENDPOINTS.${cellId}.secret must be a string`);
    }
    out[cellId] = value.secret
      ? { endpoint: value.endpoint, secret: value.secret }
      : { endpoint: value.endpoint };
  }
  return out;
}

/** A fixed map of endpoints (the local platform). */
export function staticCellLocator(endpoints: Readonly<Record<string, CellEndpoint>>): CellLocator {
  return {
    locate: async (cellId) =>
      Object.prototype.hasOwnProperty.call(endpoints, cellId) ? endpoints[cellId] : undefined,
  };
}

/** `aws` unless the region belongs to another partition. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The cell API function's ARN (unqualified; the alias goes in `Qualifier`), so another account's cell is found too. */
export function cellApiFunctionArn(cellId: string, cell: BakedCell): string {
  return `arn:${partitionOf(cell.region)}:lambda:${cell.region}:${cell.account}:function:${cellApiFunctionName(cellId)}`;
}

type UrlConfigClient = Pick<LambdaClient, 'send'>;

/** The Lambda client a lookup in `region` uses: one retry, the caller has a timeout of its own. */
export const urlConfigClient = (region: string): LambdaClient => new LambdaClient({ region, maxAttempts: 2 });

export interface FunctionUrlLocatorOptions {
  /** A Lambda client for a region. @default {@link urlConfigClient}, one per region, kept */
  readonly clientFor?: (region: string) => UrlConfigClient;
  /** How long a found URL is reused. @default 900000 (15 min) */
  readonly ttlMs?: number;
  /** How long a failed lookup is remembered, so a failing Lambda API is not called on every request. @default 5000 */
  readonly failureTtlMs?: number;
  /** A lookup slower than this counts as failed. @default 1000 */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface Entry {
  readonly at: number;
  readonly value: Promise<CellEndpoint | undefined>;
  settled?: CellEndpoint | undefined;
  done: boolean;
}

/** The AWS fallback: the `live` alias's Function URL, looked up once per cell (concurrent misses share a call). */
export class FunctionUrlLocator implements CellLocator {
  private readonly clients = new Map<string, UrlConfigClient>();
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly failureTtlMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  /** Lookups that failed (error, timeout, no URL), for the router's metrics. */
  failures = 0;

  constructor(private readonly options: FunctionUrlLocatorOptions = {}) {
    this.ttlMs = options.ttlMs ?? 15 * 60_000;
    this.failureTtlMs = options.failureTtlMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  private client(region: string): UrlConfigClient {
    let client = this.clients.get(region);
    if (!client) {
      client = (this.options.clientFor ?? urlConfigClient)(region);
      this.clients.set(region, client);
    }
    return client;
  }

  private async lookup(cellId: string, cell: BakedCell): Promise<CellEndpoint | undefined> {
    try {
      const out = await withTimeout(
        this.client(cell.region).send(
          new GetFunctionUrlConfigCommand({
            FunctionName: cellApiFunctionArn(cellId, cell),
            Qualifier: LIVE_ALIAS,
          }),
        ),
        this.timeoutMs,
        'GetFunctionUrlConfig',
      );
      if (out.FunctionUrl) return { endpoint: out.FunctionUrl };
    } catch {
      // Counted below; the caller answers 503 and a later request tries again.
    }
    this.failures += 1;
    return undefined;
  }

  async locate(cellId: string, cell: BakedCell): Promise<CellEndpoint | undefined> {
    const now = this.now();
    const key = `${cell.account}/${cell.region}/${cellId}`;
    const entry = this.entries.get(key);
    if (entry) {
      const ttl = entry.done && entry.settled === undefined ? this.failureTtlMs : this.ttlMs;
      if (!entry.done || now - entry.at < ttl) return entry.value;
    }
    const fresh: Entry = { at: now, value: this.lookup(cellId, cell), done: false };
    this.entries.set(key, fresh);
    fresh.settled = await fresh.value;
    fresh.done = true;
    return fresh.settled;
  }
}
