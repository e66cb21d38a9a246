/**
 * An in-memory release target for orchestration tests: one API function per cell with numbered versions,
 * a `live` alias, orders kept per version's reach (a version can be made unable to read what another
 * wrote), deployments that end as told, and a real release log in a temp file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { Cell } from '../../../lib/config/types';
import type { ApiRequest, ApiResponse } from '../../../lib/contracts/api-event';
import { cellApiFunctionName, DRILL_TENANT, isSyntheticTenant } from '../../../lib/contracts/names';
import type { CellResult } from '../../../lib/domain/release';
import type { LockStore } from '../../../lib/targets/release/release-store';
import {
  type CellStatus,
  type DeployEvent,
  ReleaseLog,
  type ReleaseTarget,
  type RollbackResult,
} from '../../../lib/targets/release/release-target';

import { MemoryLockStore } from './memory-lock-store';

export const cell = (id: string, wave = 0, tenants: Cell['tenants'] = []): Cell => ({
  id,
  wave,
  maxTenants: 10,
  tenants,
  deployment: { type: 'canary', percent: 10, intervalMinutes: 5 },
  bakeMinutes: 1,
  account: '111111111111',
  region: 'us-east-1',
});

interface CellState {
  live: string;
  previous?: string;
  versions: number;
  /** How the next deployment ends. */
  next: CellResult;
  /** Versions that answer every read with a 500. */
  broken: Set<string>;
}

export class FakeReleaseTarget implements ReleaseTarget {
  readonly kind = 'local';
  readonly description = 'fake';
  readonly log: ReleaseLog;
  readonly locks: LockStore;
  readonly cells = new Map<string, CellState>();
  /** Order id → the order and the tenant it was written for. */
  readonly orders = new Map<string, { id: string; items: unknown; tenant?: string }>();
  /** `tenant/sku` of every inventory item written. */
  readonly inventory = new Set<string>();
  /** Every tenant a call was made as. */
  readonly tenants = new Set<string | undefined>();
  readonly calls: string[] = [];
  /** Whether the cell's drill tenant has a sandbox integration (its orders get a sync message). */
  drillSandbox = true;
  private readonly home = fs.mkdtempSync(path.join(os.tmpdir(), 'fake-release-'));
  private readonly started = new Map<string, string>();

  constructor(cells: readonly Cell[], locks: LockStore = new MemoryLockStore()) {
    this.locks = locks;
    this.log = new ReleaseLog(path.join(this.home, 'releases.jsonl'), 'local', 'tester');
    for (const c of cells) {
      this.cells.set(c.id, { live: '2', previous: '1', versions: 2, next: 'succeeded', broken: new Set() });
    }
  }

  private state(c: Cell): CellState {
    return this.cells.get(c.id)!;
  }

  async status(c: Cell): Promise<CellStatus> {
    const s = this.state(c);
    return {
      cellId: c.id,
      wave: c.wave,
      functions: [
        {
          name: cellApiFunctionName(c.id),
          weights: [{ version: s.live, weight: 1 }],
          liveExists: true,
          ...(s.previous && { previous: { version: s.previous, exists: true } }),
        },
      ],
    };
  }

  async deploy(
    cells: readonly Cell[],
    spec: { release: string; extraEnv?: Record<string, string> },
  ): Promise<void> {
    for (const c of cells) {
      const s = this.state(c);
      s.versions += 1;
      if (spec.extraEnv?.BULKHEAD_FAULT_RATE) s.broken.add(String(s.versions));
      this.started.set(c.id, String(s.versions));
    }
  }

  async *follow(c: Cell): AsyncGenerator<DeployEvent> {
    const version = this.started.get(c.id);
    if (!version) throw new Error(`no deployment was started on cell ${c.id}`);
    const s = this.state(c);
    const fn = cellApiFunctionName(c.id);
    const from = s.live;
    yield { type: 'progress', cellId: c.id, message: `shifting to v${version}` };
    // The new version takes a share of the traffic while it is judged.
    for (let i = 0; i < 5; i++) await this.invoke(c, version, { method: 'GET', path: '/inventory?limit=1' });
    if (s.next === 'succeeded') {
      s.previous = s.live;
      s.live = version;
    }
    yield {
      type: 'done',
      cellId: c.id,
      result: s.next,
      ...(s.next === 'rolled-back' && { reason: `version ${version}: error rate 100%` }),
      from: { [fn]: from },
      to: { [fn]: version },
      durationMs: 10,
      shiftStartedAt: 100,
      rolledBackAt: 400,
    };
  }

  async rollback(c: Cell): Promise<RollbackResult> {
    const s = this.state(c);
    const fn = cellApiFunctionName(c.id);
    const result = {
      cellId: c.id,
      kind: 'alias' as const,
      from: { [fn]: s.live },
      to: { [fn]: s.previous! },
      ms: 3,
    };
    s.live = s.previous!;
    s.previous = undefined;
    return result;
  }

  async pointTo(c: Cell, versions: Readonly<Record<string, string>>): Promise<RollbackResult> {
    const s = this.state(c);
    const fn = cellApiFunctionName(c.id);
    const result = {
      cellId: c.id,
      kind: 'alias' as const,
      from: { [fn]: s.live },
      to: { [fn]: versions[fn] },
      ms: 2,
    };
    s.previous = s.live;
    s.live = versions[fn];
    return result;
  }

  async alarms(): Promise<string[]> {
    return [];
  }

  async invoke(c: Cell, qualifier: string, request: ApiRequest): Promise<ApiResponse> {
    // A turn of the event loop, as a real call takes: traffic loops must not starve everything else.
    await new Promise((resolve) => setImmediate(resolve));
    const s = this.state(c);
    const version = qualifier === 'live' ? s.live : qualifier;
    this.calls.push(`${c.id} v${version} ${request.method} ${request.path}`);
    if (s.broken.has(version))
      return { statusCode: 500, body: { error: 'injected' }, executedVersion: version };
    const answer = (statusCode: number, body: unknown): ApiResponse => ({
      statusCode,
      body,
      executedVersion: version,
    });
    const { tenant } = request;
    this.tenants.add(tenant);
    if (request.method === 'PUT') {
      this.inventory.add(`${tenant}/${request.path.split('/').pop()}`);
      return answer(200, {});
    }
    const integrated = tenant === DRILL_TENANT && this.drillSandbox;
    if (request.method === 'POST' && request.path === '/orders') {
      const order = { id: `o${this.orders.size + 1}`, items: (request.body as { items: unknown }).items };
      this.orders.set(order.id, { ...order, tenant });
      return answer(201, { ...order, syncStatus: integrated ? 'PENDING' : 'NOT_REQUIRED' });
    }
    if (request.method === 'DELETE' && request.path === '/synthetic-data') {
      if (!tenant || !isSyntheticTenant(tenant)) return answer(403, { error: 'forbidden' });
      const mine = [...this.orders.values()].filter((o) => o.tenant === tenant);
      for (const o of mine) this.orders.delete(o.id);
      for (const item of [...this.inventory].filter((i) => i.startsWith(`${tenant}/`)))
        this.inventory.delete(item);
      return answer(200, { removed: mine.length });
    }
    const id = /^\/orders\/(.+)$/.exec(request.path)?.[1];
    if (id) {
      const order = this.orders.get(id);
      if (!order || order.tenant !== tenant) return answer(404, { error: 'not found' });
      const view = { id: order.id, items: order.items };
      return answer(200, { ...view, syncStatus: integrated ? 'SYNCED' : 'NOT_REQUIRED' });
    }
    return answer(200, { items: [] });
  }

  close(): void {
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}
