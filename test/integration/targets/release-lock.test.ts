/**
 * The release lock against a real DynamoDB (DynamoDB Local, the releases table as the router stack and the
 * local platform's routing store have it): two release managers at once on one cell, and a crashed run.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { LOCAL_CLIENT_CONFIG } from '../../../harness/local-aws';
import { type RoutingStore, startRoutingStore } from '../../../harness/routing-store';
import { RELEASES_TABLE } from '../../../lib/contracts/names';
import { StopTheLine } from '../../../lib/domain/release';
import type { ReleaseContext } from '../../../lib/release/context';
import { releaseFleet } from '../../../lib/release/run';
import { DynamoReleaseStore } from '../../../lib/targets/release/release-store';
import { cell, FakeReleaseTarget } from '../../unit/release/fake-release-target';

const A = cell('a', 0);
let routing: RoutingStore;
const clients: DynamoDBClient[] = [];
let clock: number;

/** One operator's CLI: its own DynamoDB client on the shared table, its own target and name. */
function operator(holder: string): { ctx: ReleaseContext; target: FakeReleaseTarget } {
  const client = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: routing.dynamo.endpoint });
  clients.push(client);
  const target = new FakeReleaseTarget(
    [A],
    new DynamoReleaseStore(DynamoDBDocumentClient.from(client), RELEASES_TABLE),
  );
  return {
    target,
    ctx: {
      target,
      fleet: { router: { account: '111111111111', region: 'us-east-1' }, cells: [A] },
      timeScale: 1,
      sleep: async (ms) => void (clock += ms),
      now: () => clock,
      progress: () => undefined,
      locking: { holder, every: () => () => undefined },
    },
  };
}

beforeAll(async () => {
  routing = await startRoutingStore();
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await routing?.stop();
});

beforeEach(() => {
  clock = Date.parse('2026-12-02T03:00:00Z');
});

test('two releases of one cell at once: one runs, the other is refused naming who holds the cell', async () => {
  const alice = operator('alice@laptop');
  const bob = operator('bob@desk');
  // Alice's release holds its lock in its deploy until Bob's has tried: the two overlap whatever the pace.
  let deploying!: () => void;
  const aliceDeploying = new Promise<void>((resolve) => (deploying = resolve));
  let letGo!: () => void;
  const gate = new Promise<void>((resolve) => (letGo = resolve));
  const deploy = alice.target.deploy.bind(alice.target);
  const deploys = {
    alice: jest.spyOn(alice.target, 'deploy').mockImplementation(async (...args) => {
      deploying();
      await gate;
      return deploy(...args);
    }),
    bob: jest.spyOn(bob.target, 'deploy'),
  };
  const aliceRun = releaseFleet(alice.ctx, { label: 'r7', line: new StopTheLine() });
  await aliceDeploying;
  const b = await releaseFleet(bob.ctx, { label: 'r8', line: new StopTheLine() });
  letGo();
  const a = await aliceRun;
  const runs = [
    { who: 'alice@laptop', run: a, deployed: deploys.alice.mock.calls.length },
    { who: 'bob@desk', run: b, deployed: deploys.bob.mock.calls.length },
  ];
  const refused = runs.filter((r) => r.run.state === 'refused');
  const ran = runs.filter((r) => r.run.state === 'ran');
  expect(refused).toHaveLength(1);
  expect(ran).toHaveLength(1);
  expect(refused[0].deployed).toBe(0);
  expect(ran[0].deployed).toBe(1);
  const label = ran[0].who === 'alice@laptop' ? 'r7' : 'r8';
  expect(refused[0].run).toEqual({
    state: 'refused',
    problems: [
      `cell a is locked by ${ran[0].who} since 2026-12-02T03:00:00Z (release ${label}); --force to take it`,
    ],
  });
  // The winner gave the lock back: the next release takes it.
  const carol = operator('carol@home');
  expect((await releaseFleet(carol.ctx, { label: 'r9', line: new StopTheLine() })).state).toBe('ran');
});

test('a crashed run’s lock holds until its lease ends, then the next release takes it', async () => {
  const crashed = new DynamoReleaseStore(DynamoDBDocumentClient.from(routing.doc), RELEASES_TABLE);
  await crashed.write(
    {
      cellId: 'a',
      holder: 'dave@ci',
      token: 'run-dave',
      reason: 'release r6',
      since: clock,
      expiresAt: clock + 300_000,
    },
    { kind: 'free', now: clock },
  );
  const erin = operator('erin@laptop');
  expect(await releaseFleet(erin.ctx, { label: 'r7', line: new StopTheLine() })).toEqual({
    state: 'refused',
    problems: ['cell a is locked by dave@ci since 2026-12-02T03:00:00Z (release r6); --force to take it'],
  });
  clock += 300_001;
  expect((await releaseFleet(erin.ctx, { label: 'r7', line: new StopTheLine() })).state).toBe('ran');
  expect(await crashed.read('a')).toBeUndefined();
});
