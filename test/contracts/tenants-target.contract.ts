/**
 * The tenants port's contract: what `lib/tenants` relies on from any `TenantsTarget`. Written once and run
 * against both implementations, so they cannot drift: the AWS one over mocked SDK clients with an
 * in-memory DynamoDB and SQS behind them (`test/unit/targets`), the local one for real against DynamoDB
 * Local and fauxqs (`test/integration/targets`). Every test gets a world of its own and asserts what the
 * port then reads back, not which calls were made.
 */
import type { Cell, Fleet } from '../../lib/config/types';
import type { Item, MoveProgress } from '../../lib/domain/migration';
import type { CellRecord, RouteRecord, TenantsTarget } from '../../lib/targets/tenants/tenants-target';

const cell = (id: string, region: string, tenants: Cell['tenants'] = []): Cell => ({
  id,
  wave: 0,
  maxTenants: 5,
  tenants,
  deployment: { type: 'allAtOnce', percent: 100, intervalMinutes: 0 },
  bakeMinutes: 0,
  account: '111111111111',
  region,
});

/** The tenant `cell-a` is configured to sync to a compliance API. */
export const SYNCED_TENANT = 'synced';

/** The fleet every world is built for: two cells of 5 tenants, `cell-a` syncing one tenant. */
export const CONTRACT_FLEET: Fleet = {
  router: { account: '111111111111', region: 'eu-west-1' },
  cells: [
    cell('cell-a', 'us-east-1', [
      {
        id: SYNCED_TENANT,
        integration: {
          baseUrl: 'https://compliance.example.com',
          ratePerSecond: 5,
          burst: 1,
          apiKeySecret: 'bulkhead/compliance/synced',
          licenseNumber: 'C10-0000001-LIC',
          timeZone: 'UTC',
          vendorKeySecret: 'bulkhead/compliance/vendor',
          batchSize: 10,
        },
      },
    ]),
    cell('cell-b', 'us-west-2'),
  ],
};

/** A registry item, as a cell stack's deployment writes it. */
export interface RegisteredCell {
  readonly cellId: string;
  readonly region: string;
  readonly status: string;
  readonly maxTenants?: number;
}

export interface TenantsWorld {
  /** The target under test, built for {@link CONTRACT_FLEET}, its routing store and cell tables empty. */
  readonly target: TenantsTarget;
  /** Writes a cell registry item, as deploying a cell stack does. */
  registerCell(cell: RegisteredCell): Promise<void>;
  /** The bodies of the sync messages waiting in the cell's queue, parsed. */
  syncMessages(cellId: string): Promise<unknown[]>;
  /** Closes the target and removes what the world made. */
  dispose(): Promise<void>;
}

const route = (
  tenantId: string,
  cellId: string,
  more: Partial<RouteRecord> = {},
): Omit<RouteRecord, 'move'> => ({
  tenantId,
  cellId,
  status: 'active',
  keyHash: `hash-${tenantId}`,
  createdAt: '2025-04-20T10:00:00.000Z',
  ...more,
});

const moving = (tenantId: string, from: string, to: string): MoveProgress => ({
  tenantId,
  from,
  to,
  step: 'copy',
  copied: 10,
  total: 20,
  startedAt: '2025-04-20T10:00:00.000Z',
});

/** Items as the cell API writes them, in their raw attribute-value form. */
const s = (value: string) => ({ S: value });
const n = (value: string) => ({ N: value });
const inventory = (tenantId: string, sku: string, quantity: string): Item => ({
  pk: s(tenantId),
  sk: s(`INV#${sku}`),
  quantity: n(quantity),
  tags: { SS: ['b', 'a'] },
});
const pendingOrder = (tenantId: string, id: string): Item => ({
  pk: s(tenantId),
  sk: s(`ORDER#${id}`),
  syncStatus: s('PENDING'),
  pendingTenant: s(tenantId),
  pendingSince: s(`2025-04-20T10:00:0${id.length}.000Z`),
});

const sortKeys = (items: readonly Item[]) => items.map((i) => (i.sk as { S: string }).S);

export function describeTenantsTargetContract(
  implementation: string,
  createWorld: () => Promise<TenantsWorld>,
): void {
  describe(`TenantsTarget contract: ${implementation}`, () => {
    let world: TenantsWorld;
    let target: TenantsTarget;

    beforeEach(async () => {
      world = await createWorld();
      target = world.target;
      await world.registerCell({ cellId: 'cell-a', region: 'us-east-1', status: 'active', maxTenants: 3 });
      await world.registerCell({ cellId: 'cell-b', region: 'us-west-2', status: 'active' });
    });

    afterEach(async () => {
      await world.dispose();
    });

    describe('routes', () => {
      it('creates a route once, reads it back, and lists routes in tenant order', async () => {
        expect(await target.createRoute(route('zeta', 'cell-b'))).toBe(true);
        expect(await target.createRoute(route('alpha', 'cell-a'))).toBe(true);
        expect(await target.createRoute(route('alpha', 'cell-b', { keyHash: 'other' }))).toBe(false);
        expect(await target.getRoute('alpha')).toEqual(route('alpha', 'cell-a'));
        expect(await target.getRoute('nobody')).toBeUndefined();
        expect((await target.listRoutes()).map((r) => [r.tenantId, r.cellId])).toEqual([
          ['alpha', 'cell-a'],
          ['zeta', 'cell-b'],
        ]);
      });

      it('updates a route only when it is as the condition says, and never creates one', async () => {
        await target.createRoute(route('alpha', 'cell-a'));
        expect(await target.updateRoute('alpha', { status: 'frozen' }, { cellId: 'cell-b' })).toBe(false);
        expect(await target.updateRoute('alpha', { status: 'frozen' }, { status: 'frozen' })).toBe(false);
        expect((await target.getRoute('alpha'))?.status).toBe('active');
        expect(
          await target.updateRoute(
            'alpha',
            { cellId: 'cell-b', status: 'frozen' },
            { cellId: 'cell-a', status: 'active' },
          ),
        ).toBe(true);
        expect(await target.getRoute('alpha')).toMatchObject({ cellId: 'cell-b', status: 'frozen' });
        expect(await target.updateRoute('nobody', { status: 'frozen' }, {})).toBe(false);
        expect(await target.getRoute('nobody')).toBeUndefined();
      });

      it('keeps a move on the route: one begins only with none under way, and saves only over the same one', async () => {
        await target.createRoute(route('alpha', 'cell-a'));
        const move = moving('alpha', 'cell-a', 'cell-b');
        expect(await target.updateRoute('alpha', { status: 'frozen', move }, { move: 'none' })).toBe(true);
        expect((await target.getRoute('alpha'))?.move).toEqual(move);
        // A second move cannot begin over it.
        expect(await target.updateRoute('alpha', { move: { ...move, to: 'cell-c' } }, { move: 'none' })).toBe(
          false,
        );
        // Progress saves only over the record it read.
        const next = { ...move, copied: 20 };
        expect(
          await target.updateRoute(
            'alpha',
            { move: next },
            { move: { step: 'verify', startedAt: move.startedAt } },
          ),
        ).toBe(false);
        expect(
          await target.updateRoute(
            'alpha',
            { move: next },
            { move: { step: 'copy', startedAt: move.startedAt } },
          ),
        ).toBe(true);
        expect((await target.getRoute('alpha'))?.move).toEqual(next);
        // A finished move is no move under way: the next may begin.
        const done = { ...next, step: 'done' as const, finishedAt: '2025-04-20T11:00:00.000Z' };
        await target.updateRoute('alpha', { cellId: 'cell-b', status: 'active', move: done }, {});
        expect(
          await target.updateRoute(
            'alpha',
            { status: 'frozen', move: moving('alpha', 'cell-b', 'cell-a') },
            { move: 'none' },
          ),
        ).toBe(true);
      });
    });

    describe('cells', () => {
      it('lists registered cells with their tenants, a tenant moving in counted where it goes, capacity from the registry else the fleet', async () => {
        await target.createRoute(route('alpha', 'cell-a'));
        await target.createRoute(route('beta', 'cell-a'));
        await target.updateRoute('beta', { status: 'frozen', move: moving('beta', 'cell-a', 'cell-b') }, {});
        await world.registerCell({ cellId: 'cell-c', region: 'us-east-1', status: 'draining' });
        const cells = await target.listCells();
        const summary = (c: CellRecord) => [c.cellId, c.region, c.status, c.tenantCount, c.maxTenants];
        expect(cells.map(summary)).toEqual([
          ['cell-a', 'us-east-1', 'active', 2, 3],
          ['cell-b', 'us-west-2', 'active', 1, 5],
          ['cell-c', 'us-east-1', 'draining', 0, undefined],
        ]);
      });

      it('refuses a cell it cannot reach', async () => {
        await expect(target.cell('cell-nowhere')).rejects.toThrow(/cell-nowhere/);
      });
    });

    describe('cell data', () => {
      it('writes items exactly as given and reads them back by tenant, page by page, in key order', async () => {
        const a = await target.cell('cell-a');
        // More digits than a double holds: what is read back must be the number written, not a rounding.
        const items = ['c', 'a', 'd', 'b'].map((sku, i) =>
          inventory('alpha', sku, `1234567890123456789.${i}1`),
        );
        await a.put([...items, inventory('other', 'a', '1')]);
        expect(await a.count('alpha')).toBe(4);
        const first = await a.page('alpha', undefined, 3);
        expect(sortKeys(first.items)).toEqual(['INV#a', 'INV#b', 'INV#c']);
        expect(first.cursor).toBeDefined();
        const rest = await a.page('alpha', first.cursor, 3);
        expect(sortKeys(rest.items)).toEqual(['INV#d']);
        // Numbers keep their precision and sets stay sets (in any order).
        const b = first.items.find((i) => (i.sk as { S: string }).S === 'INV#b')!;
        expect(b.quantity).toEqual({ N: '1234567890123456789.31' });
        expect([...(b.tags as { SS: string[] }).SS].sort()).toEqual(['a', 'b']);
        const all = [...first.items, ...rest.items];
        await a.remove(all.slice(0, 2));
        expect(sortKeys((await a.page('alpha', undefined, 10)).items)).toEqual(['INV#c', 'INV#d']);
        expect(await a.count('other')).toBe(1);
      });

      it('summarizes equal data in two cells alike, leaving out items whose time to live has passed', async () => {
        const [a, b] = await Promise.all([target.cell('cell-a'), target.cell('cell-b')]);
        const items = [inventory('alpha', 'x', '3'), inventory('alpha', 'y', '4')];
        const expired = { pk: s('alpha'), sk: s('IDEM#old'), expiresAt: n('1700000000') };
        await a.put([...items, expired]);
        await b.put(items);
        const asOf = Date.parse('2025-04-20T10:00:00.000Z');
        expect(await a.summarize('alpha', asOf)).toBe(await b.summarize('alpha', asOf));
        await b.put([inventory('alpha', 'y', '5')]);
        expect(await a.summarize('alpha', asOf)).not.toBe(await b.summarize('alpha', asOf));
      });

      it('keeps the cell’s copy of a key hash: replaced by a put, removed only while it holds that hash', async () => {
        const a = await target.cell('cell-a');
        const tenantItem = async () =>
          (await a.page('alpha', undefined, 10)).items.find((i) => (i.sk as { S: string }).S === 'TENANT');
        await a.putTenantKey('alpha', 'h1');
        await a.putTenantKey('alpha', 'h2');
        expect((await tenantItem())?.keyHash).toEqual({ S: 'h2' });
        await a.removeTenantKey('alpha', 'h1');
        expect((await tenantItem())?.keyHash).toEqual({ S: 'h2' });
        await a.removeTenantKey('alpha', 'h2');
        expect(await tenantItem()).toBeUndefined();
      });

      it('freezes and unfreezes the tenant’s key copy, and never makes one that was not there', async () => {
        const a = await target.cell('cell-a');
        const tenantItem = async (t: string) =>
          (await a.page(t, undefined, 10)).items.find((i) => (i.sk as { S: string }).S === 'TENANT');
        await a.putTenantKey('alpha', 'h1');
        await a.setTenantFrozen('alpha', true);
        expect((await tenantItem('alpha'))?.frozen).toEqual({ BOOL: true });
        await a.setTenantFrozen('alpha', false);
        expect((await tenantItem('alpha'))?.frozen).toBeUndefined();
        expect((await tenantItem('alpha'))?.keyHash).toEqual({ S: 'h1' });
        await a.setTenantFrozen('ghost', true);
        expect(await tenantItem('ghost')).toBeUndefined();
      });

      it('switches a tenant’s integration, on until switched off', async () => {
        const a = await target.cell('cell-a');
        expect(await a.integrationEnabled('alpha')).toBe(true);
        await a.setIntegrationEnabled('alpha', false);
        expect(await a.integrationEnabled('alpha')).toBe(false);
        expect(await a.integrationEnabled('beta')).toBe(true);
        await a.setIntegrationEnabled('alpha', true);
        expect(await a.integrationEnabled('alpha')).toBe(true);
      });

      it('sends one sync message per pending order of the tenant, and none for others', async () => {
        const a = await target.cell('cell-a');
        const orders = Array.from({ length: 12 }, (_, i) => pendingOrder('alpha', `o${i}`));
        await a.put([...orders, pendingOrder('other', 'x1'), inventory('alpha', 'x', '1')]);
        expect(await a.enqueuePendingSyncs('alpha')).toBe(12);
        const messages = (await world.syncMessages('cell-a')) as { tenantId: string; orderId: string }[];
        expect(messages.map((m) => m.orderId).sort()).toEqual(
          orders.map((o) => (o.sk as { S: string }).S.slice(6)).sort(),
        );
        expect(new Set(messages.map((m) => m.tenantId))).toEqual(new Set(['alpha']));
        expect(await world.syncMessages('cell-b')).toEqual([]);
      });

      it('says which tenants a cell is configured to sync', async () => {
        const [a, b] = await Promise.all([target.cell('cell-a'), target.cell('cell-b')]);
        expect(await a.integrationConfigured(SYNCED_TENANT)).toBe(true);
        expect(await a.integrationConfigured('alpha')).toBe(false);
        expect(await b.integrationConfigured(SYNCED_TENANT)).toBe(false);
      });
    });
  });
}
