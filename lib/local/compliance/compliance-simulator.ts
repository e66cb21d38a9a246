import type { IncomingMessage } from 'node:http';

import { z } from 'zod';

import { ReceiptsEndpoint, RECEIPTS_PATH, type Receipt, type SimulatorCounters } from './receipts';
import { FAULT_MODES, type FaultMode, FaultSwitch, RateLimiter } from './simulator-faults';
import { invalid, type Outcome, OutcomeServer, readJson, reply, RESET } from './simulator-server';

export type { Receipt, ReceiptBody, SimulatorCounters } from './receipts';
export { RECEIPTS_PATH } from './receipts';
export { FAULT_MODES, type FaultMode } from './simulator-faults';

export interface ComplianceSimulatorOptions {
  /**
   * Port on 127.0.0.1.
   * @default 0 (any free port)
   */
  readonly port?: number;
  /**
   * Tenant id -> the only API key accepted for that tenant. A tenant without an entry accepts any
   * non-empty key.
   * @default {}
   */
  readonly apiKeys?: Record<string, string>;
  /**
   * Requests per second allowed per API key (one key = one integrator).
   * @default unlimited
   */
  readonly ratePerSecond?: number;
  /**
   * Token bucket capacity: requests allowed at once before the rate applies.
   * @default 1
   */
  readonly burst?: number;
  /**
   * Delay before answering in 'slow' mode.
   * @default 2000
   */
  readonly slowMs?: number;
}

const CONTROL_PREFIX = '/_control/';

const faultControlSchema = z.strictObject({ mode: z.enum(FAULT_MODES), share: z.number().optional() });
// null switches the limit off: JSON has no `undefined`.
const rateLimitControlSchema = z.strictObject({
  ratePerSecond: z.number().nullable(),
  burst: z.number().optional(),
});

type Handler = (req: IncomingMessage, url: URL) => Promise<Outcome> | Outcome;

/** Runs a setter and answers 200, or 400 with the setter's range error. */
function applied(set: () => void, describe: unknown): Outcome {
  try {
    set();
  } catch (error) {
    if (error instanceof RangeError) return invalid(error.message);
    throw error;
  }
  return reply(200, describe);
}

/**
 * A Metrc-like state track-and-trace API on loopback, with the failures the real one has shown
 * (outages, 500s, slowness, hangs, rejections, per-integrator rate limits) switchable at run time,
 * in process or over HTTP from another process (`/_control/...`).
 */
export class ComplianceSimulator {
  private readonly port: number;
  private readonly slowMs: number;
  private readonly faults = new FaultSwitch();
  private readonly limiter = new RateLimiter();
  private readonly endpoint: ReceiptsEndpoint;
  private readonly server = new OutcomeServer((req) => this.route(req));
  private baseUrl: string | undefined;
  private readonly pendingDelays = new Set<() => void>();
  private readonly routes: ReadonlyMap<string, Readonly<Record<string, Handler>>>;

  constructor(options: ComplianceSimulatorOptions = {}) {
    const { port = 0, apiKeys = {}, ratePerSecond, burst, slowMs = 2000 } = options;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`port must be an integer from 0 to 65535, got ${port}`);
    }
    if (!Number.isFinite(slowMs) || slowMs < 0) {
      throw new RangeError(`slowMs must be a number >= 0, got ${slowMs}`);
    }
    this.port = port;
    this.slowMs = slowMs;
    this.limiter.set(ratePerSecond, burst);
    this.endpoint = new ReceiptsEndpoint({
      apiKeys: { ...apiKeys },
      faults: this.faults,
      limiter: this.limiter,
      slowDown: () => this.delay(this.slowMs),
    });
    this.routes = this.routeTable();
  }

  /** Resolves with the base URL, e.g. `http://127.0.0.1:PORT`. */
  async start(): Promise<string> {
    if (this.server.listening) throw new Error('compliance simulator already started');
    this.baseUrl = await this.server.start(this.port);
    return this.baseUrl;
  }

  /** Closes the server and every open socket, hung ones included, so nothing keeps the process alive. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.baseUrl = undefined;
    for (const cancel of this.pendingDelays) cancel();
    await this.server.stop();
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('compliance simulator not started');
    return this.baseUrl;
  }

  /** The fault mode in force (`none` when healthy). */
  get currentFault(): FaultMode {
    return this.faults.mode;
  }

  /**
   * `share` (0..1) is the fraction of requests the fault hits, spread evenly and deterministically:
   * with 0.5 every second request fails, so tests can count on it.
   */
  setFault(mode: FaultMode, options: { share?: number } = {}): void {
    this.faults.set(mode, options.share);
  }

  /** `undefined` removes the limit. Buckets start full again. */
  setRateLimit(ratePerSecond: number | undefined, burst = 1): void {
    this.limiter.set(ratePerSecond, burst);
  }

  counters(): SimulatorCounters {
    return { ...this.endpoint.count };
  }

  /** Accepted receipts in the order they were accepted (copies). */
  receipts(tenantId?: string): Receipt[] {
    return this.endpoint.receipts(tenantId);
  }

  /** Forgets counters, receipts, idempotency keys and rate-limit buckets; keeps the fault and the limits. */
  reset(): void {
    this.endpoint.reset();
    this.limiter.refill();
  }

  private routeTable(): Map<string, Record<string, Handler>> {
    return new Map<string, Record<string, Handler>>([
      [RECEIPTS_PATH, { POST: (req, url) => this.endpoint.post(req, url) }],
      ['/health', { GET: () => reply(200, { ok: true, fault: this.faults.mode }) }],
      ['/_control/fault', { POST: (req) => this.controlFault(req) }],
      ['/_control/rate-limit', { POST: (req) => this.controlRateLimit(req) }],
      ['/_control/counters', { GET: () => reply(200, this.counters()) }],
      [
        '/_control/receipts',
        { GET: (_req, url) => reply(200, this.receipts(url.searchParams.get('tenant') ?? undefined)) },
      ],
      ['/_control/reset', { POST: () => applied(() => this.reset(), { ok: true }) }],
    ]);
  }

  private route(req: IncomingMessage): Promise<Outcome> | Outcome {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const methods = this.routes.get(url.pathname);
    const handler = methods?.[req.method ?? ''];
    // Receipts take 'down' for their `share` only; the rest but the control API is plainly unreachable,
    // so a health probe sees even a partial outage.
    const isReceipt = url.pathname === RECEIPTS_PATH && handler !== undefined;
    const down = this.faults.mode === 'down' && this.faults.share > 0;
    if (down && !isReceipt && !url.pathname.startsWith(CONTROL_PREFIX)) return RESET;
    if (!methods) return reply(404, { error: 'not found' });
    if (!handler)
      return reply(405, { error: 'method not allowed' }, { allow: Object.keys(methods).join(', ') });
    return handler(req, url);
  }

  private async controlFault(req: IncomingMessage): Promise<Outcome> {
    const parsed = await readJson(req, faultControlSchema);
    if ('outcome' in parsed) return parsed.outcome;
    const { mode, share = 1 } = parsed.value;
    return applied(() => this.setFault(mode, { share }), { mode, share });
  }

  private async controlRateLimit(req: IncomingMessage): Promise<Outcome> {
    const parsed = await readJson(req, rateLimitControlSchema);
    if ('outcome' in parsed) return parsed.outcome;
    const { ratePerSecond, burst } = parsed.value;
    return applied(() => this.setRateLimit(ratePerSecond ?? undefined, burst), {
      ratePerSecond,
      burst: burst ?? 1,
    });
  }

  /** Resolves true after `ms`, or false at once if the simulator stops first. */
  private delay(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = (): void => {
        clearTimeout(timer);
        this.pendingDelays.delete(cancel);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.pendingDelays.delete(cancel);
        resolve(true);
      }, ms);
      this.pendingDelays.add(cancel);
    });
  }
}
