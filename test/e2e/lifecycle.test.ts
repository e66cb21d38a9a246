/**
 * The local platform's life, as an operator lives it (issue 14): a cell whose database dies shows as down
 * by itself; `bulkhead local down` leaves no process; a restart keeps the data, the tenants' keys (placed
 * ones too) and the released versions; `--fresh` starts empty; and the death of the process that started
 * the platform (even by SIGKILL) stops it and every child. One home, used by every step in order.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CLI, type RunningPlatform, startPlatform } from '../../harness/platform-runner';
import { descendants, type ProcessInfo, processTree, stillAlive } from '../../harness/processes';
import { until } from '../../harness/wait';
import type { FleetConfig } from '../../lib/config/types';
import { type PlatformState, readState, stateFile } from '../../lib/local/platform/platform-state';

jest.setTimeout(600_000);

const FLEET: FleetConfig = {
  defaults: { account: '111111111111', region: 'us-east-1' },
  cells: [
    { id: 'life-a', wave: 0, maxTenants: 10, tenants: ['alpha'] },
    { id: 'life-b', wave: 1, maxTenants: 10, tenants: ['bravo'] },
  ],
} as FleetConfig;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-lifecycle-'));
let platform: RunningPlatform | undefined;
/** What the first run wrote and issued: a restart must serve it. */
const first: { alphaKey?: string; placedKey?: string; release?: string } = {};

const start = async (args: readonly string[] = []) => {
  platform = await startPlatform({ fleet: FLEET, label: 'lifecycle', timeScale: 600, home, args });
  return platform;
};

async function get(state: PlatformState, key: string, route: string) {
  const res = await fetch(`${state.router}${route}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The live versions of the API alias per cell, as `bulkhead status --json` says. */
async function liveApi(p: RunningPlatform): Promise<Record<string, string>> {
  const status = await p.cli(['status', '--json']);
  expect(status.code).toBe(0);
  const { cells } = JSON.parse(status.stdout) as {
    cells: {
      cell: string;
      functions: { name: string; release: string | null; weights: { version: string }[] }[];
    }[];
  };
  return Object.fromEntries(
    cells.map((c) => {
      const api = c.functions.find((f) => f.name === `bulkhead-${c.cell}-api`)!;
      return [c.cell, `v${api.weights.map((w) => w.version).join('+')} ${api.release ?? ''}`.trim()];
    }),
  );
}

/** Every process of `tree` is gone within `ms` (zombies count as gone). */
const allGone = (what: string, tree: readonly ProcessInfo[], ms = 60_000) =>
  until(what, ms, async () => (stillAlive(tree).length === 0 ? true : undefined)).catch(() =>
    expect(stillAlive(tree).map((p) => `${p.pid} ${p.cmdline.slice(0, 100)}`)).toEqual([]),
  );

afterAll(async () => {
  await platform?.stop();
  fs.rmSync(home, { recursive: true, force: true });
});

describe('the local platform across stops and starts', () => {
  it('starts, takes data, places a tenant and releases a version', async () => {
    const p = await start(['--fresh']);
    first.alphaKey = p.state.tenants.alpha.apiKey;
    const put = await fetch(`${p.state.router}/inventory/og-kush`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${first.alphaKey}` },
      body: JSON.stringify({ quantity: 7, priceCents: 2500 }),
    });
    expect(put.status).toBe(200);
    const placed = await p.cli(['tenants', 'place', 'charlie', '--json']);
    expect(placed.code).toBe(0);
    first.placedKey = (JSON.parse(placed.stdout) as { apiKey: string }).apiKey;
    first.release = 'r-life-1';
    const release = await p.cli(['release', '--version', first.release, '--json']);
    expect(release.stderr).toMatch(/time scale 600/);
    expect(release.code).toBe(0);
    expect(await liveApi(p)).toEqual({ 'life-a': 'v2 r-life-1', 'life-b': 'v2 r-life-1' });
  });

  it('shows a cell whose database process was killed as down, without a command, within seconds', async () => {
    const p = platform!;
    const pid = p.dynamoPid('life-a');
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    const cell = await until('the state file to say life-a is down', 15_000, async () => {
      const c = readState(stateFile(home))?.cells['life-a'];
      return c?.status === 'down' ? c : undefined;
    });
    expect(cell.reason).toMatch(/DynamoDB Local process died \(killed by SIGKILL\)/);
    const status = await p.cli(['status', '--json']);
    const rows = (JSON.parse(status.stdout) as { cells: { cell: string; unavailable?: string }[] }).cells;
    expect(rows.find((r) => r.cell === 'life-a')?.unavailable).toMatch(
      /the cell is down: its DynamoDB Local/,
    );
    expect(rows.find((r) => r.cell === 'life-b')?.unavailable).toBeUndefined();
    await p.fault('cell-up', 'life-a');
    expect(readState(stateFile(home))?.cells['life-a'].status).toBe('up');
  });

  it('`local down` stops the platform and every process it started, and says so once', async () => {
    const p = platform!;
    const tree = processTree(p.pid);
    expect(tree.filter((t) => /DynamoDBLocal|fauxqs/.test(t.cmdline)).length).toBeGreaterThanOrEqual(6);
    const down = await p.cli(['local', 'down', '--home', home]);
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/^stopped the local platform \(pid \d+\) in [\d.]+ s$/m);
    await allGone('every process of the platform to end', tree);
    expect(readState(stateFile(home))).toBeUndefined();
    expect(p.logTail(5)).toMatch(/local: stopping every process it started \(SIGTERM\)/);
    expect(p.logTail(5)).not.toMatch(/refus/);
    platform = undefined;
  });

  it('starts again with the data, the keys (placed ones too) and the released versions of the last run', async () => {
    const p = await start();
    expect(p.state.tenants.alpha.apiKey).toBe(first.alphaKey);
    expect(await get(p.state, first.alphaKey!, '/inventory/og-kush')).toMatchObject({
      status: 200,
      body: { sku: 'og-kush', quantity: 7 },
    });
    expect((await get(p.state, first.placedKey!, '/inventory')).status).toBe(200);
    expect(await liveApi(p)).toEqual({ 'life-a': 'v2 r-life-1', 'life-b': 'v2 r-life-1' });
    const rollback = await p.cli([
      'rollback',
      '--cell',
      'life-a',
      '--reason',
      'the previous version came back too',
    ]);
    expect(rollback.code).toBe(0);
    expect((await liveApi(p))['life-a']).toMatch(/^v1\b/);
    const down = await p.cli(['local', 'down', '--home', home]);
    expect(down.code).toBe(0);
    await allGone('the restarted platform to end', processTree(p.pid));
    platform = undefined;
  });

  it('with --fresh starts empty, and stops with every child when the process that started it is SIGKILLed', async () => {
    // A parent that starts the platform and then is killed, as `kill -9 <pid of npm start>` would.
    const readyFile = path.join(home, 'parent-ready.json');
    const logFile = path.join(home, 'parent-platform.log');
    const parent: ChildProcess = spawn(
      process.execPath,
      [
        '-e',
        `const out = require('node:fs').openSync(${JSON.stringify(logFile)}, 'a'); require('node:child_process').spawn(process.execPath, ${JSON.stringify(
          [
            CLI,
            ...['local', 'up', '--home', home, '--port', '0', '--time-scale', '600', '--fresh'],
            ...['--config', path.join(home, 'fleet.json'), '--ready-file', readyFile],
          ],
        )}, { stdio: ['ignore', out, out] }); setInterval(() => undefined, 1000);`,
      ],
      { stdio: 'ignore' },
    );
    // Ready, or the platform's own one-line refusal (its log says why it could not start).
    const outcome = await until('the platform started by the parent to be ready', 300_000, async () => {
      const refused =
        fs.existsSync(logFile) && /^bulkhead local up: .*/m.exec(fs.readFileSync(logFile, 'utf8'));
      if (refused) return { refused: refused[0] };
      return fs.existsSync(readyFile)
        ? { state: JSON.parse(fs.readFileSync(readyFile, 'utf8')) as PlatformState }
        : undefined;
    });
    expect(outcome.refused).toBeUndefined();
    const state = outcome.state!;
    expect(state.tenants.alpha.apiKey).not.toBe(first.alphaKey);
    expect((await get(state, first.alphaKey!, '/inventory/og-kush')).status).toBe(401);
    expect((await get(state, first.placedKey!, '/inventory')).status).toBe(401);
    expect((await get(state, state.tenants.alpha.apiKey, '/inventory/og-kush')).status).toBe(404);
    const tree = [...processTree(parent.pid!), ...descendants(parent.pid!)];
    expect(tree.some((p) => p.pid === state.pid)).toBe(true);
    parent.kill('SIGKILL');
    await allGone('the platform and its children to end after their parent died', tree);
    expect(readState(stateFile(home))).toBeUndefined();
  });
});
