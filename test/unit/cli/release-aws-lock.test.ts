/**
 * The release lock and the shared release log on AWS: the releases table in the router's account, behind
 * a mocked DynamoDB (conditional writes as DynamoDB checks them), seen as a release manager sees them.
 */
import 'aws-sdk-client-mock-jest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { PutCommand } from '@aws-sdk/lib-dynamodb';

import type { Io } from '../../../lib/cli/io';
import { main } from '../../../lib/cli/main';
import type { AwsReleaseTarget } from '../../../lib/targets/release/aws-release-target';
import { cfn, cloudwatch, codedeploy, doc, FakeAws, FLEET, lambda } from '../targets/fake-release-aws';

let aws: FakeAws;
let logFile: string;
let target: AwsReleaseTarget;
let out: string[];
let err: string[];
const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };

const deps = () => ({
  open: () => ({ target, fleet: FLEET, timeScale: 1 }),
  sleep: aws.sleep,
  now: () => aws.now,
  locking: { holder: 'alice@laptop', every: () => () => undefined },
});

/** A passing rollback drill of `release`, recorded by another operator: only in the shared log. */
const sharedDrill = (release: string) =>
  aws.releases.items.set('LOG|2025-01-01T00:00:00.000Z#carol1', {
    pk: 'LOG',
    sk: '2025-01-01T00:00:00.000Z#carol1',
    entry: JSON.stringify({
      at: '2025-01-01T00:00:00.000Z',
      id: 'carol1',
      kind: 'drill',
      drill: 'rollback',
      release,
      ok: true,
      cell: 'a0',
      summary: 'drill',
      who: 'carol',
      target: 'aws',
    }),
  });

const bobHolds = (cellId: string, expiresAt = aws.now + 60_000) =>
  aws.releases.putLock({
    cellId,
    holder: 'bob@desk',
    token: 'run-bob',
    reason: 'release r1',
    since: Date.parse('2026-12-02T02:59:00Z'),
    expiresAt,
  });

beforeEach(() => {
  for (const stub of [cfn, codedeploy, lambda, cloudwatch]) stub.reset();
  aws = new FakeAws();
  aws.install();
  logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'release-aws-lock-')), 'releases.jsonl');
  target = aws.releaseTarget(logFile);
  out = [];
  err = [];
});

describe('the release lock on AWS', () => {
  it('a cell another operator is releasing: refused in one line naming who, since when and why; nothing deployed', async () => {
    sharedDrill('r2');
    bobHolds('b1');
    const code = await main(['release', '--version', 'r2'], io, deps());
    expect(code).toBe(1);
    expect(err.filter((l) => l.includes('locked'))).toEqual([
      'bulkhead release: refused: cell b1 is locked by bob@desk since 2026-12-02T02:59:00Z (release r1); --force to take it',
    ]);
    expect(aws.cdkRuns).toEqual([]);
    // The locks this run took on the other cells are given back; Bob's stays.
    expect([...aws.releases.items.keys()].filter((k) => k.startsWith('LOCK#'))).toEqual(['LOCK#b1|LOCK']);
    expect(doc).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'bulkhead-releases',
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
    });
  });

  it('a lock whose lease ran out (a crashed CLI) is taken: the release runs and gives every lock back', async () => {
    sharedDrill('r2');
    bobHolds('b1', aws.now - 1);
    const code = await main(['release', '--version', 'r2'], io, deps());
    expect(code).toBe(0);
    expect(aws.cdkRuns).toHaveLength(3);
    expect([...aws.releases.items.keys()].filter((k) => k.startsWith('LOCK#'))).toEqual([]);
  });

  it('--force takes a live lock, and the shared release log says from whom and why', async () => {
    sharedDrill('r2');
    bobHolds('b1');
    const code = await main(['release', '--version', 'r2', '--force', 'bob is on a plane'], io, deps());
    expect(code).toBe(0);
    expect(aws.releases.logEntries()).toContainEqual(
      expect.objectContaining({
        kind: 'lock',
        cell: 'b1',
        who: expect.any(String),
        why: 'bob is on a plane',
        detail: expect.stringContaining('taken from bob@desk (release r1)'),
      }),
    );
  });

  it('--force needs a reason', async () => {
    expect(await main(['release', '--version', 'r2', '--force', ' '], io, deps())).toBe(2);
    expect(err.join('\n')).toContain('must say why');
  });

  it('a rollback of a locked cell is refused the same way', async () => {
    bobHolds('a0');
    const code = await main(['rollback', '--cell', 'a0', '--reason', 'orders slow'], io, deps());
    expect(code).toBe(1);
    expect(err).toContain(
      'bulkhead rollback: refused: cell a0 is locked by bob@desk since 2026-12-02T02:59:00Z (release r1); --force to take it',
    );
  });

  it('status shows who holds each lock', async () => {
    bobHolds('b1');
    expect(await main(['status'], io, deps())).toBe(0);
    expect(out).toContain(
      `  locked by bob@desk since 2026-12-02T02:59:00.000Z (release r1), lease until ${new Date(aws.now + 60_000).toISOString()}`,
    );
    out = [];
    expect(await main(['status', '--json'], io, deps())).toBe(0);
    const { cells } = JSON.parse(out.join('\n')) as { cells: { cell: string; lock: unknown }[] };
    expect(cells.map((c) => [c.cell, c.lock])).toEqual([
      ['a0', null],
      ['b1', expect.objectContaining({ holder: 'bob@desk', reason: 'release r1' })],
      ['c2', null],
    ]);
  });
});

describe('the shared release log', () => {
  it('another operator’s drill, only in the router account’s table, counts: the release passes the drill gate', async () => {
    sharedDrill('r2');
    expect(fs.existsSync(logFile)).toBe(false);
    expect(await main(['release', '--version', 'r2'], io, deps())).toBe(0);
    // The local file is the cache: the shared drill and this release's entries are in it.
    const cached = fs.readFileSync(logFile, 'utf8');
    expect(cached).toContain('"who":"carol"');
    // Every entry this release wrote reached the table.
    const shared = aws.releases.logEntries();
    expect(shared.filter((e) => e.kind === 'release').map((e) => [e.cell, e.release, e.result])).toEqual([
      ['a0', 'r2', 'succeeded'],
      ['b1', 'r2', 'succeeded'],
      ['c2', 'r2', 'succeeded'],
    ]);
  });

  it('an entry that could not reach the table stays in the cache, is said so, and is sent by the next command', async () => {
    sharedDrill('r2');
    aws.releases.failLogWrites = 1;
    await main(['rollback', '--cell', 'a0', '--reason', 'orders slow'], io, deps());
    expect(err.filter((l) => l.startsWith('release log:'))).toEqual([
      expect.stringMatching(/^release log: an entry is only in the local cache .* \(connect ETIMEDOUT\)/),
    ]);
    expect(aws.releases.logEntries().filter((e) => e.kind === 'rollback')).toEqual([]);
    target = aws.releaseTarget(logFile);
    await main(['status'], io, deps());
    expect(aws.releases.logEntries().filter((e) => e.kind === 'rollback')).toEqual([
      expect.objectContaining({ cell: 'a0', why: 'orders slow' }),
    ]);
  });
});
