/**
 * Release locks around a run of `release`, `rollback` or a drill: every cell it touches is locked first
 * (all or none), the leases are renewed by a heartbeat while it runs, and given back at the end. A run that
 * loses a lease (another operator forced it, or the heartbeat could not renew in time) stops before its next
 * step: the target it runs on refuses every further deploy, rollback and alias move.
 */
import * as crypto from 'node:crypto';
import * as os from 'node:os';

import {
  type CellLock,
  decideAcquire,
  decideRenew,
  type LockRequest,
  lockLost,
  lockRefusal,
  RELEASE_LEASE_MS,
} from '../domain/release';
import type { LockStore } from '../targets/release/release-store';
import type { ReleaseTarget } from '../targets/release/release-target';

import type { ReleaseContext } from './context';

export interface LockOptions {
  /** What the run does, for whoever finds the cell locked (`release r7`). */
  readonly reason: string;
  /** `--force <reason>`: take the locks even from live holders; the reason goes into the release log. */
  readonly force?: string;
  /** @default `<user>@<host>` */
  readonly holder?: string;
  /** @default RELEASE_LEASE_MS */
  readonly leaseMs?: number;
  /** Runs `beat` every `ms` until the returned function is called. @default setInterval */
  readonly every?: (ms: number, beat: () => void) => () => void;
  /** Told once when a lease is lost (the release trips its line with it). */
  readonly onLost?: (message: string) => void;
}

/** How locks are held, the same for every run of a command (tests set them through the context). */
export type LockSettings = Pick<LockOptions, 'holder' | 'leaseMs' | 'every'>;

export type Locked<R> =
  | { readonly state: 'locked'; readonly problems: readonly string[] }
  | { readonly state: 'held'; readonly value: R };

const defaultHolder = (): string => `${os.userInfo().username}@${os.hostname()}`;

const realEvery = (ms: number, beat: () => void): (() => void) => {
  const timer = setInterval(beat, ms);
  timer.unref();
  return () => clearInterval(timer);
};

/** Conditional writes lost to another run are decided again on what is stored then, a few times. */
const ATTEMPTS = 3;

async function acquire(
  store: LockStore,
  request: LockRequest,
  now: () => number,
): Promise<{ taken: true; lock: CellLock; stolen?: CellLock } | { taken: false; held: CellLock }> {
  for (let attempt = 1; ; attempt++) {
    const decision = decideAcquire(await store.read(request.cellId), request, now());
    if (decision.action === 'refuse') return { taken: false, held: decision.held };
    if (await store.write(decision.lock, decision.expect))
      return { taken: true, lock: decision.lock, ...(decision.stolen && { stolen: decision.stolen }) };
    if (attempt === ATTEMPTS)
      throw new Error(`the release lock of cell ${request.cellId} changed under every attempt to take it`);
  }
}

/** The run's leases: renewed by the heartbeat, checked before each step, given back at the end. */
class Leases {
  private lost?: string;
  private renewing?: Promise<void>;
  /** Until when each lease is known to be held: past it, another run may hold the cell. */
  private readonly until = new Map<string, number>();

  constructor(
    private readonly store: LockStore,
    private readonly requests: readonly LockRequest[],
    private readonly now: () => number,
    private readonly onLost?: (message: string) => void,
  ) {}

  held(lock: CellLock): void {
    this.until.set(lock.cellId, lock.expiresAt);
  }

  /** Throws once a lease is lost: the run stops before its next step. */
  check(): void {
    if (this.lost) throw new Error(this.lost);
  }

  beat(): void {
    this.renewing ??= this.renew().finally(() => (this.renewing = undefined));
  }

  private async renew(): Promise<void> {
    for (const r of this.requests) {
      if (this.lost) return;
      // Renewals that kept failing (the table unreachable) until the lease ran out: another run may hold it.
      if (this.now() > (this.until.get(r.cellId) ?? Infinity)) {
        this.lose(lockLost(r.cellId, undefined));
        return;
      }
      try {
        const decision = decideRenew(await this.store.read(r.cellId), r.token, r.leaseMs, this.now());
        if (decision.action === 'lost') this.lose(lockLost(r.cellId, decision.held));
        else if (await this.store.write(decision.lock, decision.expect)) this.held(decision.lock);
        else this.lose(lockLost(r.cellId, await this.store.read(r.cellId)));
      } catch {
        // A failed renewal is retried on the next beat; the lease outlives several beats.
      }
    }
  }

  private lose(message: string): void {
    this.lost = message;
    this.onLost?.(message);
  }

  async giveBack(): Promise<void> {
    await this.renewing;
    await Promise.all(this.requests.map((r) => this.store.remove(r.cellId, r.token).catch(() => false)));
  }
}

/** The target, refusing every step that changes a cell once a lease is lost. */
function guarded(target: ReleaseTarget, leases: Leases): ReleaseTarget {
  const checked =
    <A extends unknown[], R>(step: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      leases.check();
      return step(...args);
    };
  return {
    kind: target.kind,
    description: target.description,
    log: target.log,
    locks: target.locks,
    status: (cell, options) => target.status(cell, options),
    deploy: checked((cells, spec) => target.deploy(cells, spec)),
    follow: (cell) => target.follow(cell),
    rollback: checked((cell, reason) => target.rollback(cell, reason)),
    pointTo: checked((cell, versions) => target.pointTo(cell, versions)),
    alarms: (cell) => target.alarms(cell),
    invoke: (cell, qualifier, request) => target.invoke(cell, qualifier, request),
    close: () => target.close(),
  };
}

/**
 * Runs `run` holding the release locks of `cellIds`; refused (nothing run, nothing held) when one is held
 * by someone else and not forced. A lock taken by force is in the release log, with whom it was taken from.
 */
export async function withCellLocks<R>(
  ctx: ReleaseContext,
  cellIds: readonly string[],
  options: LockOptions,
  run: (ctx: ReleaseContext) => Promise<R>,
): Promise<Locked<R>> {
  const { target } = ctx;
  const settings = { ...ctx.locking, ...options };
  const token = crypto.randomUUID();
  const holder = settings.holder ?? defaultHolder();
  const leaseMs = settings.leaseMs ?? RELEASE_LEASE_MS;
  const requests = [...new Set(cellIds)].sort().map((cellId): LockRequest => ({
    cellId,
    holder,
    token,
    reason: options.reason,
    leaseMs,
    ...(options.force !== undefined && { force: options.force }),
  }));
  const leases = new Leases(target.locks, requests, ctx.now, options.onLost);
  const problems: string[] = [];
  for (const request of requests) {
    const got = await acquire(target.locks, request, ctx.now).catch(async (error: Error) => {
      await leases.giveBack();
      throw error;
    });
    if (!got.taken) {
      problems.push(lockRefusal(got.held));
      continue;
    }
    leases.held(got.lock);
    if (got.stolen) {
      const { stolen } = got;
      target.log.append({
        kind: 'lock',
        cell: request.cellId,
        why: options.force,
        detail: `taken from ${stolen.holder} (${stolen.reason}), who held it since ${new Date(stolen.since).toISOString()}`,
        summary: `${request.cellId}: release lock taken by force from ${stolen.holder} (${stolen.reason}): ${options.force}`,
      });
      ctx.progress(`[${request.cellId}] took the release lock from ${stolen.holder} (${stolen.reason})`);
    }
  }
  if (problems.length > 0) {
    await leases.giveBack();
    return { state: 'locked', problems };
  }
  const stop = (settings.every ?? realEvery)(leaseMs / 3, () => leases.beat());
  try {
    return { state: 'held', value: await run({ ...ctx, target: guarded(target, leases) }) };
  } finally {
    stop();
    await leases.giveBack();
  }
}
