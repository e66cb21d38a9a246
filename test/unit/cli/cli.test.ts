/**
 * Help and exit codes of every `bulkhead` command, from the table the CLI is built from: `--help` on each
 * command and group (exit 0), bad usage (exit 2, one line), refusals and unreachable targets (exit 1).
 * No platform runs: a command that must reach a target gets an in-memory one, or a home with no platform.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { Io } from '../../../lib/cli/io';
import { type CliDeps, COMMANDS, GROUPS, main } from '../../../lib/cli/main';
import type { Cell, Fleet } from '../../../lib/config/types';
import { writeState } from '../../../lib/local/platform/platform-state';
import type { CellStatus } from '../../../lib/targets/release/release-target';
import type { CellRecord, RouteRecord, TenantsTarget } from '../../../lib/targets/tenants/tenants-target';
import { cell, FakeReleaseTarget } from '../release/fake-release-target';

const A = cell('a0', 0);
const B = cell('b1', 1);
const FLEET: Fleet = { router: { account: '111111111111', region: 'us-east-1' }, cells: [A, B] } as Fleet;

/** Tenants on a0 and b1; b1 is full. */
function fakeTenants(): TenantsTarget {
  const routes: RouteRecord[] = [
    {
      tenantId: 'greenleaf',
      cellId: 'a0',
      status: 'active',
      keyHash: 'h',
      createdAt: '2026-01-01T00:00:00Z',
    },
  ];
  const cells: CellRecord[] = [
    {
      cellId: 'a0',
      endpoint: 'http://a0',
      region: 'us-east-1',
      status: 'active',
      maxTenants: 5,
      tenantCount: 1,
    },
    {
      cellId: 'b1',
      endpoint: 'http://b1',
      region: 'us-east-1',
      status: 'active',
      maxTenants: 0,
      tenantCount: 0,
    },
  ];
  const refuseData = (): never => {
    throw new Error('the fake target holds no cell data');
  };
  return {
    description: 'fake tenants',
    listRoutes: async () => routes,
    getRoute: async (id) => routes.find((r) => r.tenantId === id),
    createRoute: async () => false,
    updateRoute: async () => false,
    listCells: async () => cells,
    cell: async () => refuseData(),
    close: () => undefined,
  };
}

/** Every cell unreadable, as an AWS target without credentials answers. */
class UnreachableTarget extends FakeReleaseTarget {
  override async status(c: Cell): Promise<CellStatus> {
    return {
      cellId: c.id,
      wave: c.wave,
      unavailable: 'Could not load credentials from any providers',
      functions: [],
    };
  }
}

const fakeDeps = (release = new FakeReleaseTarget(FLEET.cells)): CliDeps => ({
  open: () => ({ target: release, fleet: FLEET, timeScale: 60 }),
  openTenants: () => fakeTenants(),
  sleep: async () => undefined,
  now: () => Date.parse('2026-12-01T00:00:00Z'),
});

let out: string[];
let err: string[];
const io: Io = { out: (l) => out.push(l), err: (l) => err.push(l) };
let noPlatform: string;
let fakePlatform: string;

beforeAll(() => {
  noPlatform = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-none-'));
  fakePlatform = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-fake-'));
  // A state file whose pid is alive (this process): the CLI takes it for a running platform.
  writeState(path.join(fakePlatform, 'platform.json'), {
    pid: process.pid,
    control: 'http://127.0.0.1:9/never-called',
    router: 'http://127.0.0.1:9',
    statusPage: '',
    compliance: {
      url: '',
      vendorKey: '',
      userKeys: {},
      licenseNumbers: {},
      sandbox: { url: '', licenseNumber: 'bulkhead-drill' },
    },
    routingStore: { endpoint: '', routesTable: '', registryTable: '' },
    cells: {
      a0: {
        wave: 0,
        endpoint: '',
        secret: '',
        dynamodb: '',
        tableName: '',
        sqs: '',
        queueUrl: '',
        dlqUrl: '',
        status: 'up',
      },
    },
    tenants: {},
  });
});

afterAll(() => {
  for (const dir of [noPlatform, fakePlatform]) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  out = [];
  err = [];
});

const run = (argv: readonly string[], deps: CliDeps = fakeDeps()) => main(argv, io, deps);

describe('bulkhead --help', () => {
  it('lists every command with its one-line summary and the exit codes', async () => {
    expect(await run(['--help'])).toBe(0);
    const help = out.join('\n');
    for (const spec of COMMANDS) expect(help).toContain(`${spec.path.join(' ')}`);
    for (const spec of COMMANDS) expect(help.replace(/\s+/g, ' ')).toContain(spec.summary);
    expect(help).toContain('Exit codes:');
    expect(err).toEqual([]);
  });

  it.each(GROUPS.map((g) => [g.name]))('`%s --help` lists its subcommands', async (group) => {
    expect(await run([group, '--help'])).toBe(0);
    const subcommands = COMMANDS.filter((c) => c.path[0] === group && c.path.length === 2);
    expect(subcommands.length).toBeGreaterThan(0);
    for (const c of subcommands) expect(out.join('\n')).toContain(c.path[1]);
  });
});

describe.each(COMMANDS.map((c) => [c.path.join(' '), c] as const))('bulkhead %s --help', (words, spec) => {
  it('shows its summary, every option and an example, and exits 0', async () => {
    expect(await run([...spec.path, '--help'])).toBe(0);
    const help = out.join('\n');
    expect(help).toContain(`Usage: bulkhead ${words}`);
    expect(help.replace(/\s+/g, ' ')).toContain(spec.summary);
    for (const o of spec.options ?? []) expect(help).toContain(o.flags.split(' ')[0]);
    expect(help).toMatch(new RegExp(`Examples?:\\n  \\$ bulkhead ${words}`));
    expect(err).toEqual([]);
  });
});

describe('bad usage exits 2 with one line on stderr', () => {
  const cases: [string, () => string[]][] = [
    ['no command', () => []],
    ['an unknown command', () => ['deploy']],
    ['a group without its subcommand', () => ['drill']],
    ['an unknown subcommand', () => ['tenants', 'remove', 'x']],
    ['an unknown option', () => ['release', '--fast']],
    ['a bad --target', () => ['status', '--target', 'gcp']],
    ['a --time-scale below 1', () => ['release', '--time-scale', '0']],
    ['bad --waves', () => ['release', '--waves', 'first']],
    ['an extra argument', () => ['status', 'now']],
    ['rollback without --reason', () => ['rollback', '--cell', 'a0']],
    ['rollback without --cell or --all', () => ['rollback', '--reason', 'slow']],
    ['rollback of an unknown cell', () => ['rollback', '--cell', 'nope', '--reason', 'slow']],
    ['a drill without --cell', () => ['drill', 'rollback']],
    ['a drill of an unknown cell', () => ['drill', 'rollback', '--cell', 'nope']],
    ['a --fault-rate over 1', () => ['drill', 'bad-release', '--cell', 'a0', '--fault-rate', '2']],
    ['a port out of range', () => ['local', 'up', '--port', '70000']],
    ['a --time-scale that is no number', () => ['local', 'up', '--time-scale', 'fast']],
    ['an unknown fault', () => ['local', 'fault', 'cell-gone', 'a0']],
    ['cell-down without a cell', () => ['local', 'fault', 'cell-down']],
    ['cell-down of an unknown cell', () => ['local', 'fault', 'cell-down', 'nope', '--home', fakePlatform]],
    ['local down with an argument', () => ['local', 'down', 'now']],
    ['place without a tenant', () => ['tenants', 'place']],
    ['place of a malformed tenant id', () => ['tenants', 'place', 'Bad_Id']],
    ['move without --to', () => ['tenants', 'move', 'greenleaf']],
    ['move of an unknown tenant', () => ['tenants', 'move', 'x', '--to', 'b1']],
    ['move to an unknown cell', () => ['tenants', 'move', 'greenleaf', '--to', 'nope']],
    ['move with --page-size 0', () => ['tenants', 'move', 'greenleaf', '--to', 'b1', '--page-size', '0']],
  ];
  it.each(cases)('%s', async (_, argv) => {
    expect(await run(argv())).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(/^bulkhead( [a-z-]+)*: \S/);
  });
});

describe('a refusal or a target that cannot be reached exits 1 with its reason', () => {
  const cases: [string, () => string[], (() => CliDeps) | undefined, RegExp][] = [
    [
      'status with no platform running',
      () => ['status', '--target', 'local', '--home', noPlatform],
      () => ({}),
      /no local platform is running/,
    ],
    [
      'a fault with no platform running',
      () => ['local', 'fault', 'cell-down', 'a0', '--home', noPlatform],
      undefined,
      /no local platform is running/,
    ],
    [
      'tenants with no platform running',
      () => ['tenants', 'list', '--target', 'local', '--home', noPlatform],
      () => ({}),
      /no local platform is running/,
    ],
    [
      'status when no cell can be read',
      () => ['status'],
      () => fakeDeps(new UnreachableTarget(FLEET.cells)),
      /could not read any cell .*credentials/,
    ],
    [
      'a move to the cell the tenant is on',
      () => ['tenants', 'move', 'greenleaf', '--to', 'a0'],
      undefined,
      /already on cell a0/,
    ],
  ];
  it.each(cases)('%s', async (_, argv, deps, reason) => {
    expect(await run(argv(), deps?.() ?? fakeDeps())).toBe(1);
    expect(err.at(-1)).toMatch(reason);
    expect(err.at(-1)).toMatch(/^bulkhead [a-z ]+: /);
  });
});

describe('what works exits 0', () => {
  it('status over a target that answers', async () => {
    expect(await run(['status'])).toBe(0);
    expect(out[0]).toBe('fake');
  });

  it('tenants list over a target that answers', async () => {
    expect(await run(['tenants', 'list'])).toBe(0);
    expect(out.join('\n')).toMatch(/greenleaf\s+a0\s+active/);
  });

  it('local down with nothing running says so', async () => {
    expect(await run(['local', 'down', '--home', noPlatform])).toBe(0);
    expect(err).toEqual([`bulkhead local down: no local platform runs in ${noPlatform}: nothing to stop`]);
  });
});
