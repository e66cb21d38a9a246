import {
  canonicalJson,
  expectedRoute,
  type Item,
  ItemsChecksum,
  MOVE_STEPS,
  MoveConflictError,
  type MoveOptions,
  type MovePorts,
  type MoveProgress,
  moveTenant,
  nextStep,
  refuseMove,
  type RouteChange,
  type TenantData,
  type TenantPlacement,
  VerificationError,
} from '../../../lib/domain/migration';
import type { CellCapacity } from '../../../lib/domain/placement';

class Crash extends Error {}

/** Counts every side effect of the move and throws at the chosen one (before, halfway through, or after it). */
class Faults {
  ops = 0;
  constructor(private readonly crashAt = Number.POSITIVE_INFINITY) {}

  point(): void {
    this.ops += 1;
    if (this.ops === this.crashAt) throw new Crash(`crash at point ${this.ops}`);
  }
}

const keyOf = (item: Item) => `${String(item.pk)}|${String(item.sk)}`;
const SETTINGS = 'INTEGRATION#SETTINGS';

/** A cell table in memory: items by key, in key order, plus the sync queue. */
class FakeCell implements TenantData {
  readonly items = new Map<string, Item>();
  readonly queue: string[] = [];
  /** Runs before each page read (tests: a late writer). */
  beforePage?: () => void;

  constructor(private readonly faults: { current: Faults }) {}

  private tenantItems(tenantId: string): Item[] {
    return [...this.items.values()]
      .filter((i) => i.pk === tenantId)
      .sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1));
  }

  async count(tenantId: string) {
    this.faults.current.point();
    return this.tenantItems(tenantId).length;
  }

  async page(tenantId: string, cursor: string | undefined, limit: number) {
    this.faults.current.point();
    this.beforePage?.();
    const all = this.tenantItems(tenantId).filter((i) => cursor === undefined || String(i.sk) > cursor);
    const items = all.slice(0, limit).map((i) => structuredClone(i));
    return all.length > limit ? { items, cursor: String(items.at(-1)!.sk) } : { items };
  }

  private async halfway(items: readonly Item[], apply: (item: Item) => void) {
    this.faults.current.point();
    const half = Math.ceil(items.length / 2);
    items.slice(0, half).forEach(apply);
    this.faults.current.point();
    items.slice(half).forEach(apply);
    this.faults.current.point();
  }

  async put(items: readonly Item[]) {
    await this.halfway(items, (i) => this.items.set(keyOf(i), structuredClone(i)));
  }

  async remove(items: readonly Item[]) {
    await this.halfway(items, (i) => this.items.delete(keyOf(i)));
  }

  async summarize(tenantId: string, asOf: number) {
    this.faults.current.point();
    const live = this.tenantItems(tenantId).filter(
      (i) => typeof i.expiresAt !== 'number' || i.expiresAt * 1000 > asOf,
    );
    return new ItemsChecksum().add(live).toString();
  }

  async integrationEnabled(tenantId: string) {
    this.faults.current.point();
    return this.items.get(`${tenantId}|${SETTINGS}`)?.enabled !== false;
  }

  async setIntegrationEnabled(tenantId: string, enabled: boolean) {
    this.faults.current.point();
    const key = `${tenantId}|${SETTINGS}`;
    this.items.set(key, { pk: tenantId, sk: SETTINGS, ...this.items.get(key), enabled });
    this.faults.current.point();
  }

  async setTenantFrozen(tenantId: string, frozen: boolean) {
    this.faults.current.point();
    const key = `${tenantId}|TENANT`;
    const item = this.items.get(key);
    if (item) {
      const next: Item = { ...item, frozen: true };
      if (!frozen) delete next.frozen;
      this.items.set(key, next);
    }
    this.faults.current.point();
  }

  async setTenantMoved(tenantId: string, to: string) {
    this.faults.current.point();
    const key = `${tenantId}|TENANT`;
    const item = this.items.get(key);
    if (item) this.items.set(key, { ...item, movedTo: to });
    this.faults.current.point();
  }

  isMoveMarker(item: Item) {
    return item.sk === 'TENANT';
  }

  async enqueuePendingSyncs(tenantId: string) {
    this.faults.current.point();
    const pending = this.tenantItems(tenantId).filter((i) => i.pendingTenant === tenantId);
    for (const order of pending) this.queue.push(String(order.sk));
    this.faults.current.point();
    return pending.length;
  }
}

interface Route {
  cellId: string;
  status: string;
  move?: MoveProgress;
}

/** The routing store and both cells in memory, with the ports the move runs on. */
function world() {
  const faults = { current: new Faults() };
  const source = new FakeCell(faults);
  const target = new FakeCell(faults);
  const routes = new Map<string, Route>([['acme', { cellId: 'use1-a', status: 'active' }]]);
  let clock = Date.parse('2025-04-20T10:00:00Z');

  const ports: MovePorts = {
    source,
    target,
    async begin(progress) {
      faults.current.point();
      const r = routes.get(progress.tenantId)!;
      if (r.status !== 'active' || r.cellId !== progress.from || (r.move && r.move.step !== 'done'))
        return false;
      routes.set(progress.tenantId, { ...r, status: 'frozen', move: progress });
      faults.current.point();
      return true;
    },
    async save(prev, next, change: RouteChange = {}) {
      faults.current.point();
      const r = routes.get(prev.tenantId)!;
      const expected = expectedRoute(prev);
      if (r.move?.step !== prev.step || r.move.startedAt !== prev.startedAt) return false;
      if (r.move.owner !== prev.owner) return false;
      if (r.cellId !== expected.cellId || r.status !== expected.status) return false;
      routes.set(prev.tenantId, { ...r, ...change, move: next });
      faults.current.point();
      return true;
    },
    now: () => clock,
  };

  return { faults, source, target, routes, ports, tick: (ms: number) => (clock += ms) };
}

const cells: CellCapacity[] = [
  { id: 'use1-a', region: 'us-east-1', status: 'active', maxTenants: 10, tenantCount: 3 },
  { id: 'use1-b', region: 'us-east-1', status: 'active', maxTenants: 10, tenantCount: 2 },
];

/** 11 items for acme (inventory, orders, two of them pending, the integration settings) and a neighbour's. */
function seed(w: ReturnType<typeof world>) {
  const put = (cell: FakeCell, item: Item) => cell.items.set(keyOf(item), item);
  for (let i = 0; i < 6; i++) put(w.source, { pk: 'acme', sk: `INV#sku-${i}`, quantity: i, tags: ['a', i] });
  for (let i = 0; i < 4; i++) {
    put(w.source, {
      pk: 'acme',
      sk: `ORDER#o${i}`,
      syncStatus: i < 2 ? 'PENDING' : 'SYNCED',
      ...(i < 2 && { pendingTenant: 'acme', pendingSince: `2025-04-20T09:0${i}:00Z` }),
    });
  }
  put(w.source, { pk: 'acme', sk: SETTINGS, enabled: true, lastSuccessAt: 42 });
  put(w.source, { pk: 'neighbour', sk: 'INV#x', quantity: 1 });
  put(w.target, { pk: 'other', sk: 'INV#y', quantity: 2 });
  return structuredClone(Object.fromEntries(w.source.items));
}

const OPTIONS: MoveOptions = { pageSize: 3 };

const acme = (w: ReturnType<typeof world>): TenantPlacement => ({
  tenantId: 'acme',
  ...w.routes.get('acme')!,
});

/** The world after a complete move: exact copy at the target, nothing left at the source, route flipped. */
function expectMovedExactly(w: ReturnType<typeof world>, before: Record<string, Item>) {
  const acmeBefore = Object.entries(before).filter(([, i]) => i.pk === 'acme');
  const acmeAtTarget = [...w.target.items].filter(([, i]) => i.pk === 'acme');
  expect(Object.fromEntries(acmeAtTarget)).toEqual(Object.fromEntries(acmeBefore));
  expect([...w.source.items.values()].filter((i) => i.pk === 'acme')).toEqual([]);
  expect(w.source.items.get('neighbour|INV#x')).toEqual({ pk: 'neighbour', sk: 'INV#x', quantity: 1 });
  expect(w.target.items.get('other|INV#y')).toEqual({ pk: 'other', sk: 'INV#y', quantity: 2 });
  const route = w.routes.get('acme')!;
  expect(route).toMatchObject({ cellId: 'use1-b', status: 'active', move: { step: 'done' } });
  // Verified as copied: with the integration switched off for the move.
  const asCopied = acmeBefore.map(([, i]) => (i.sk === SETTINGS ? { ...i, enabled: false } : i));
  expect(route.move!.checksum).toBe(new ItemsChecksum().add(asCopied).toString());
  expect(new Set(w.target.queue)).toEqual(new Set(['ORDER#o0', 'ORDER#o1']));
}

describe('a move from start to end', () => {
  test('copies every item, flips and unfreezes the route, enqueues pending orders, empties the source', async () => {
    const w = world();
    const before = seed(w);
    const events: string[] = [];
    const result = await moveTenant(acme(w), 'use1-b', cells, w.ports, {
      ...OPTIONS,
      onEvent: (message) => events.push(message),
    });
    expect(result).toMatchObject({ ok: true, progress: { step: 'done', copied: 11, total: 11 } });
    expectMovedExactly(w, before);
    expect(events).toEqual(
      expect.arrayContaining(['copied 3/11 items', 'copied 9/11 items', 'copied 11/11 items']),
    );
  });

  test('progress shows the copy rate in items/s and the time left at that rate, measured on the move’s clock', async () => {
    const w = world();
    seed(w);
    w.source.beforePage = () => w.tick(1000);
    const events: string[] = [];
    await moveTenant(acme(w), 'use1-b', cells, w.ports, {
      ...OPTIONS,
      onEvent: (message) => events.push(message),
    });
    // A page of 3 a second: 3 items in 1 s, 6 in 2 s, ..., the last 2 in the fourth second.
    expect(events.filter((e) => e.startsWith('copied'))).toEqual([
      'copied 3/11 items (3 items/s, about 3 s left)',
      'copied 6/11 items (3 items/s, about 2 s left)',
      'copied 9/11 items (3 items/s, about 1 s left)',
      'copied 11/11 items (3 items/s)',
    ]);
  });

  test('switches the integration off at the source for the move and restores it at the target', async () => {
    const w = world();
    seed(w);
    const seen: boolean[] = [];
    w.source.beforePage = () => {
      const settings = w.source.items.get(`acme|${SETTINGS}`);
      if (settings) seen.push(settings.enabled as boolean);
    };
    await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((enabled) => enabled === false)).toBe(true);
    expect(w.target.items.get(`acme|${SETTINGS}`)).toMatchObject({ enabled: true, lastSuccessAt: 42 });
  });

  test('keeps an integration that was off, off', async () => {
    const w = world();
    seed(w);
    w.source.items.set(`acme|${SETTINGS}`, { pk: 'acme', sk: SETTINGS, enabled: false });
    await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(w.target.items.get(`acme|${SETTINGS}`)).toMatchObject({ enabled: false });
    expect(w.routes.get('acme')!.move).toMatchObject({ integrationWasEnabled: false });
  });

  test('a write that slips into the source during the copy is caught by verification and copied again', async () => {
    const w = world();
    seed(w);
    let pages = 0;
    w.source.beforePage = () => {
      if (++pages === 2) w.source.items.set('acme|INV#sku-0', { pk: 'acme', sk: 'INV#sku-0', quantity: 99 });
    };
    const result = await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(result).toMatchObject({ ok: true, progress: { step: 'done', restarts: 1 } });
    expect(w.target.items.get('acme|INV#sku-0')).toEqual({ pk: 'acme', sk: 'INV#sku-0', quantity: 99 });
  });

  test('an expired item that DynamoDB deletes from the source during the copy does not fail verification', async () => {
    const w = world();
    seed(w);
    const expired = {
      pk: 'acme',
      sk: 'IDEMP#k1',
      orderId: 'o1',
      expiresAt: Date.parse('2025-04-20T09:00:00Z') / 1000,
    };
    w.source.items.set(keyOf(expired), expired);
    let pages = 0;
    w.source.beforePage = () => {
      if (++pages === 3) w.source.items.delete(keyOf(expired));
    };
    const result = await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(result).toMatchObject({ ok: true, progress: { step: 'done', total: 12 } });
    expect(result.ok && result.progress.restarts).toBeUndefined();
  });

  test('gives up with the reason when the source keeps changing, leaving the tenant frozen at the source', async () => {
    const w = world();
    seed(w);
    let n = 0;
    w.source.beforePage = () => w.source.items.set('acme|INV#busy', { pk: 'acme', sk: 'INV#busy', n: n++ });
    await expect(
      moveTenant(acme(w), 'use1-b', cells, w.ports, { ...OPTIONS, maxRestarts: 2 }),
    ).rejects.toThrow(VerificationError);
    expect(w.routes.get('acme')).toMatchObject({
      cellId: 'use1-a',
      status: 'frozen',
      move: { step: 'verify' },
    });
  });
});

describe('the cell’s copy of the tenant’s key (its TENANT item)', () => {
  const keyItem = { pk: 'acme', sk: 'TENANT', keyHash: 'a'.repeat(64), schemaVersion: 1 };

  test('moves with the tenant: marked frozen at the source for the whole move, unmarked at the target', async () => {
    const w = world();
    seed(w);
    w.source.items.set('acme|TENANT', { ...keyItem });
    const atSource: unknown[] = [];
    w.source.beforePage = () => {
      const copy = w.source.items.get('acme|TENANT');
      if (copy) atSource.push(copy.frozen); // until the cleanup removes it
    };
    const result = await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(result).toMatchObject({ ok: true, progress: { step: 'done', total: 12 } });
    expect(atSource.length).toBeGreaterThan(0);
    expect(atSource.every((frozen) => frozen === true)).toBe(true);
    expect(w.target.items.get('acme|TENANT')).toEqual(keyItem);
    // The source keeps its copy as the "moved" mark, and nothing else of the tenant.
    expect(w.source.items.get('acme|TENANT')).toEqual({ ...keyItem, frozen: true, movedTo: 'use1-b' });
    expect([...w.source.items.values()].filter((i) => i.pk === 'acme')).toHaveLength(1);
  });

  test('the source is marked moved only once the route points at the target', async () => {
    const w = world();
    seed(w);
    w.source.items.set('acme|TENANT', { ...keyItem });
    const routeWhenMarked: unknown[] = [];
    const mark = w.source.setTenantMoved.bind(w.source);
    w.source.setTenantMoved = async (tenantId, to) => {
      routeWhenMarked.push({ ...w.routes.get('acme'), move: undefined });
      await mark(tenantId, to);
    };
    await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(routeWhenMarked).toEqual([{ cellId: 'use1-b', status: 'frozen', move: undefined }]);
  });

  test('interrupted anywhere and run again, the copy ends at the target, unmarked, exactly once', async () => {
    const clean = world();
    seed(clean);
    clean.source.items.set('acme|TENANT', { ...keyItem });
    await moveTenant(acme(clean), 'use1-b', cells, clean.ports, OPTIONS);
    const total = clean.faults.current.ops;
    for (let crashAt = 1; crashAt <= total; crashAt++) {
      const w = world();
      seed(w);
      w.source.items.set('acme|TENANT', { ...keyItem });
      w.faults.current = new Faults(crashAt);
      await expect(moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS)).rejects.toThrow(Crash);
      w.faults.current = new Faults();
      w.tick(60_000);
      await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
      expect(w.target.items.get('acme|TENANT')).toEqual(keyItem);
      expect(w.source.items.get('acme|TENANT')).toEqual({ ...keyItem, frozen: true, movedTo: 'use1-b' });
    }
  });

  test('a tenant without a copy is moved without one', async () => {
    const w = world();
    seed(w);
    await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(w.target.items.has('acme|TENANT')).toBe(false);
  });
});

describe('interrupted at any point, running it again finishes the move exactly', () => {
  const clean = world();
  seed(clean);
  let total = 0;
  beforeAll(async () => {
    await moveTenant(acme(clean), 'use1-b', cells, clean.ports, OPTIONS);
    total = clean.faults.current.ops;
  });

  test('the clean run has many interruption points', () => {
    expect(total).toBeGreaterThan(60);
  });

  test('every interruption point, then a re-run', async () => {
    const stepsInterrupted = new Set<string>();
    for (let crashAt = 1; crashAt <= total; crashAt++) {
      const w = world();
      const before = seed(w);
      w.faults.current = new Faults(crashAt);
      await expect(moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS)).rejects.toThrow(Crash);
      stepsInterrupted.add(w.routes.get('acme')!.move?.step ?? 'before the freeze');

      w.faults.current = new Faults();
      w.tick(60_000);
      const finished = w.routes.get('acme')!.move?.step === 'done';
      const rerun = await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
      // Killed after its last write, the move is complete: running it again says so.
      expect(rerun).toEqual(
        finished
          ? { ok: false, reason: 'tenant acme is already on cell use1-b' }
          : { ok: true, progress: expect.objectContaining({ step: 'done' }) },
      );
      expectMovedExactly(w, before);
    }
    expect([...stepsInterrupted].sort()).toEqual(
      ['before the freeze', ...MOVE_STEPS.filter((s) => s !== 'done'), 'done'].sort(),
    );
  });

  test('an interrupted copy resumes after the last saved page instead of starting over', async () => {
    const w = world();
    seed(w);
    let pagesSaved = 0;
    const stopAfterTwoPages: MoveOptions = {
      ...OPTIONS,
      afterSave: (p) => {
        if (p.step === 'copy' && p.cursor !== undefined && ++pagesSaved === 2) throw new Crash('killed');
      },
    };
    await expect(moveTenant(acme(w), 'use1-b', cells, w.ports, stopAfterTwoPages)).rejects.toThrow(Crash);
    expect(w.routes.get('acme')!.move).toMatchObject({ step: 'copy', copied: 6, cursor: 'INV#sku-4' });
    w.tick(60_000); // the killed run's lease expires
    const reads: (string | undefined)[] = [];
    const page = w.source.page.bind(w.source);
    w.source.page = (tenantId, cursor, limit) => {
      reads.push(cursor);
      return page(tenantId, cursor, limit);
    };
    await moveTenant(acme(w), 'use1-b', cells, w.ports, OPTIONS);
    expect(reads[0]).toBe('INV#sku-4');
  });
});

describe('refusals', () => {
  const tenant: TenantPlacement = { tenantId: 'acme', cellId: 'use1-a', status: 'active' };
  const fleet: CellCapacity[] = [
    ...cells,
    { id: 'use1-c', region: 'us-east-1', status: 'draining', maxTenants: 10, tenantCount: 0 },
    { id: 'use1-d', region: 'us-east-1', status: 'active', maxTenants: 2, tenantCount: 2 },
  ];

  test.each([
    ['nope', "unknown cell 'nope' (cells: use1-a, use1-b, use1-c, use1-d)"],
    ['use1-c', 'cell use1-c is draining, not active: it takes no tenants'],
    ['use1-d', 'cell use1-d is full (2/2 tenants)'],
    ['use1-a', 'tenant acme is already on cell use1-a'],
  ])('to %s: %s', (to, reason) => {
    expect(refuseMove(tenant, to, fleet)).toBe(reason);
  });

  test('a tenant frozen for another reason is not moved', () => {
    expect(refuseMove({ ...tenant, status: 'frozen' }, 'use1-b', fleet)).toBe(
      'tenant acme is frozen, not active',
    );
  });

  const underway: MoveProgress = {
    tenantId: 'acme',
    from: 'use1-a',
    to: 'use1-b',
    step: 'copy',
    copied: 500,
    startedAt: '2025-04-20T10:00:00Z',
  };

  test('a move under way is resumed with the same target and refused with another', () => {
    const moving = { ...tenant, status: 'frozen', move: underway };
    expect(refuseMove(moving, 'use1-b', fleet)).toBeUndefined();
    expect(refuseMove(moving, 'use1-d', fleet)).toBe(
      'tenant acme is being moved to use1-b (next step: copy); finish that move first with --to use1-b',
    );
  });

  test('a refused move changes nothing', async () => {
    const w = world();
    const before = seed(w);
    const result = await moveTenant(acme(w), 'use1-a', cells, w.ports, OPTIONS);
    expect(result).toEqual({ ok: false, reason: 'tenant acme is already on cell use1-a' });
    expect(Object.fromEntries(w.source.items)).toEqual(before);
    expect(w.routes.get('acme')).toEqual({ cellId: 'use1-a', status: 'active' });
    expect(w.faults.current.ops).toBe(0);
  });
});

describe('state machine and checksum', () => {
  test('steps follow freeze → copy → verify → flip → unfreeze → cleanup → done, and done stays done', () => {
    const order = MOVE_STEPS.map((step) => nextStep({ step }));
    expect(order).toEqual(['copy', 'verify', 'flip', 'unfreeze', 'cleanup', 'done', 'done']);
  });

  test('the checksum does not depend on item order or key order, but on every value and on duplicates', () => {
    const a = { pk: 't', sk: 'INV#1', quantity: 1, nested: { b: 1, a: [1, 2] } };
    const b = { pk: 't', sk: 'INV#2', quantity: 2 };
    const reordered = { nested: { a: [1, 2], b: 1 }, quantity: 1, sk: 'INV#1', pk: 't' };
    expect(new ItemsChecksum().add([a, b]).toString()).toBe(
      new ItemsChecksum().add([b, reordered]).toString(),
    );
    expect(new ItemsChecksum().add([a, b]).toString()).not.toBe(
      new ItemsChecksum().add([a, { ...b, quantity: 3 }]).toString(),
    );
    expect(new ItemsChecksum().add([a, { ...a, nested: { b: 1, a: [2, 1] } }]).checksum).not.toBe(
      new ItemsChecksum().add([a, a]).checksum,
    );
    expect(new ItemsChecksum().add([a, a, b]).toString()).not.toBe(new ItemsChecksum().add([b]).toString());
  });

  test('canonical JSON encodes bytes and sorts keys', () => {
    expect(canonicalJson({ b: new Uint8Array([1, 2]), a: null })).toBe('{"a":null,"b":{"$bytes":"AQI="}}');
  });
});

describe('the lease on the move record', () => {
  const LEASE: MoveOptions = { ...OPTIONS, leaseMs: 60_000 };

  test('a second run while the first holds the lease is refused with a clear message and writes nothing', async () => {
    const w = world();
    const before = seed(w);
    let second: Awaited<ReturnType<typeof moveTenant>> | undefined;
    let targetAtSecond = '';
    await moveTenant(acme(w), 'use1-b', cells, w.ports, {
      ...LEASE,
      owner: 'run-a',
      afterSave: async (p) => {
        if (second || p.step !== 'copy' || p.copied === 0) return;
        targetAtSecond = JSON.stringify([...w.target.items]);
        second = await moveTenant(acme(w), 'use1-b', cells, w.ports, { ...LEASE, owner: 'run-b' });
        expect(JSON.stringify([...w.target.items])).toBe(targetAtSecond);
      },
    });
    expect(second).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /^the move of acme is held by another 'tenants move' run \(run-a\) until /,
      ),
    });
    expectMovedExactly(w, before);
  });

  test('a run that lost its lease stops before its next write: every write made at the target after the winner finished stays', async () => {
    const w = world();
    const before = seed(w);
    let resumeLoser!: () => void;
    const paused = new Promise<void>((resolve) => (resumeLoser = resolve));
    // Run A stops (a paused process) after its first page; its lease expires; run B takes the move over.
    const loser = moveTenant(acme(w), 'use1-b', cells, w.ports, {
      ...LEASE,
      owner: 'run-a',
      afterSave: async (p) => {
        if (p.owner === 'run-a' && p.step === 'copy' && p.copied === 3) await paused;
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(w.routes.get('acme')!.move).toMatchObject({ owner: 'run-a', step: 'copy', copied: 3 });
    w.tick(61_000);
    const winner = await moveTenant(acme(w), 'use1-b', cells, w.ports, { ...LEASE, owner: 'run-b' });
    expect(winner).toMatchObject({ ok: true, progress: { step: 'done', owner: 'run-b' } });
    expectMovedExactly(w, before);
    // The tenant writes at its new cell; then the paused run wakes up.
    w.target.items.set('acme|INV#sku-0', { pk: 'acme', sk: 'INV#sku-0', quantity: 999 });
    const atTarget = structuredClone([...w.target.items]);
    resumeLoser();
    await expect(loser).rejects.toThrow(MoveConflictError);
    expect([...w.target.items]).toEqual(atTarget);
  });
});
