import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { LocalReleases, registerReleaseHandlers } from '../local/codedeploy/local-releases';
import { ControlServer } from '../local/platform/control-server';
import { FAULTS, LocalPlatform } from '../local/platform/platform';
import { platformHome, readState, stateFile } from '../local/platform/platform-state';

const ROOT = path.join(__dirname, '..', '..');

const USAGE = `usage:
  bulkhead local up [--config FILE] [--port N] [--ready-file FILE] [--time-scale N] [--home DIR]
  bulkhead local fault <${FAULTS.join('|')}> [cellId] [--home DIR]

--home (or BULKHEAD_HOME) gives a platform its own state, data and logs: one platform runs per home.`;

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}

/** `bulkhead local up`: runs the fleet until Ctrl-C or SIGTERM, then stops every process it started. */
async function up(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'ready-file': { type: 'string' },
      'time-scale': { type: 'string' },
      home: { type: 'string' },
    },
    strict: true,
  });
  const home = platformHome(values.home);
  const routerPort = integer('--port', values.port, 8080, 0, 65535);
  const timeScale = integer('--time-scale', values['time-scale'], 1, 1, 3600);
  const started = Date.now();
  const platform = new LocalPlatform({
    root: ROOT,
    configFile: values.config ? path.resolve(values.config) : undefined,
    routerPort,
    timeScale,
    home,
    log: (line) => console.error(line),
  });
  const control = new ControlServer(platform);
  const releases = new LocalReleases(platform);
  registerReleaseHandlers(control, releases);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      console.error('local: stopping every process ...');
      releases.close();
      await control.stop();
      await platform.stop();
    })();
    return stopping;
  };
  try {
    await platform.start();
    const controlUrl = await control.start();
    const state = platform.publish({ statusPage: `${controlUrl}/`, control: controlUrl });
    if (values['ready-file'])
      fs.writeFileSync(path.resolve(values['ready-file']), JSON.stringify(state, null, 2));
    const [tenant, { apiKey }] = Object.entries(state.tenants)[0] ?? ['', { apiKey: '' }];
    console.log(
      [
        `Bulkhead local fleet is up: ${Object.keys(state.cells).length} cells, ${Object.keys(state.tenants).length} tenants, ` +
          `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        `  router       ${state.router}`,
        `  status page  ${state.statusPage}`,
        `  state        ${path.relative(process.cwd(), stateFile(home)) || stateFile(home)} (tenant API keys inside)`,
        '',
        `try it (tenant ${tenant}):`,
        `  curl -s -X PUT ${state.router}/inventory/og-kush -H 'authorization: Bearer ${apiKey}' -d '{"quantity":10,"priceCents":2500}'`,
        `  curl -s -X POST ${state.router}/orders -H 'authorization: Bearer ${apiKey}' -d '{"items":[{"sku":"og-kush","quantity":1}]}'`,
        '',
        `drills: npx bulkhead local fault cell-down ${Object.keys(state.cells)[0]}   (and cell-up, integration-down|up, routing-store-down|up)`,
        'Ctrl-C stops everything.',
      ].join('\n'),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  await new Promise<void>((resolve) => {
    const onSignal = () => void stop().then(resolve);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return 0;
}

/** `bulkhead local fault <kind> [cell]`: asks the running platform to take a piece down or bring it back. */
async function fault(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { home: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [kind, cell] = positionals;
  if (!kind || !(FAULTS as readonly string[]).includes(kind)) {
    console.error(`bulkhead local fault: expected one of ${FAULTS.join(', ')}`);
    return 2;
  }
  if (kind.startsWith('cell-') && !cell) {
    console.error(`bulkhead local fault ${kind}: name the cell (e.g. ${kind} use1-a)`);
    return 2;
  }
  const state = readState(stateFile(platformHome(values.home)));
  if (!state) {
    console.error('bulkhead local fault: no local platform is running (start one with `npm start`)');
    return 1;
  }
  const res = await fetch(`${state.control}/control/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fault: kind, ...(cell && { cell }) }),
  });
  const body = (await res.json()) as { message?: string; details?: string };
  if (!res.ok) {
    console.error(`bulkhead local fault: ${body.details ?? res.status}`);
    return 1;
  }
  console.log(body.message);
  return 0;
}

export async function localCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'up') return up(rest);
  if (sub === 'fault') return fault(rest);
  console.error(USAGE);
  return 2;
}
