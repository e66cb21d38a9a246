/**
 * The status page as a release manager watches a release on it (issue 14): headless Chromium on a local
 * platform of one cell. Its first load shows real values or "loading", never "unknown"; during a canary
 * release under traffic the cell's charts gain points, show both versions and a release marker, and the
 * page is saved as `test-artifacts/status-page-during-release.png`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { type Browser, chromium, type Page } from 'playwright-core';

import { closeConnections, send, sleep } from '../../harness/http-client';
import { type RunningPlatform, startPlatform } from '../../harness/platform-runner';
import { until } from '../../harness/wait';
import type { FleetConfig } from '../../lib/config/types';
import type { StatusHistoryView } from '../../lib/local/platform/status-history';

jest.setTimeout(600_000);

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
const integration = { baseUrl: 'https://compliance.example.com', ratePerSecond: 50, burst: 10 };
const FLEET: FleetConfig = {
  defaults: { account: '111111111111', region: 'us-east-1', bakeMinutes: 0 },
  cells: [
    {
      id: 'page-a',
      wave: 0,
      maxTenants: 10,
      // At time scale 60 the canary holds 50% on the new version for 20 s.
      deployment: { type: 'canary', percent: 50, intervalMinutes: 20 },
      tenants: [{ id: 'alpha', integration }, 'bravo'],
    },
  ],
};

let platform: RunningPlatform;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  platform = await startPlatform({ fleet: FLEET, label: 'status-page', timeScale: 60 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
});

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
  closeConnections();
});

const history = () =>
  page.evaluate(() => (globalThis as unknown as { bulkheadHistory?: StatusHistoryView }).bulkheadHistory);

/** Reads through the router as `tenant` until stopped. */
function traffic(tenant: string) {
  let running = true;
  const loop = (async () => {
    while (running) {
      await send(platform.state.router, {
        method: 'GET',
        path: '/inventory',
        headers: { authorization: `Bearer ${platform.state.tenants[tenant].apiKey}` },
      });
      await sleep(10);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

test('the first load shows each integration as a colour, n/a or loading, never unknown', async () => {
  // The integration column only: "unknown" is also the name of a reconciliation count.
  const integrations = () =>
    page.locator('[data-tenant]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-integration')));
  await page.goto(platform.state.statusPage);
  const first = await integrations();
  expect(first).toHaveLength(2);
  for (const colour of first) expect(colour).toMatch(/^(green|orange|red|n\/a|loading)$/);
  await page.locator('body[data-refreshed]').waitFor({ timeout: 30_000 });
  const refreshed = await integrations();
  expect(refreshed).toHaveLength(2);
  for (const colour of refreshed) expect(colour).toMatch(/^(green|orange|red|n\/a|loading)$/);
});

test('during a canary release the charts move, show both versions and mark the release', async () => {
  const stopTraffic = traffic('alpha');
  try {
    await until('the charts to have points', 60_000, async () =>
      Number(await page.locator('[data-chart="page-a rps"]').getAttribute('data-points')) > 2
        ? true
        : undefined,
    );
    const release = platform.cli(['release', '--version', 'r-page-1']);
    const during = await until('both versions and a release marker on the page', 300_000, async () => {
      const h = await history();
      const last = h?.cells['page-a']?.at(-1);
      const marked = h?.markers.some((m) => m.cell === 'page-a' && m.kind === 'release');
      return last && last.versions.length === 2 && marked ? h : undefined;
    });
    const pointsBefore = Number(await page.locator('[data-chart="page-a rps"]').getAttribute('data-points'));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page-during-release.png'), fullPage: true });
    const split = during.cells['page-a'].at(-1)!.versions;
    expect(split.map((v) => v.weightPct)).toEqual([50, 50]);
    expect((await release).code).toBe(0);
    const after = await until('the end of the release on the page', 60_000, async () => {
      const h = await history();
      return h?.markers.some((m) => m.cell === 'page-a' && m.kind === 'end') ? h : undefined;
    });
    const pointsAfter = Number(await page.locator('[data-chart="page-a rps"]').getAttribute('data-points'));
    expect(pointsAfter).toBeGreaterThan(pointsBefore);
    const served = after.cells['page-a'].flatMap((s) =>
      s.versions.filter((v) => v.rps > 0).map((v) => v.version),
    );
    expect(new Set(served)).toEqual(new Set(['1', '2']));
    expect(await page.locator('#incidents').innerText()).toMatch(/no incidents/);
  } finally {
    await stopTraffic();
  }
});

test('a downed cell is an incident on the page, from when to when', async () => {
  await platform.fault('cell-down', 'page-a');
  await page.locator('[data-incident="cell-down"].bad').waitFor({ timeout: 30_000 });
  await platform.fault('cell-up', 'page-a');
  await page.locator('[data-incident="cell-down"]:not(.bad)').waitFor({ timeout: 30_000 });
  expect(await page.locator('[data-incident="cell-down"]').innerText()).toMatch(
    /page-a · \d\d:\d\d:\d\d–\d\d:\d\d:\d\d/,
  );
});
