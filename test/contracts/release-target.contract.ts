/**
 * The release port's contract: what `lib/release` relies on from any `ReleaseTarget`. Written once and run
 * against both implementations, so they cannot drift: the AWS one over mocked SDK clients and a fake
 * `cdk deploy` (`test/unit/targets`), the local one against a running local platform (`test/e2e`). Each
 * test starts from the state it reads and sets up what it needs itself, so the order does not matter.
 */
import type { Cell } from '../../lib/config/types';
import { cellApiFunctionName } from '../../lib/contracts/names';
import { releaseReadiness } from '../../lib/domain/release';
import type { CellStatus, DeployEvent, ReleaseTarget } from '../../lib/targets/release/release-target';

export interface ReleaseWorld {
  /** The target under test (a new one per test: it has started no deployment). */
  readonly target: ReleaseTarget;
  /**
   * A cell ready for a release whose deployment shifts traffic in steps (a canary), so a deployment is
   * seen under way before it ends.
   */
  readonly cell: Cell;
  /** Deployment minutes per real minute. */
  readonly timeScale: number;
  /** A moment between two reads of a deployment under way. */
  pause(): Promise<void>;
  dispose(): Promise<void>;
}

type Done = Extract<DeployEvent, { type: 'done' }>;

let releases = 0;
const label = () => `contract-${Date.now().toString(36)}-${++releases}`;

/** The cell API's alias: weights, release label, and previous version. */
const apiOf = (s: CellStatus, cell: Cell) => {
  const api = s.functions.find((f) => f.name === cellApiFunctionName(cell.id));
  if (!api)
    throw new Error(
      `${cellApiFunctionName(cell.id)} is not among ${s.functions.map((f) => f.name).join(', ')}`,
    );
  return api;
};

async function follow(target: ReleaseTarget, cell: Cell): Promise<DeployEvent[]> {
  const events: DeployEvent[] = [];
  for await (const e of target.follow(cell)) events.push(e);
  return events;
}

/** Releases to the world's cell and follows it to its end. */
async function release(world: ReleaseWorld, name = label()): Promise<{ done: Done; events: DeployEvent[] }> {
  await world.target.deploy([world.cell], { release: name, timeScale: world.timeScale });
  const events = await follow(world.target, world.cell);
  return { done: events.at(-1) as Done, events };
}

export function describeReleaseTargetContract(
  implementation: string,
  createWorld: () => Promise<ReleaseWorld>,
): void {
  describe(`ReleaseTarget contract: ${implementation}`, () => {
    let world: ReleaseWorld;
    let target: ReleaseTarget;
    let cell: Cell;
    const live = async () => apiOf(await target.status(cell), cell).weights;

    beforeEach(async () => {
      world = await createWorld();
      ({ target, cell } = world);
    });

    afterEach(async () => {
      await world.dispose();
    });

    it('reports a ready cell: its API alias whole on a numbered version that exists', async () => {
      const status = await target.status(cell);
      expect(status.cellId).toBe(cell.id);
      const api = apiOf(status, cell);
      expect(api.weights).toEqual([{ version: expect.stringMatching(/^\d+$/), weight: 1 }]);
      expect(api.liveExists).toBe(true);
      expect(releaseReadiness(status)).toEqual([]);
      expect(await target.alarms(cell)).toEqual([]);
    });

    it('deploys a release and follows it to one done event; the release is live, the version before is its previous', async () => {
      const before = (await live())[0].version;
      const name = label();
      const { done, events } = await release(world, name);
      expect(events.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(events.slice(0, -1).every((e) => e.type === 'progress' && e.cellId === cell.id)).toBe(true);
      const fn = cellApiFunctionName(cell.id);
      expect(done).toMatchObject({
        type: 'done',
        cellId: cell.id,
        result: 'succeeded',
        from: { [fn]: before },
      });
      const now = done.to![fn];
      expect(now).not.toBe(before);
      const after = apiOf(await target.status(cell, { previous: true }), cell);
      expect(after).toMatchObject({
        weights: [{ version: now, weight: 1 }],
        release: name,
        liveExists: true,
        previous: { version: before, exists: true },
      });
      expect(releaseReadiness(await target.status(cell))).toEqual([]);
    });

    it('stops a deployment under way with rollback: traffic back on the version before, the deployment rolled back', async () => {
      const before = (await live())[0].version;
      await target.deploy([cell], { release: label(), timeScale: world.timeScale });
      // Under way: the alias is split between the two versions.
      let weights = await live();
      for (let polls = 0; weights.length < 2; polls++) {
        if (polls > 2400)
          throw new Error(`the deployment was never seen shifting (alias ${JSON.stringify(weights)})`);
        await world.pause();
        weights = await live();
      }
      const newVersion = weights[1].version;
      const fn = cellApiFunctionName(cell.id);
      const rolledBack = await target.rollback(cell, 'contract: stop it');
      expect(rolledBack).toMatchObject({
        cellId: cell.id,
        kind: 'stopped-deployment',
        from: { [fn]: newVersion },
        to: { [fn]: before },
      });
      const events = await follow(target, cell);
      expect(events.at(-1)).toMatchObject({ type: 'done', result: 'rolled-back' });
      expect(await live()).toEqual([{ version: before, weight: 1 }]);
      expect((await target.status(cell)).deployment).toBeUndefined();
    });

    it('rolls a finished release back to the version before it, and forward again with pointTo', async () => {
      const { done } = await release(world);
      const fn = cellApiFunctionName(cell.id);
      const [was, now] = [done.from![fn], done.to![fn]];
      const back = await target.rollback(cell, 'contract: roll back');
      expect(back).toMatchObject({ cellId: cell.id, kind: 'alias', from: { [fn]: now }, to: { [fn]: was } });
      expect(back.ms).toBeGreaterThanOrEqual(0);
      expect(await live()).toEqual([{ version: was, weight: 1 }]);
      const forward = await target.pointTo(cell, back.from);
      expect(forward).toMatchObject({ kind: 'alias', to: { [fn]: now } });
      expect(await live()).toEqual([{ version: now, weight: 1 }]);
      expect(releaseReadiness(await target.status(cell))).toEqual([]);
    });

    it('calls the cell API through the live alias or one version, and says which version answered', async () => {
      const version = (await live())[0].version;
      const request = { method: 'GET', path: '/inventory?limit=1', tenant: 'bulkhead-drill' };
      expect(await target.invoke(cell, 'live', request)).toMatchObject({
        statusCode: 200,
        executedVersion: version,
      });
      expect(await target.invoke(cell, version, request)).toMatchObject({
        statusCode: 200,
        executedVersion: version,
      });
    });

    it('refuses to follow a cell it started no deployment on', async () => {
      await expect(follow(target, cell)).rejects.toThrow(`no deployment was started on cell ${cell.id}`);
    });

    it('keeps the cell’s release lock: taken only when free, held against another run, given back by its holder', async () => {
      const now = Date.now();
      const lock = {
        cellId: cell.id,
        holder: 'contract@test',
        token: `contract-${now}`,
        reason: 'contract',
        since: now,
        expiresAt: now + 60_000,
      };
      expect(await target.locks.write(lock, { kind: 'free', now })).toBe(true);
      expect(await target.locks.read(cell.id)).toEqual(lock);
      expect(await target.locks.write({ ...lock, token: 'other' }, { kind: 'free', now })).toBe(false);
      expect(await target.locks.remove(cell.id, 'other')).toBe(false);
      expect(await target.locks.remove(cell.id, lock.token)).toBe(true);
      expect(await target.locks.read(cell.id)).toBeUndefined();
    });

    it('shares its release log: an entry appended reaches the shared log, and syncing keeps it once', async () => {
      const summary = `contract entry ${Date.now()}`;
      target.log.append({ kind: 'drill', summary });
      expect(await target.log.flush()).toEqual([]);
      await target.log.sync();
      expect(target.log.entries().filter((e) => e.summary === summary)).toHaveLength(1);
    });
  });
}
