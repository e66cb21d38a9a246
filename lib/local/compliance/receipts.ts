/**
 * The sales-receipts endpoints, as Metrc's documentation describes them (metrc.md §1-5): HTTP Basic with
 * a vendor key and a user key, `?licenseNumber=` on every call, POST/PUT of arrays of at most ten
 * receipts (all or nothing, `[{row, message}]` on a 400), GET active/inactive by last-modified window
 * (at most 24 h, pages of at most 20, Metrc's envelope), GET by id, DELETE to void. No call is
 * deduplicated. Each call passes, in order: the fault `down`, the keys, the rate limits, the other faults.
 */
import type { IncomingMessage } from 'node:http';

import {
  METRC_CUSTOMER_TYPES,
  METRC_MAX_FILTER_WINDOW_MS,
  METRC_MAX_OBJECTS_PER_REQUEST,
  METRC_MAX_PAGE_SIZE,
  METRC_RECEIPTS_PATH,
  METRC_UNITS,
  MetrcReceiptInput,
} from '../../contracts/metrc';

import type { ReceiptStore } from './receipt-store';
import { wire } from './receipt-store';
import type { FaultSwitch, Limits } from './simulator-faults';
import { HANG, type Outcome, parseJson, readBody, reply, RESET } from './simulator-server';

/** A facility the simulator knows: its license number and the user key that may act for it. */
export interface Facility {
  readonly userKey: string;
}

export interface ReceiptsContext {
  /** Vendor keys accepted (one per integrator). */
  vendorKeys(): ReadonlySet<string>;
  facility(licenseNumber: string): Facility | undefined;
  readonly faults: FaultSwitch;
  readonly limits: Limits;
  readonly store: ReceiptStore;
  now(): number;
  /** Resolves true after the 'slow' delay, false if the simulator stopped first. */
  slowDown(): Promise<boolean>;
}

/** What happened to the calls that reached the receipts endpoints. */
export interface SimulatorCounters {
  requests: { get: number; post: number; put: number; delete: number };
  /** Receipts recorded by POST: each element of an accepted array. */
  recorded: number;
  updated: number;
  voided: number;
  /** Refused for good: 400, 401, 413. */
  rejected: number;
  rateLimited: { reads: number; writes: number };
  /** Failed on purpose before doing anything: 500s, resets (`down`), hangs (`timeout`). */
  failed: number;
  /** Done, then the answer lost on purpose (`flaky`). */
  answersLost: number;
}

/** One call, as the state system saw it: when, what, and how it ended. */
export interface CallRecord {
  readonly at: number;
  readonly method: string;
  readonly licenseNumber: string;
  readonly status: number | 'reset' | 'hang';
}

const MAX_CALLS_KEPT = 200_000;

export const zeroCounters = (): SimulatorCounters => ({
  requests: { get: 0, post: 0, put: 0, delete: 0 },
  recorded: 0,
  updated: 0,
  voided: 0,
  rejected: 0,
  rateLimited: { reads: 0, writes: 0 },
  failed: 0,
  answersLost: 0,
});

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Work = (licenseNumber: string, raw: Buffer) => Outcome | Promise<Outcome>;

const message = (status: number, text: string): Outcome => reply(status, { Message: text });

function credentials(req: IncomingMessage): { vendor: string; user: string } | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { vendor: decoded.slice(0, colon), user: decoded.slice(colon + 1) };
}

/** The receipts endpoints: which route a call takes, and the checks every call passes on its way. */
export class ReceiptsApi {
  count: SimulatorCounters = zeroCounters();
  private log: CallRecord[] = [];

  constructor(private readonly ctx: ReceiptsContext) {}

  /** The outcome for an API path, or undefined when the path is not one of the receipts endpoints. */
  route(method: string, path: string, req: IncomingMessage, url: URL): Promise<Outcome> | undefined {
    const rest = path.startsWith(`${METRC_RECEIPTS_PATH}`)
      ? path.slice(METRC_RECEIPTS_PATH.length)
      : undefined;
    if (rest === undefined) return undefined;
    const id = /^\/(\d+)$/.exec(rest)?.[1];
    if (rest === '' && method === 'POST') return this.call('POST', req, url, (l, raw) => this.post(l, raw));
    if (rest === '' && method === 'PUT') return this.call('PUT', req, url, (l, raw) => this.put(l, raw));
    if ((rest === '/active' || rest === '/inactive') && method === 'GET') {
      return this.call('GET', req, url, (l) => this.list(l, url, rest === '/active'));
    }
    if (id !== undefined && method === 'GET')
      return this.call('GET', req, url, (l) => this.byId(l, Number(id)));
    if (id !== undefined && method === 'DELETE') {
      return this.call('DELETE', req, url, (l) => this.void(l, Number(id)));
    }
    return Promise.resolve(reply(405, { Message: `${method} ${path} is not supported` }));
  }

  /** Calls since `since` (epoch ms), oldest first. */
  calls(since = 0): CallRecord[] {
    return this.log.filter((c) => c.at >= since);
  }

  reset(): void {
    this.count = zeroCounters();
    this.log = [];
  }

  private async call(method: Method, req: IncomingMessage, url: URL, work: Work): Promise<Outcome> {
    const at = this.ctx.now();
    const licenseNumber = url.searchParams.get('licenseNumber') ?? '';
    const outcome = await this.checked(method, req, licenseNumber, work);
    if (outcome.kind === 'reply' && [400, 401, 413].includes(outcome.status)) this.count.rejected++;
    this.log.push({
      at,
      method,
      licenseNumber,
      status: outcome.kind === 'reply' ? outcome.status : outcome.kind,
    });
    if (this.log.length > MAX_CALLS_KEPT) this.log.splice(0, this.log.length - MAX_CALLS_KEPT);
    return outcome;
  }

  private async checked(method: Method, req: IncomingMessage, licenseNumber: string, work: Work) {
    const { faults, limits } = this.ctx;
    this.count.requests[method.toLowerCase() as keyof SimulatorCounters['requests']]++;
    // The whole body first: answering before the client has sent it would reset its connection.
    const raw = method === 'POST' || method === 'PUT' ? await readBody(req) : Buffer.alloc(0);
    if (faults.mode === 'down' && faults.applies()) {
      this.count.failed++;
      return RESET;
    }
    if (raw === 'too-large') return message(413, 'Request Entity Too Large');
    const keys = credentials(req);
    const facility = this.ctx.facility(licenseNumber);
    if (!keys || !this.ctx.vendorKeys().has(keys.vendor) || !facility || facility.userKey !== keys.user) {
      return reply(
        401,
        { Message: 'Authorization has been denied for this request.' },
        { 'www-authenticate': 'Basic' },
      );
    }
    // The injected clock, like every other time the state system keeps: a time-scaled test refills too.
    const now = this.ctx.now();
    const admitted = method === 'GET' ? limits.read(licenseNumber, keys.vendor, now) : undefined;
    const throttled =
      admitted && 'retryAfterSeconds' in admitted
        ? admitted
        : method === 'GET'
          ? undefined
          : limits.write(licenseNumber, now);
    if (throttled) {
      this.count.rateLimited[method === 'GET' ? 'reads' : 'writes']++;
      return reply(
        429,
        { Message: 'Too Many Requests' },
        { 'retry-after': String(throttled.retryAfterSeconds) },
      );
    }
    try {
      return await this.faulted(method, licenseNumber, raw, work);
    } finally {
      if (admitted && 'done' in admitted) admitted.done();
    }
  }

  private async faulted(method: Method, licenseNumber: string, raw: Buffer, work: Work): Promise<Outcome> {
    const { faults } = this.ctx;
    const mode = faults.mode;
    const writes = method !== 'GET';
    const hit =
      mode !== 'none' &&
      mode !== 'down' &&
      (mode !== 'reject' || writes) &&
      (mode !== 'flaky' || writes) &&
      faults.applies();
    if (hit && mode === 'error500') {
      this.count.failed++;
      return message(500, 'An error has occurred. (simulated)');
    }
    if (hit && mode === 'timeout') {
      this.count.failed++;
      return HANG;
    }
    // Done even if the client has given up meanwhile, like a real server: its retry must find it.
    if (hit && mode === 'slow' && !(await this.ctx.slowDown())) return HANG;
    if (hit && mode === 'reject')
      return reply(400, [{ row: 0, message: 'rejected by the state system (simulated)' }]);
    const outcome = await work(licenseNumber, raw);
    if (!(hit && mode === 'flaky') || outcome.kind !== 'reply' || outcome.status >= 300) return outcome;
    this.count.answersLost++;
    const lost = faults.lostAs();
    if (lost === 'reset') return RESET;
    if (lost === 'hang') return HANG;
    return reply(502, {
      Message: 'Bad Gateway (simulated: the state system committed, the proxy lost its answer)',
    });
  }

  /** The body's receipts, or the 400/413 that refuses them all. */
  private receipts(
    raw: Buffer,
    withId: boolean,
  ): { inputs: (MetrcReceiptInput & { Id?: number })[] } | { outcome: Outcome } {
    const parsed = parseJson(raw);
    if ('outcome' in parsed) return parsed;
    const body = parsed.json;
    if (!Array.isArray(body) || body.length === 0) {
      return { outcome: message(400, 'The request body must be a non-empty array of receipts.') };
    }
    if (body.length > METRC_MAX_OBJECTS_PER_REQUEST)
      return { outcome: message(413, 'Request Entity Too Large') };
    const rows: { row: number; message: string }[] = [];
    const inputs = body.map((element: unknown, row) => {
      const checked = MetrcReceiptInput.safeParse(element);
      if (!checked.success) {
        rows.push(
          ...checked.error.issues.map((i) => ({
            row,
            message: `${i.path.join('.') || '(receipt)'}: ${i.message}`,
          })),
        );
        return undefined;
      }
      const r = checked.data;
      if (!(METRC_CUSTOMER_TYPES as readonly string[]).includes(r.SalesCustomerType)) {
        rows.push({ row, message: `SalesCustomerType '${r.SalesCustomerType}' is not a customer type` });
      }
      for (const t of r.Transactions) {
        if (!(METRC_UNITS as readonly string[]).includes(t.UnitOfMeasure)) {
          rows.push({ row, message: `UnitOfMeasure '${t.UnitOfMeasure}' is not a unit of measure` });
        }
      }
      const id = (element as { Id?: unknown }).Id;
      if (withId && !(typeof id === 'number' && Number.isInteger(id)))
        rows.push({ row, message: 'Id is required' });
      return withId ? { ...r, Id: id as number } : r;
    });
    if (rows.length > 0) return { outcome: reply(400, rows) };
    return { inputs: inputs as (MetrcReceiptInput & { Id?: number })[] };
  }

  private post(licenseNumber: string, raw: Buffer): Outcome {
    const checked = this.receipts(raw, false);
    if ('outcome' in checked) return checked.outcome;
    const ids = this.ctx.store.record(licenseNumber, checked.inputs, 'simulated-user');
    this.count.recorded += ids.length;
    return reply(200, { Ids: ids, Warnings: null });
  }

  private put(licenseNumber: string, raw: Buffer): Outcome {
    const checked = this.receipts(raw, true);
    if ('outcome' in checked) return checked.outcome;
    const store = this.ctx.store;
    const missing = checked.inputs
      .map((r, row) => ({ row, id: r.Id! }))
      .filter(({ id }) => {
        const r = store.get(licenseNumber, id);
        return !r || r.ArchivedDate;
      });
    if (missing.length > 0) {
      return reply(
        400,
        missing.map(({ row, id }) => ({ row, message: `no active receipt ${id} for this facility` })),
      );
    }
    for (const r of checked.inputs) store.update(licenseNumber, r.Id!, r);
    this.count.updated += checked.inputs.length;
    return reply(200, null);
  }

  private list(licenseNumber: string, url: URL, active: boolean): Outcome {
    const q = url.searchParams;
    const start = Date.parse(q.get('lastModifiedStart') ?? '');
    const end = Date.parse(q.get('lastModifiedEnd') ?? '');
    const withOffset = (name: string) => /(Z|[+-]\d{2}:?\d{2})$/.test(q.get(name) ?? '');
    if (
      !Number.isFinite(start) ||
      !Number.isFinite(end) ||
      !withOffset('lastModifiedStart') ||
      !withOffset('lastModifiedEnd')
    ) {
      return message(400, 'lastModifiedStart and lastModifiedEnd must be ISO 8601 timestamps with an offset');
    }
    if (end < start || end - start > METRC_MAX_FILTER_WINDOW_MS) {
      return message(400, 'The Last Modified Start and End dates must be within 24 hours of each other');
    }
    const pageSize = q.has('pageSize') ? Number(q.get('pageSize')) : undefined;
    const page = q.has('pageNumber') ? Number(q.get('pageNumber')) : 1;
    if (
      pageSize !== undefined &&
      !(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= METRC_MAX_PAGE_SIZE)
    ) {
      return message(400, `pageSize must be an integer from 1 to ${METRC_MAX_PAGE_SIZE}`);
    }
    if (!(Number.isInteger(page) && page >= 1)) return message(400, 'pageNumber must be an integer from 1');
    const all = this.ctx.store.list(licenseNumber, active, start, end);
    const size = pageSize ?? Math.max(1, all.length);
    const data = (pageSize === undefined ? all : all.slice((page - 1) * size, page * size)).map(wire);
    const totalPages = Math.max(1, Math.ceil(all.length / size));
    return reply(200, {
      Data: data,
      Total: all.length,
      TotalRecords: all.length,
      PageSize: size,
      RecordsOnPage: data.length,
      Page: page,
      CurrentPage: page,
      TotalPages: totalPages,
    });
  }

  /** Metrc answers 401, not 404, for a receipt that is not the facility's. */
  private byId(licenseNumber: string, id: number): Outcome {
    const receipt = this.ctx.store.get(licenseNumber, id);
    return receipt
      ? reply(200, wire(receipt))
      : reply(401, { Message: 'Authorization has been denied for this request.' });
  }

  private void(licenseNumber: string, id: number): Outcome {
    const before = this.ctx.store.get(licenseNumber, id);
    if (!this.ctx.store.void(licenseNumber, id)) {
      return reply(401, { Message: 'Authorization has been denied for this request.' });
    }
    if (before && !before.ArchivedDate) this.count.voided++;
    return reply(200, null);
  }
}
