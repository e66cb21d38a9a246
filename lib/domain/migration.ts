/**
 * Moving a tenant between cells, as a resumable state machine over injected ports (no AWS here).
 *
 * The progress record lives on the tenant's route, so every step that changes the route (freeze, flip,
 * unfreeze) persists its progress in the same conditional write: a crash can never leave the route and
 * the record disagreeing. Every step is idempotent, so re-running from any persisted progress finishes
 * the move with no item lost or duplicated:
 *
 * - freeze: the route is frozen when the move begins (writes answer 503, reads go on); then the source's
 *   integration is switched off (its previous value remembered first) so the source worker cannot sync
 *   an order that is about to move, and the cell's copy of the tenant's key is marked frozen: the cell
 *   itself refuses writes from then on, whatever route a router has cached, so nothing waits for caches.
 *   A write the cell accepted just before the mark and that lands during the copy is caught by verify.
 * - copy: the tenant's items, page by page, with idempotent puts; the cursor is saved after each page.
 *   A copy from the start first empties the target of the tenant's items.
 * - verify: count and checksum equal at source and target, or the copy starts over.
 * - flip: the route points at the target (only if still frozen and still at the source).
 * - unfreeze: the source's key copy is marked moved (the source then answers every request "moved", and
 *   a router re-resolves the route and sends it on: `lambdas/router/moved.ts`); the integration setting is
 *   restored and the key copy unmarked at the target, then the route is active again.
 * - cleanup: pending sync work is enqueued at the target and the source's items are deleted, all but the
 *   moved mark, which keeps answering routers that still have the old route cached.
 */
import { createHash, randomUUID } from 'node:crypto';

import { DEFAULT_LEASE_MS, leaseFor, leaseNeedsRenewal, leaseRefusal, type MoveLease } from './move-lease';
import type { CellCapacity } from './placement';

export const MOVE_STEPS = ['freeze', 'copy', 'verify', 'flip', 'unfreeze', 'cleanup', 'done'] as const;
export type MoveStep = (typeof MOVE_STEPS)[number];

/** A move in progress (or finished: `step: 'done'`), as persisted on the tenant's route. */
export interface MoveProgress extends MoveLease {
  readonly tenantId: string;
  readonly from: string;
  readonly to: string;
  /** The step to run next. */
  readonly step: MoveStep;
  /** Where the copy resumes: the source position after the last copied page (opaque to the domain). */
  readonly cursor?: string;
  /** Items copied so far in the current copy. */
  readonly copied: number;
  /** Items of the tenant at the source when the copy started. */
  readonly total?: number;
  /** `<count>:<checksum>` of the tenant's items, verified equal at source and target. */
  readonly checksum?: string;
  /** ISO time the move began, which is when the route was frozen. */
  readonly startedAt: string;
  /** The source's integration switch before the move turned it off; restored at the target. */
  readonly integrationWasEnabled?: boolean;
  /** Pending orders enqueued at the target after the unfreeze. */
  readonly enqueued?: number;
  /** ISO time the route was flipped to the target. */
  readonly flippedAt?: string;
  /** Times a failed verification started the copy over. */
  readonly restarts?: number;
  readonly finishedAt?: string;
}

/** The step after `progress.step`; `done` stays `done`. */
export function nextStep(progress: Pick<MoveProgress, 'step'>): MoveStep {
  const i = MOVE_STEPS.indexOf(progress.step);
  return MOVE_STEPS[Math.min(i + 1, MOVE_STEPS.length - 1)];
}

export const isMoving = (move: MoveProgress | undefined): move is MoveProgress =>
  move !== undefined && move.step !== 'done';

/** Where the route must point, and in which state, while the move is at `progress.step`. */
export function expectedRoute(progress: MoveProgress): { readonly cellId: string; readonly status: string } {
  switch (progress.step) {
    case 'freeze':
    case 'copy':
    case 'verify':
    case 'flip':
      return { cellId: progress.from, status: 'frozen' };
    case 'unfreeze':
      return { cellId: progress.to, status: 'frozen' };
    case 'cleanup':
    case 'done':
      return { cellId: progress.to, status: 'active' };
  }
}

/** A tenant as the routing store has it. */
export interface TenantPlacement {
  readonly tenantId: string;
  readonly cellId: string;
  readonly status: string;
  readonly move?: MoveProgress;
}

/**
 * Why the tenant cannot be moved to `target`, or `undefined`. A move already under way to the same
 * target is not refused: running the command again resumes it.
 */
export function refuseMove(
  tenant: TenantPlacement,
  target: string,
  cells: readonly CellCapacity[],
): string | undefined {
  const { tenantId, move } = tenant;
  if (isMoving(move)) {
    return move.to === target
      ? undefined
      : `tenant ${tenantId} is being moved to ${move.to} (next step: ${move.step}); finish that move first with --to ${move.to}`;
  }
  if (target === tenant.cellId) return `tenant ${tenantId} is already on cell ${target}`;
  const cell = cells.find((c) => c.id === target);
  if (!cell) {
    const known = cells.map((c) => c.id).sort();
    return `unknown cell '${target}'${known.length > 0 ? ` (cells: ${known.join(', ')})` : ''}`;
  }
  if (cell.status !== 'active') return `cell ${target} is ${cell.status}, not active: it takes no tenants`;
  if (cell.maxTenants !== undefined && cell.tenantCount >= cell.maxTenants) {
    return `cell ${target} is full (${cell.tenantCount}/${cell.maxTenants} tenants)`;
  }
  if (tenant.status !== 'active') return `tenant ${tenantId} is ${tenant.status}, not active`;
  return undefined;
}

/** The progress record a new move starts with (written together with the freeze). */
export function startMove(
  tenant: TenantPlacement,
  to: string,
  now: number,
  lease: MoveLease = {},
): MoveProgress {
  return {
    ...lease,
    tenantId: tenant.tenantId,
    from: tenant.cellId,
    to,
    step: 'freeze',
    copied: 0,
    startedAt: new Date(now).toISOString(),
  };
}

// ---- checksum ---------------------------------------------------------------------------------

/** JSON with object keys sorted at every level; bytes as `{"$bytes": base64}`. */
export function canonicalJson(value: unknown): string {
  if (value instanceof Uint8Array) return JSON.stringify({ $bytes: Buffer.from(value).toString('base64') });
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const MOD = 1n << 256n;

/**
 * Count and order-independent checksum of a set of items: the sum, modulo 2^256, of the sha256 of each
 * item's canonical JSON. Pages can be added in any order; unlike XOR, a duplicated item changes the sum.
 */
export class ItemsChecksum {
  private sum = 0n;
  private n = 0;

  add(items: Iterable<unknown>): this {
    for (const item of items) {
      const digest = createHash('sha256').update(canonicalJson(item)).digest('hex');
      this.sum = (this.sum + BigInt(`0x${digest}`)) % MOD;
      this.n += 1;
    }
    return this;
  }

  get count(): number {
    return this.n;
  }

  get checksum(): string {
    return this.sum.toString(16).padStart(64, '0');
  }

  /** `<count>:<checksum>`. */
  toString(): string {
    return `${this.n}:${this.checksum}`;
  }
}

// ---- the runner -------------------------------------------------------------------------------

/** ` (N items/s)` over the items copied by this run so far, each call adding a page; empty before any time passed. */
/** The copy's pace so far, and at that pace how long the rest of `total` (its items still to copy) takes. */
function copyMeter(now: () => number): (items: number, left: number) => string {
  const started = now();
  let copied = 0;
  return (items, left) => {
    copied += items;
    const seconds = (now() - started) / 1000;
    if (seconds <= 0) return '';
    const rate = copied / seconds;
    const eta = left > 0 && rate > 0 ? `, about ${Math.ceil(left / rate)} s left` : '';
    return ` (${Math.round(rate)} items/s${eta})`;
  };
}

export type Item = Record<string, unknown>;

/** One cell's view of one tenant's data. */
export interface TenantData {
  count(tenantId: string): Promise<number>;
  /** A page of the tenant's items in key order, strongly consistent; `cursor` absent on the last page. */
  page(
    tenantId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ items: Item[]; cursor?: string }>;
  /** Writes the items as they are (a put of an existing key overwrites it: idempotent). */
  put(items: readonly Item[]): Promise<void>;
  /** Deletes the items with these items' keys (missing ones are fine). */
  remove(items: readonly Item[]): Promise<void>;
  /**
   * Count and checksum ({@link ItemsChecksum}) of the tenant's items that are live at `asOf`: an item
   * whose time to live has passed is left out, as DynamoDB may delete it at any moment on either side.
   */
  summarize(tenantId: string, asOf: number): Promise<string>;
  integrationEnabled(tenantId: string): Promise<boolean>;
  setIntegrationEnabled(tenantId: string, enabled: boolean): Promise<void>;
  /** Sends a sync message for each of the tenant's pending orders; how many were sent. */
  enqueuePendingSyncs(tenantId: string): Promise<number>;
  /**
   * Marks the cell's copy of the tenant's key hash (its `TENANT` item) frozen, or not; a tenant without
   * that item is left without it.
   */
  setTenantFrozen(tenantId: string, frozen: boolean): Promise<void>;
  /** Marks the cell's copy of the tenant's key moved to cell `to` (see `TenantItem.movedTo`), if there is one. */
  setTenantMoved(tenantId: string, to: string): Promise<void>;
  /** Whether the item is that mark, which the source keeps after the clean-up. */
  isMoveMarker(item: Item): boolean;
}

export interface RouteChange {
  readonly cellId?: string;
  readonly status?: 'active' | 'frozen';
}

export interface MovePorts {
  readonly source: TenantData;
  readonly target: TenantData;
  /**
   * Freezes the active route at `progress.from` and stores the new record, unless another move is
   * under way; false when the route was not in that state.
   */
  begin(progress: MoveProgress): Promise<boolean>;
  /**
   * Stores `next` with `change` applied to the route, only if the stored record is still `prev` (same
   * step and start) and the route is as {@link expectedRoute} of `prev` says; false otherwise.
   */
  save(prev: MoveProgress, next: MoveProgress, change?: RouteChange): Promise<boolean>;
  now(): number;
}

export interface MoveOptions {
  /** Items per copied page. @default 500 */
  readonly pageSize?: number;
  /** Copy restarts after a failed verification before giving up, per run. @default 3 */
  readonly maxRestarts?: number;
  /** What happens, for the operator (`copied N/M items`). */
  readonly onEvent?: (message: string, progress: MoveProgress) => void;
  /** This run's id, for the lease on the move record. @default a random one */
  readonly owner?: string;
  /** How long the lease lasts from its last renewal. @default 60000 */
  readonly leaseMs?: number;
  /** Called after every persisted progress; a throw here stops the move there (tests). */
  readonly afterSave?: (progress: MoveProgress) => void | Promise<void>;
}

export class MoveConflictError extends Error {
  constructor(progress: MoveProgress) {
    super(
      `the move of ${progress.tenantId} changed under this run (at step ${progress.step}): is another 'tenants move' running?`,
    );
    this.name = 'MoveConflictError';
  }
}

export class VerificationError extends Error {}

export type MoveResult =
  { readonly ok: true; readonly progress: MoveProgress } | { readonly ok: false; readonly reason: string };

/**
 * Begins the move of `tenant` to `to` (or resumes the one under way) and runs it to the end. Returns a
 * refusal without touching anything when the move is not allowed.
 */
export async function moveTenant(
  tenant: TenantPlacement,
  to: string,
  cells: readonly CellCapacity[],
  ports: MovePorts,
  options: MoveOptions = {},
): Promise<MoveResult> {
  const refusal = refuseMove(tenant, to, cells);
  if (refusal) return { ok: false, reason: refusal };
  const owner = options.owner ?? randomUUID();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  let progress = tenant.move;
  if (isMoving(progress)) {
    const held = leaseRefusal(tenant.tenantId, progress, owner, ports.now());
    if (held) return { ok: false, reason: held };
  }
  if (!isMoving(progress)) {
    progress = startMove(tenant, to, ports.now(), leaseFor(owner, leaseMs, ports.now()));
    if (!(await ports.begin(progress))) throw new MoveConflictError(progress);
    options.onEvent?.(
      `froze ${tenant.tenantId} on ${tenant.cellId}: writes answer 503, reads go on`,
      progress,
    );
    await options.afterSave?.(progress);
  } else {
    options.onEvent?.(`resuming the move of ${tenant.tenantId} to ${to} at step ${progress.step}`, progress);
  }
  return { ok: true, progress: await runMove(progress, ports, { ...options, owner, leaseMs }) };
}

/** Runs a persisted move from its step to `done`. */
export async function runMove(
  start: MoveProgress,
  ports: MovePorts,
  options: MoveOptions = {},
): Promise<MoveProgress> {
  const pageSize = options.pageSize ?? 500;
  const maxRestarts = options.maxRestarts ?? 3;
  const owner = options.owner ?? randomUUID();
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const { source, target } = ports;
  const tenantId = start.tenantId;
  let p = start;
  let restartsThisRun = 0;

  const event = (message: string) => options.onEvent?.(message, p);
  // Every save renews the lease, on the condition that this run still holds it.
  const persist = async (next: MoveProgress, change?: RouteChange) => {
    const leased = { ...next, ...leaseFor(owner, leaseMs, ports.now()) };
    if (!(await ports.save(p, leased, change))) throw new MoveConflictError(p);
    p = leased;
    await options.afterSave?.(p);
  };
  /** Before each write to the tenant's data: a run that lost its lease stops here, having written nothing. */
  const leased = async () => {
    if (p.owner !== owner || leaseNeedsRenewal(p, leaseMs, ports.now())) await persist({ ...p });
  };
  const emptyTarget = async () => {
    for (;;) {
      const { items } = await target.page(tenantId, undefined, pageSize);
      if (items.length === 0) return;
      await leased();
      await target.remove(items);
    }
  };

  while (p.step !== 'done') {
    switch (p.step) {
      case 'freeze': {
        // The previous value is saved before it is changed: a re-run must not remember "off".
        if (p.integrationWasEnabled === undefined) {
          await persist({ ...p, integrationWasEnabled: await source.integrationEnabled(tenantId) });
        }
        await leased();
        await source.setIntegrationEnabled(tenantId, false);
        await source.setTenantFrozen(tenantId, true);
        await persist({ ...p, step: 'copy' });
        break;
      }
      case 'copy': {
        if (p.cursor === undefined && p.copied === 0) await emptyTarget();
        if (p.total === undefined) await persist({ ...p, total: await source.count(tenantId) });
        const copyRate = copyMeter(() => ports.now());
        for (;;) {
          const page = await source.page(tenantId, p.cursor, pageSize);
          await leased();
          if (page.items.length > 0) await target.put(page.items);
          const copied = p.copied + page.items.length;
          if (page.cursor === undefined) {
            await persist({ ...p, step: 'verify', cursor: undefined, copied });
            event(`copied ${copied}/${p.total} items${copyRate(page.items.length, 0)}`);
            break;
          }
          await persist({ ...p, cursor: page.cursor, copied });
          event(
            `copied ${copied}/${p.total} items${copyRate(page.items.length, (p.total ?? copied) - copied)}`,
          );
        }
        break;
      }
      case 'verify': {
        const asOf = ports.now();
        const [atSource, atTarget] = await Promise.all([
          source.summarize(tenantId, asOf),
          target.summarize(tenantId, asOf),
        ]);
        if (atSource === atTarget) {
          event(`verified ${atSource.split(':')[0]} items: count and checksum match`);
          await persist({ ...p, step: 'flip', checksum: atSource });
          break;
        }
        restartsThisRun += 1;
        if (restartsThisRun > maxRestarts) {
          throw new VerificationError(
            `the copy of ${tenantId} differs from the source after ${restartsThisRun} attempts ` +
              `(source ${atSource}, target ${atTarget}): is something still writing to ${tenantId} on ${p.from}?`,
          );
        }
        event(`verification found a difference (source ${atSource}, target ${atTarget}): copying again`);
        await persist({
          ...p,
          step: 'copy',
          cursor: undefined,
          copied: 0,
          total: undefined,
          restarts: (p.restarts ?? 0) + 1,
        });
        break;
      }
      case 'flip': {
        await persist(
          { ...p, step: 'unfreeze', flippedAt: new Date(ports.now()).toISOString() },
          { cellId: p.to },
        );
        event(`route of ${tenantId} now points at ${p.to}`);
        break;
      }
      case 'unfreeze': {
        await leased();
        await source.setTenantMoved(tenantId, p.to);
        await target.setIntegrationEnabled(tenantId, p.integrationWasEnabled ?? true);
        await target.setTenantFrozen(tenantId, false);
        await persist({ ...p, step: 'cleanup' }, { status: 'active' });
        event(`unfroze ${tenantId} on ${p.to}`);
        break;
      }
      case 'cleanup': {
        if (p.enqueued === undefined) {
          await leased();
          await persist({ ...p, enqueued: await target.enqueuePendingSyncs(tenantId) });
          event(`enqueued ${p.enqueued} pending orders for sync at ${p.to}`);
        }
        // Deleting is the one step that cannot be undone: make sure the route still points at the target.
        await persist({ ...p });
        let removed = 0;
        let cursor: string | undefined;
        do {
          const page = await source.page(tenantId, cursor, pageSize);
          const data = page.items.filter((item) => !source.isMoveMarker(item));
          await leased();
          if (data.length > 0) await source.remove(data);
          removed += data.length;
          cursor = page.cursor;
        } while (cursor !== undefined);
        event(`removed ${removed} items of ${tenantId} from ${p.from}`);
        await persist({
          ...p,
          step: 'done',
          cursor: undefined,
          finishedAt: new Date(ports.now()).toISOString(),
        });
        break;
      }
    }
  }
  return p;
}
