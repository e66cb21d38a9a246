/**
 * The receipts endpoint (`POST /sales/v2/receipts?licenseNumber=<tenant>`): checks the key, the rate
 * limit and the body, applies the fault in force, and stores each Idempotency-Key's receipt once.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';

import { z } from 'zod';

import type { FaultSwitch, RateLimiter } from './simulator-faults';
import { HANG, invalid, type Outcome, parseJson, readBody, reply, RESET, tooLarge } from './simulator-server';

export const RECEIPTS_PATH = '/sales/v2/receipts';

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

/** What the endpoint answers with besides the request: keys, limits, faults and the slow delay. */
export interface ReceiptsContext {
  /** Tenant id -> the only API key accepted for that tenant; a tenant without one accepts any key. */
  readonly apiKeys: Readonly<Record<string, string>>;
  readonly faults: FaultSwitch;
  readonly limiter: RateLimiter;
  /** Resolves true after the 'slow' delay, false if the simulator stopped first. */
  slowDown(): Promise<boolean>;
}

const zeroCounters = (): SimulatorCounters => ({
  received: 0,
  accepted: 0,
  duplicates: 0,
  rejected: 0,
  rateLimited: 0,
  failed: 0,
});

function apiKeyOf(req: IncomingMessage): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1];
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

export class ReceiptsEndpoint {
  count: SimulatorCounters = zeroCounters();
  private stored: Receipt[] = [];
  /** tenantId -> Idempotency-Key -> receipt id */
  private readonly idempotency = new Map<string, Map<string, string>>();

  constructor(private readonly context: ReceiptsContext) {}

  /** Accepted receipts in the order they were accepted (copies). */
  receipts(tenantId?: string): Receipt[] {
    return structuredClone(
      tenantId === undefined ? this.stored : this.stored.filter((receipt) => receipt.tenantId === tenantId),
    );
  }

  /** Forgets counters, receipts and idempotency keys. */
  reset(): void {
    this.count = zeroCounters();
    this.stored = [];
    this.idempotency.clear();
  }

  async post(req: IncomingMessage, url: URL): Promise<Outcome> {
    this.count.received++;
    if (this.context.faults.mode === 'down' && this.context.faults.applies()) {
      this.count.failed++;
      return RESET;
    }
    const outcome = await this.answer(req, url);
    if (outcome.kind === 'reply' && outcome.status >= 400 && outcome.status < 500 && outcome.status !== 429) {
      this.count.rejected++;
    }
    return outcome;
  }

  private async answer(req: IncomingMessage, url: URL): Promise<Outcome> {
    const raw = await readBody(req);
    if (raw === 'too-large') return tooLarge();
    const tenantId = url.searchParams.get('licenseNumber');
    if (!tenantId) return invalid('licenseNumber query parameter is required');
    const apiKey = apiKeyOf(req);
    const expected = this.context.apiKeys[tenantId];
    if (!apiKey || (expected !== undefined && apiKey !== expected)) {
      return reply(401, { error: 'missing or wrong API key' }, { 'www-authenticate': 'Bearer' });
    }
    const retryAfterSeconds = this.context.limiter.take(apiKey, performance.now());
    if (retryAfterSeconds !== undefined) {
      this.count.rateLimited++;
      return reply(429, { error: 'rate limit exceeded' }, { 'retry-after': String(retryAfterSeconds) });
    }
    const faulted = await this.fault();
    if (faulted) return faulted;
    const idempotencyKey = req.headers['idempotency-key'];
    if (typeof idempotencyKey !== 'string' || idempotencyKey === '') {
      return invalid('Idempotency-Key header is required');
    }
    const parsed = parseJson(raw);
    if ('outcome' in parsed) return parsed.outcome;
    const body = receiptBodySchema.safeParse(parsed.json);
    if (!body.success) {
      return invalid(
        body.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.'),
          message: issue.message,
        })),
      );
    }
    return this.store(tenantId, idempotencyKey, body.data);
  }

  /** The outcome of the fault in force, if it hits this request (a 'slow' one only delays it). */
  private async fault(): Promise<Outcome | undefined> {
    const { faults } = this.context;
    if (faults.mode === 'none' || faults.mode === 'down' || !faults.applies()) return undefined;
    switch (faults.mode) {
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
        return (await this.context.slowDown()) ? undefined : HANG;
    }
  }

  private store(tenantId: string, idempotencyKey: string, body: ReceiptBody): Outcome {
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
      body,
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
}
