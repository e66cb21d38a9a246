/**
 * The rollback drill on a cell that runs the release: roll back, check that the old version reads what the
 * new one wrote (orders, and the sync message of an order the new version wrote while the old one was live),
 * roll forward. Recorded in the release log; the drill gate reads it.
 *
 * It reads and writes only as the cell's reserved drill tenant, whose integration is a sandbox (or none),
 * never as a real tenant, and removes that tenant's data when it is done, whatever happened.
 */
import type { Cell } from '../config/types';
import { cellApiFunctionName, DRILL_TENANT } from '../contracts/names';
import type { DrillRecord } from '../domain/release';
import type { ReleaseTarget, RollbackResult } from '../targets/release/release-target';

import type { ReleaseContext } from './context';
import { logRollback } from './deployments';
import { type DrillStep, DrillSteps, expectStatus } from './drill-steps';
import { clockTime, moves, seconds } from './format';

/** The drills' synthetic reads and writes use this SKU. */
export const DRILL_SKU = 'bulkhead-drill-sku';

export interface RehearsalOptions {
  /** How long the old sync worker may take to process the new version's message. @default 60000 */
  readonly syncTimeoutMs?: number;
}

export interface Rehearsal {
  readonly record: DrillRecord;
  readonly steps: readonly DrillStep[];
  readonly rollbackMs?: number;
}

interface Order {
  readonly id: string;
  readonly items: unknown;
  /** `PENDING` when the drill tenant has a sandbox integration here (a sync message was queued). */
  readonly syncStatus?: string;
}

/** The drill's calls to one version of the cell's API, as the drill tenant. */
class DrillCalls {
  readonly orders: Order[] = [];

  constructor(
    private readonly target: ReleaseTarget,
    private readonly cell: Cell,
    readonly tenant: string,
  ) {}

  get cellId(): string {
    return this.cell.id;
  }

  async stock(version: string): Promise<string | undefined> {
    const res = await this.target.invoke(this.cell, version, {
      method: 'PUT',
      path: `/inventory/${DRILL_SKU}`,
      tenant: this.tenant,
      body: { quantity: 1_000_000, priceCents: 1 },
    });
    return expectStatus(res, 200, 'stock');
  }

  async order(version: string, label: string): Promise<string | undefined> {
    const res = await this.target.invoke(this.cell, version, {
      method: 'POST',
      path: '/orders',
      tenant: this.tenant,
      body: { items: [{ sku: DRILL_SKU, quantity: 1 }] },
    });
    const problem = expectStatus(res, 201, `${label} order by v${version}`);
    if (!problem) this.orders.push(res.body as Order);
    return problem;
  }

  /** Every order written so far reads back the same through `version`. */
  async readBack(version: string): Promise<string | undefined> {
    for (const o of this.orders) {
      const res = await this.target.invoke(this.cell, version, {
        method: 'GET',
        path: `/orders/${o.id}`,
        tenant: this.tenant,
      });
      const problem = expectStatus(res, 200, `order ${o.id}`);
      if (problem) return problem;
      const got = res.body as { id?: string; items?: unknown };
      if (got.id !== o.id || JSON.stringify(got.items) !== JSON.stringify(o.items)) {
        return `order ${o.id} reads back as ${JSON.stringify(got)}`;
      }
    }
    return undefined;
  }

  /** Whether the cell queued a sync message for the drill's orders (its drill tenant has a sandbox). */
  get integrated(): boolean {
    return this.orders.some((o) => o.syncStatus !== undefined && o.syncStatus !== 'NOT_REQUIRED');
  }

  /** The sync status of an order, read through `version`. */
  async syncStatus(version: string, id: string): Promise<{ id: string; status?: string; body: unknown }> {
    const res = await this.target.invoke(this.cell, version, {
      method: 'GET',
      path: `/orders/${id}`,
      tenant: this.tenant,
    });
    return { id, status: (res.body as { syncStatus?: string } | undefined)?.syncStatus, body: res.body };
  }

  /** Removes everything the drill tenant has in the cell (the cell refuses this for any real tenant). */
  async remove(): Promise<string | undefined> {
    const res = await this.target.invoke(this.cell, 'live', {
      method: 'DELETE',
      path: '/synthetic-data',
      tenant: this.tenant,
    });
    return expectStatus(res, 200, `removing ${this.tenant}'s data`);
  }
}

/** Waits until the old sync worker has sent every drill order to the sandbox. */
async function awaitSync(
  ctx: ReleaseContext,
  calls: DrillCalls,
  version: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = ctx.now() + timeoutMs;
  ctx.progress(
    `[${calls.cellId}] drill: waiting for the old sync worker to send ${calls.orders.length} orders to the sandbox ` +
      `(at most ${seconds(timeoutMs)}, until about ${clockTime(deadline)} UTC)`,
  );
  for (const order of calls.orders) {
    for (;;) {
      const { id, status, body } = await calls.syncStatus(version, order.id);
      if (status === 'SYNCED' || status === 'NOT_REQUIRED') break;
      if (status === 'REJECTED') return `order ${id} was rejected: ${JSON.stringify(body)}`;
      if (ctx.now() > deadline) return `order ${id} is still ${status ?? 'unreadable'}`;
      await ctx.sleep(250);
    }
  }
  return undefined;
}

export async function rehearseRollback(
  ctx: ReleaseContext,
  cell: Cell,
  release: string,
  options: RehearsalOptions = {},
): Promise<Rehearsal> {
  const { target } = ctx;
  const tenant = DRILL_TENANT;
  const steps = new DrillSteps(ctx, cell.id);
  const calls = new DrillCalls(target, cell, tenant);

  const before = await target.status(cell, { previous: true });
  const api = before.functions.find((f) => f.name === cellApiFunctionName(cell.id)) ?? before.functions[0];
  const newVersion = api?.weights[0]?.version;
  const oldVersion = api?.previous?.version;
  let rolledBack: RollbackResult | undefined;
  const why = `rollback drill of release ${release}`;

  const ok = await steps.all([
    [
      'versions known',
      async () =>
        newVersion && oldVersion && newVersion !== oldVersion
          ? undefined
          : `need a live and a previous version of ${api?.name ?? 'the API'} (live ${newVersion ?? 'none'}, previous ${oldVersion ?? 'none'})`,
    ],
    [
      `new version v${newVersion} writes (tenant ${tenant})`,
      async () => (await calls.stock(newVersion!)) ?? (await calls.order(newVersion!, 'first')),
    ],
    [
      'roll back',
      async () => {
        rolledBack = await target.rollback(cell, why);
        logRollback(target, rolledBack, why, { release, drill: 'rollback' });
        const live = (await target.status(cell)).functions.find((f) => f.name === api!.name)?.weights;
        return live?.length === 1 && live[0].version === oldVersion
          ? undefined
          : `live alias is on ${JSON.stringify(live)} instead of v${oldVersion}`;
      },
    ],
    [
      `new version v${newVersion} writes while v${oldVersion} is live`,
      () => calls.order(newVersion!, 'second'),
    ],
    [`old version v${oldVersion} reads the new version's orders`, () => calls.readBack(oldVersion!)],
    [
      `old sync worker sends the new version's orders to the sandbox`,
      async () => {
        if (calls.integrated) return awaitSync(ctx, calls, oldVersion!, options.syncTimeoutMs ?? 60_000);
        ctx.progress(
          `[${cell.id}] drill: no sync message to check: ${tenant} has no sandbox here (fleet file: drill.integration)`,
        );
        return undefined;
      },
    ],
  ]);
  // Roll forward whatever happened after the rollback: the release stays where it was before the drill.
  if (rolledBack) {
    const back = rolledBack;
    await steps.run(`roll forward to v${newVersion}`, async () => {
      const r = await target.pointTo(cell, back.from);
      target.log.append({
        kind: 'release',
        release,
        cell: cell.id,
        from: r.from,
        to: r.to,
        ms: Math.round(r.ms),
        summary: `${cell.id}: rolled forward (${moves(r.from, r.to)}) after the rollback drill of ${release}`,
      });
      return undefined;
    });
  }
  // Whatever happened: the drill tenant's inventory and orders go, so nothing of the drill stays behind.
  // (A write may have landed even when its step failed: only a drill that wrote nothing skips this.)
  if (steps.done.length > 1) {
    await steps.run(`remove ${tenant}'s data`, () => calls.remove());
  }
  const failed = steps.failed;
  const passed = ok && !failed;
  const reason = `${failed?.step}: ${failed?.detail}`;
  const entry = target.log.append({
    kind: 'drill',
    drill: 'rollback',
    release,
    cell: cell.id,
    ok: passed,
    ms: steps.ms,
    ...(!passed && { detail: reason }),
    summary: `${cell.id}: rollback drill of ${release} ${passed ? 'passed' : `FAILED at ${failed?.step}`}`,
  });
  return {
    record: { release, ok: passed, at: entry.at, cell: cell.id, ...(!passed && { reason }) },
    steps: steps.done,
    ...(rolledBack && { rollbackMs: rolledBack.ms }),
  };
}
