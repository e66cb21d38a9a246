import type { IncomingMessage } from 'node:http';

import { z } from 'zod';

import type { RateLimit } from '../../domain/token-bucket';

import { ReceiptStore, type StoredReceipt } from './receipt-store';
import { type CallRecord, type Facility, ReceiptsApi, type SimulatorCounters } from './receipts';
import {
  FAULT_MODES,
  type FaultMode,
  FaultSwitch,
  Limits,
  METRC_READ_LIMITS,
  type ReadLimits,
} from './simulator-faults';
import { invalid, type Outcome, OutcomeServer, readJson, reply, RESET } from './simulator-server';

export type { CallRecord, Facility, SimulatorCounters } from './receipts';
export type { StoredReceipt } from './receipt-store';
export { FAULT_MODES, type FaultMode, METRC_READ_LIMITS, type ReadLimits } from './simulator-faults';

export interface ComplianceSimulatorOptions {
  /**
   * Port on 127.0.0.1.
   * @default 0 (any free port)
   */
  readonly port?: number;
  /**
   * Vendor API keys accepted (one per integrator).
   * @default []
   */
  readonly vendorKeys?: readonly string[];
  /**
   * License number → the facility (its user key).
   * @default {}
   */
  readonly facilities?: Readonly<Record<string, Facility>>;
  /**
   * GET limits; `null` lifts them.
   * @default Metrc's (50/s per facility, 150/s per integrator, 10 and 30 at once)
   */
  readonly reads?: ReadLimits | null;
  /**
   * Writes (POST, PUT, DELETE) per second per facility, unless a facility has its own.
   * @default unlimited (Metrc documents limits on GETs only)
   */
  readonly writes?: RateLimit;
  /** Per facility write limits. @default {} */
  readonly facilityWrites?: Readonly<Record<string, RateLimit>>;
  /**
   * Delay before answering in 'slow' mode.
   * @default 2000
   */
  readonly slowMs?: number;
  /**
   * The state system's clock (last-modified times, filters).
   * @default Date.now
   */
  readonly now?: () => number;
}

const CONTROL_PREFIX = '/_control/';

const faultControl = z.strictObject({ mode: z.enum(FAULT_MODES), share: z.number().optional() });
const rate = z.strictObject({ ratePerSecond: z.number(), burst: z.number() });
const limitsControl = z.strictObject({
  // null lifts a limit: JSON has no `undefined`.
  reads: z
    .strictObject({
      perFacilityPerSecond: z.number(),
      perIntegratorPerSecond: z.number(),
      concurrentPerFacility: z.number(),
      concurrentPerIntegrator: z.number(),
    })
    .nullable()
    .optional(),
  writes: rate.nullable().optional(),
  facility: z.string().optional(),
});
const facilitiesControl = z.strictObject({
  vendorKeys: z.array(z.string().min(1)).optional(),
  facilities: z.record(z.string(), z.strictObject({ userKey: z.string().min(1) })),
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
 * A state track-and-trace API (Metrc's sales receipts, v2) on loopback, written from its documented
 * contract, with the failures the real one has shown switchable at run time, in process or over HTTP
 * from another process (`/_control/...`).
 */
export class ComplianceSimulator {
  private readonly port: number;
  private readonly slowMs: number;
  private readonly now: () => number;
  private readonly faults = new FaultSwitch();
  private readonly limits = new Limits();
  private readonly store: ReceiptStore;
  private readonly api: ReceiptsApi;
  private readonly vendorKeys = new Set<string>();
  private readonly facilities = new Map<string, Facility>();
  private readonly server = new OutcomeServer((req) => this.route(req));
  private baseUrl: string | undefined;
  private readonly pendingDelays = new Set<() => void>();
  private readonly controls: ReadonlyMap<string, Readonly<Record<string, Handler>>>;

  constructor(options: ComplianceSimulatorOptions = {}) {
    const { port = 0, slowMs = 2000 } = options;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`port must be an integer from 0 to 65535, got ${port}`);
    }
    if (!Number.isFinite(slowMs) || slowMs < 0) {
      throw new RangeError(`slowMs must be a number >= 0, got ${slowMs}`);
    }
    this.port = port;
    this.slowMs = slowMs;
    this.now = options.now ?? Date.now;
    this.store = new ReceiptStore(this.now);
    this.configure(options.vendorKeys ?? [], options.facilities ?? {});
    this.limits.setReads(options.reads === null ? undefined : (options.reads ?? METRC_READ_LIMITS));
    this.limits.setWrites(options.writes);
    for (const [facility, limit] of Object.entries(options.facilityWrites ?? {})) {
      this.limits.setWrites(limit, facility);
    }
    this.api = new ReceiptsApi({
      vendorKeys: () => this.vendorKeys,
      facility: (license) => this.facilities.get(license),
      faults: this.faults,
      limits: this.limits,
      store: this.store,
      now: this.now,
      slowDown: () => this.delay(this.slowMs),
    });
    this.controls = this.controlTable();
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

  /** The fault in force (`none` when healthy). */
  get currentFault(): FaultMode {
    return this.faults.mode;
  }

  /** Adds vendor keys and facilities (a facility named again gets the new user key). */
  configure(vendorKeys: readonly string[], facilities: Readonly<Record<string, Facility>>): void {
    for (const key of vendorKeys) this.vendorKeys.add(key);
    for (const [license, facility] of Object.entries(facilities))
      this.facilities.set(license, { ...facility });
  }

  /**
   * `share` (0..1) is the fraction of calls the fault hits, spread evenly and deterministically:
   * with 0.5 every second call fails, so tests can count on it.
   */
  setFault(mode: FaultMode, options: { share?: number } = {}): void {
    this.faults.set(mode, options.share);
  }

  /** `undefined` lifts the GET limits. Buckets start full again. */
  setReadLimits(limits: ReadLimits | undefined): void {
    this.limits.setReads(limits);
  }

  /** The write limit of every facility, or of one; `undefined` lifts it. Buckets start full again. */
  setWriteLimit(limit: RateLimit | undefined, facility?: string): void {
    this.limits.setWrites(limit, facility);
  }

  counters(): SimulatorCounters {
    return structuredClone(this.api.count);
  }

  /** Every receipt recorded (voided ones too), in the order recorded: copies. */
  receipts(licenseNumber?: string): StoredReceipt[] {
    return this.store.all(licenseNumber);
  }

  /** The calls that reached the receipts endpoints since `since` (epoch ms). */
  calls(since?: number): CallRecord[] {
    return this.api.calls(since);
  }

  /** Forgets receipts, counters and calls, refills the buckets; keeps keys, facilities, limits and the fault. */
  reset(): void {
    this.store.clear();
    this.api.reset();
    this.limits.refill();
  }

  private controlTable(): Map<string, Record<string, Handler>> {
    const search = (url: URL, name: string) => url.searchParams.get(name) ?? undefined;
    return new Map<string, Record<string, Handler>>([
      ['/health', { GET: () => reply(200, { ok: true, fault: this.faults.mode }) }],
      ['/_control/fault', { POST: (req) => this.controlFault(req) }],
      ['/_control/limits', { POST: (req) => this.controlLimits(req) }],
      ['/_control/facilities', { POST: (req) => this.controlFacilities(req) }],
      ['/_control/counters', { GET: () => reply(200, this.counters()) }],
      ['/_control/receipts', { GET: (_req, url) => reply(200, this.receipts(search(url, 'licenseNumber'))) }],
      ['/_control/calls', { GET: (_req, url) => reply(200, this.calls(Number(search(url, 'since') ?? 0))) }],
      ['/_control/reset', { POST: () => applied(() => this.reset(), { ok: true }) }],
    ]);
  }

  private async route(req: IncomingMessage): Promise<Outcome> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? '';
    const api = this.api.route(method, url.pathname, req, url);
    if (api) return api;
    // `down` makes the whole API unreachable but the control API, so a health probe sees it too.
    const down = this.faults.mode === 'down' && this.faults.share > 0;
    if (down && !url.pathname.startsWith(CONTROL_PREFIX)) return RESET;
    const methods = this.controls.get(url.pathname);
    if (!methods) return reply(404, { Message: 'not found' });
    const handler = methods[method];
    if (!handler)
      return reply(405, { Message: 'method not allowed' }, { allow: Object.keys(methods).join(', ') });
    return handler(req, url);
  }

  private async controlFault(req: IncomingMessage): Promise<Outcome> {
    const parsed = await readJson(req, faultControl);
    if ('outcome' in parsed) return parsed.outcome;
    const { mode, share = 1 } = parsed.value;
    return applied(() => this.setFault(mode, { share }), { mode, share });
  }

  private async controlLimits(req: IncomingMessage): Promise<Outcome> {
    const parsed = await readJson(req, limitsControl);
    if ('outcome' in parsed) return parsed.outcome;
    const { reads, writes, facility } = parsed.value;
    return applied(() => {
      if (reads !== undefined) this.setReadLimits(reads ?? undefined);
      if (writes !== undefined) this.setWriteLimit(writes ?? undefined, facility);
    }, parsed.value);
  }

  private async controlFacilities(req: IncomingMessage): Promise<Outcome> {
    const parsed = await readJson(req, facilitiesControl);
    if ('outcome' in parsed) return parsed.outcome;
    const { vendorKeys = [], facilities } = parsed.value;
    return applied(() => this.configure(vendorKeys, facilities), { facilities: Object.keys(facilities) });
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
