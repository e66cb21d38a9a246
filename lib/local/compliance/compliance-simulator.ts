import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

import { z } from 'zod';

/**
 * A Metrc-like state track-and-trace API on loopback, with the failures the real one has shown
 * (outages, 500s, slowness, hangs, rejections, per-integrator rate limits) switchable at run time,
 * in process or over HTTP from another process.
 */

export const FAULT_MODES = ['none', 'down', 'error500', 'slow', 'timeout', 'reject'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

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

/**
 * What happened to the requests that reached the receipts endpoint. Every request counted in
 * `received` ends in exactly one other counter once it is answered.
 */
export interface SimulatorCounters {
  received: number;
  accepted: number;
  /** Answered with the original receipt id because the Idempotency-Key was already accepted. */
  duplicates: number;
  /** Refused for good: 400 (invalid body, or the 'reject' fault), 401, 413. */
  rejected: number;
  rateLimited: number;
  /** Failed on purpose: 500s, connection resets ('down') and hung requests ('timeout'). */
  failed: number;
}

const receiptBodySchema = z.strictObject({
  externalId: z.string().min(1),
  salesDateTime: z.iso.datetime({ offset: true }),
  items: z
    .array(
      z.strictObject({
        sku: z.string().min(1),
        quantity: z.number().int().positive(),
        unitPriceCents: z.number().int().nonnegative(),
      }),
    )
    .min(1),
  totalCents: z.number().int().nonnegative(),
});
export type ReceiptBody = z.infer<typeof receiptBodySchema>;

export interface Receipt {
  readonly id: string;
  readonly tenantId: string;
  readonly idempotencyKey: string;
  readonly body: ReceiptBody;
  /** ISO timestamp. */
  readonly receivedAt: string;
}

export const RECEIPTS_PATH = '/sales/v2/receipts';
const CONTROL_PREFIX = '/_control/';
const MAX_BODY_BYTES = 256 * 1024;

const faultControlSchema = z.strictObject({ mode: z.enum(FAULT_MODES), share: z.number().optional() });
// null switches the limit off: JSON has no `undefined`.
const rateLimitControlSchema = z.strictObject({
  ratePerSecond: z.number().nullable(),
  burst: z.number().optional(),
});

type Outcome =
  | {
      readonly kind: 'reply';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'reset' }
  | { readonly kind: 'hang' };
type Handler = (req: IncomingMessage, url: URL) => Promise<Outcome> | Outcome;

const RESET: Outcome = { kind: 'reset' };
const HANG: Outcome = { kind: 'hang' };
const reply = (status: number, body: unknown, headers?: Record<string, string>): Outcome => ({
  kind: 'reply',
  status,
  body,
  headers,
});
const invalid = (details: unknown): Outcome => reply(400, { error: 'invalid', details });

interface Bucket {
  tokens: number;
  refilledAt: number;
}

export class ComplianceSimulator {
  private readonly port: number;
  private readonly apiKeys: Readonly<Record<string, string>>;
  private readonly slowMs: number;
  private rateLimit: { readonly ratePerSecond: number; readonly burst: number } | undefined;
  private readonly buckets = new Map<string, Bucket>();
  private fault: { readonly mode: FaultMode; readonly share: number; seen: number } = {
    mode: 'none',
    share: 1,
    seen: 0,
  };
  private count: SimulatorCounters = ComplianceSimulator.zeroCounters();
  private stored: Receipt[] = [];
  /** tenantId -> Idempotency-Key -> receipt id */
  private readonly idempotency = new Map<string, Map<string, string>>();
  private server: Server | undefined;
  private baseUrl: string | undefined;
  private readonly sockets = new Set<Socket>();
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
    this.apiKeys = { ...apiKeys };
    this.slowMs = slowMs;
    this.setRateLimit(ratePerSecond, burst);
    this.routes = new Map<string, Record<string, Handler>>([
      [RECEIPTS_PATH, { POST: (req, url) => this.postReceipt(req, url) }],
      ['/health', { GET: () => reply(200, { ok: true, fault: this.fault.mode }) }],
      ['/_control/fault', { POST: (req) => this.controlFault(req) }],
      ['/_control/rate-limit', { POST: (req) => this.controlRateLimit(req) }],
      ['/_control/counters', { GET: () => reply(200, this.counters()) }],
      [
        '/_control/receipts',
        { GET: (_req, url) => reply(200, this.receipts(url.searchParams.get('tenant') ?? undefined)) },
      ],
      [
        '/_control/reset',
        {
          POST: () => {
            this.reset();
            return reply(200, { ok: true });
          },
        },
      ],
    ]);
  }

  /** Resolves with the base URL, e.g. `http://127.0.0.1:PORT`. */
  async start(): Promise<string> {
    if (this.server) throw new Error('compliance simulator already started');
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.server = undefined;
      throw error;
    }
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  /** Closes the server and every open socket, hung ones included, so nothing keeps the process alive. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.baseUrl = undefined;
    for (const cancel of this.pendingDelays) cancel();
    const closed = new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('compliance simulator not started');
    return this.baseUrl;
  }

  /**
   * `share` (0..1) is the fraction of requests the fault hits, spread evenly and deterministically:
   * with 0.5 every second request fails, so tests can count on it.
   */
  /** The fault mode in force (`none` when healthy). */
  get currentFault(): FaultMode {
    return this.fault.mode;
  }

  setFault(mode: FaultMode, options: { share?: number } = {}): void {
    const { share = 1 } = options;
    if (!FAULT_MODES.includes(mode)) {
      throw new RangeError(`fault mode must be one of ${FAULT_MODES.join(', ')}, got ${String(mode)}`);
    }
    if (!Number.isFinite(share) || share < 0 || share > 1) {
      throw new RangeError(`share must be a number from 0 to 1, got ${share}`);
    }
    this.fault = { mode, share, seen: 0 };
  }

  /** `undefined` removes the limit. Buckets start full again. */
  setRateLimit(ratePerSecond: number | undefined, burst = 1): void {
    if (ratePerSecond !== undefined && (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0)) {
      throw new RangeError(`ratePerSecond must be a number > 0, got ${ratePerSecond}`);
    }
    if (!Number.isInteger(burst) || burst < 1) {
      throw new RangeError(`burst must be an integer >= 1, got ${burst}`);
    }
    this.rateLimit = ratePerSecond === undefined ? undefined : { ratePerSecond, burst };
    this.buckets.clear();
  }

  counters(): SimulatorCounters {
    return { ...this.count };
  }

  /** Accepted receipts in the order they were accepted (copies). */
  receipts(tenantId?: string): Receipt[] {
    return structuredClone(
      tenantId === undefined ? this.stored : this.stored.filter((receipt) => receipt.tenantId === tenantId),
    );
  }

  /** Forgets counters, receipts, idempotency keys and rate-limit buckets; keeps the fault and the limits. */
  reset(): void {
    this.count = ComplianceSimulator.zeroCounters();
    this.stored = [];
    this.idempotency.clear();
    this.buckets.clear();
  }

  private static zeroCounters(): SimulatorCounters {
    return { received: 0, accepted: 0, duplicates: 0, rejected: 0, rateLimited: 0, failed: 0 };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.route(req);
    } catch {
      // Mostly a client gone mid-body, whose socket is destroyed below; otherwise a bug.
      outcome = reply(500, { error: 'internal error' });
    }
    if (res.destroyed || req.socket.destroyed) return;
    switch (outcome.kind) {
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        return;
      case 'reply':
        res.writeHead(outcome.status, { 'content-type': 'application/json', ...outcome.headers });
        res.end(JSON.stringify(outcome.body));
        return;
    }
  }

  private route(req: IncomingMessage): Promise<Outcome> | Outcome {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const methods = this.routes.get(url.pathname);
    const handler = methods?.[req.method ?? ''];
    // Receipts take 'down' for their `share` only; the rest but the control API is plainly unreachable,
    // so a health probe sees even a partial outage.
    const isReceipt = url.pathname === RECEIPTS_PATH && handler !== undefined;
    const down = this.fault.mode === 'down' && this.fault.share > 0;
    if (down && !isReceipt && !url.pathname.startsWith(CONTROL_PREFIX)) return RESET;
    if (!methods) return reply(404, { error: 'not found' });
    if (!handler)
      return reply(405, { error: 'method not allowed' }, { allow: Object.keys(methods).join(', ') });
    return handler(req, url);
  }

  private async postReceipt(req: IncomingMessage, url: URL): Promise<Outcome> {
    this.count.received++;
    if (this.fault.mode === 'down' && this.faultApplies()) {
      this.count.failed++;
      return RESET;
    }
    const outcome = await this.receiptOutcome(req, url);
    if (outcome.kind === 'reply' && outcome.status >= 400 && outcome.status < 500 && outcome.status !== 429) {
      this.count.rejected++;
    }
    return outcome;
  }

  private async receiptOutcome(req: IncomingMessage, url: URL): Promise<Outcome> {
    const raw = await readBody(req);
    if (raw === 'too-large') return reply(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });
    const tenantId = url.searchParams.get('licenseNumber');
    if (!tenantId) return invalid('licenseNumber query parameter is required');
    const apiKey = apiKeyOf(req);
    const expected = this.apiKeys[tenantId];
    if (!apiKey || (expected !== undefined && apiKey !== expected)) {
      return reply(401, { error: 'missing or wrong API key' }, { 'www-authenticate': 'Bearer' });
    }
    const retryAfterSeconds = this.takeToken(apiKey);
    if (retryAfterSeconds !== undefined) {
      this.count.rateLimited++;
      return reply(429, { error: 'rate limit exceeded' }, { 'retry-after': String(retryAfterSeconds) });
    }
    if (this.fault.mode !== 'none' && this.fault.mode !== 'down' && this.faultApplies()) {
      switch (this.fault.mode) {
        case 'error500':
          this.count.failed++;
          return reply(500, { error: 'internal server error (simulated)' });
        case 'timeout':
          this.count.failed++;
          return HANG;
        case 'reject':
          return invalid('rejected by the state system');
        case 'slow':
          // Stored even if the client has given up meanwhile, like a real server: its retry must be a duplicate.
          if (!(await this.delay(this.slowMs))) return HANG;
          break;
      }
    }
    const idempotencyKey = req.headers['idempotency-key'];
    if (typeof idempotencyKey !== 'string' || idempotencyKey === '') {
      return invalid('Idempotency-Key header is required');
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      return invalid('body is not valid JSON');
    }
    const parsed = receiptBodySchema.safeParse(json);
    if (!parsed.success) {
      return invalid(
        parsed.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    let keys = this.idempotency.get(tenantId);
    const originalId = keys?.get(idempotencyKey);
    if (originalId !== undefined) {
      this.count.duplicates++;
      return reply(200, { id: originalId, duplicate: true });
    }
    const receipt: Receipt = {
      id: randomUUID(),
      tenantId,
      idempotencyKey,
      body: parsed.data,
      receivedAt: new Date().toISOString(),
    };
    if (!keys) {
      keys = new Map();
      this.idempotency.set(tenantId, keys);
    }
    keys.set(idempotencyKey, receipt.id);
    this.stored.push(receipt);
    this.count.accepted++;
    return reply(201, { id: receipt.id, duplicate: false });
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

  /** Whether the current fault hits this request: the n-th request is hit when n * share crosses an integer. */
  private faultApplies(): boolean {
    const { share } = this.fault;
    const seen = ++this.fault.seen;
    // The epsilon keeps float error (0.29 * 100 = 28.999…) from dropping a hit.
    return Math.floor(seen * share + 1e-9) > Math.floor((seen - 1) * share + 1e-9);
  }

  /** Undefined when the request may go ahead, else the seconds until a token is available. */
  private takeToken(apiKey: string): number | undefined {
    if (!this.rateLimit) return undefined;
    const { ratePerSecond, burst } = this.rateLimit;
    const now = performance.now();
    const bucket = this.buckets.get(apiKey) ?? { tokens: burst, refilledAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.refilledAt) / 1000) * ratePerSecond);
    bucket.refilledAt = now;
    this.buckets.set(apiKey, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond));
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

function apiKeyOf(req: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1];
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

/**
 * Reads the whole body even past the limit (discarding the excess): answering before the client has
 * finished sending would reset its connection, and it would never see the 413.
 */
function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.once('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => reject(new Error('request closed before its body was complete')));
  });
}

async function readJson<T>(
  req: IncomingMessage,
  schema: z.ZodType<T>,
): Promise<{ readonly value: T } | { readonly outcome: Outcome }> {
  const raw = await readBody(req);
  if (raw === 'too-large')
    return { outcome: reply(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` }) };
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return { outcome: invalid('body is not valid JSON') };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { value: parsed.data } : { outcome: invalid(z.prettifyError(parsed.error)) };
}

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
