/**
 * `bulkhead local up|down|fault`: the local platform's life (lib/local/platform/lifecycle.ts) and its
 * fault switches. `--home` (or BULKHEAD_HOME) gives a platform its own state, data and logs: one
 * platform runs per home.
 */
import * as path from 'node:path';

import { DRILL_TENANT } from '../contracts/names';
import { formatReceipts, type ReceiptLine } from '../local/platform/compliance';
import { controlCall } from '../local/platform/control-client';
import { FAULTS } from '../local/platform/faults';
import { startLocalPlatform, stopLocalPlatform } from '../local/platform/lifecycle';
import { IAM_OFF_WARNING } from '../local/platform/platform';
import { platformHome, readState, stateFile } from '../local/platform/platform-state';

import { type CommandSpec, integerIn, type OptionSpec } from './command';
import { type Io, UsageError } from './io';

const ROOT = path.join(__dirname, '..', '..');

const HOME_OPTION: OptionSpec = {
  flags: '--home <dir>',
  description: "the platform's state, data and logs (one platform runs per home)",
  defaultText: 'BULKHEAD_HOME or .bulkhead/local',
};

interface UpArgs {
  readonly config?: string;
  readonly assembly?: string;
  readonly port?: number;
  readonly readyFile?: string;
  readonly timeScale?: number;
  readonly home?: string;
  readonly fresh?: boolean;
  /** false with `--no-enforce-iam`. */
  readonly enforceIam?: boolean;
}

function printBanner(
  state: Awaited<ReturnType<typeof startLocalPlatform>>['state'],
  ms: number,
  home: string,
  io: Io,
  enforceIam: boolean,
) {
  const [tenant, { apiKey }] = Object.entries(state.tenants)[0] ?? ['', { apiKey: '' }];
  const file = stateFile(home);
  io.out(
    [
      `Bulkhead local fleet is up: ${Object.keys(state.cells).length} cells, ${Object.keys(state.tenants).length} tenants, ` +
        `in ${(ms / 1000).toFixed(1)} s (time scale ${state.timeScale ?? 1})`,
      `  router       ${state.router}`,
      `  status page  ${state.statusPage}`,
      `  state        ${path.relative(process.cwd(), file) || file} (tenant API keys inside)`,
      ...(enforceIam ? [] : [`  ${IAM_OFF_WARNING}`]),
      '',
      `try it (tenant ${tenant}):`,
      `  curl -s -X PUT ${state.router}/inventory/og-kush -H 'authorization: Bearer ${apiKey}' -d '{"quantity":10,"priceCents":2500}'`,
      `  curl -s -X POST ${state.router}/orders -H 'authorization: Bearer ${apiKey}' -d '{"items":[{"sku":"og-kush","quantity":1}]}'`,
      '',
      `drills: npx bulkhead local fault cell-down ${Object.keys(state.cells)[0]}   (and cell-up, integration-down|flaky|up, routing-store-down|up)`,
      `Ctrl-C, \`npx bulkhead local down\` or the end of the process that started it stops everything; data and keys stay for the next start (--fresh starts empty).`,
    ].join('\n'),
  );
}

export const localUpCommand: CommandSpec<unknown> = {
  path: ['local', 'up'],
  summary: 'run the whole fleet on this machine until Ctrl-C, `local down` or the end of its parent',
  options: [
    { flags: '--config <file>', description: 'the fleet file', defaultText: 'cells.config.ts' },
    {
      flags: '--assembly <dir>',
      description:
        'run this already synthesized cloud assembly (the cdk.out a pipeline deploys) instead of synthesizing; --config names its fleet file',
    },
    {
      flags: '--port <n>',
      description: "the router's port (0: any free one)",
      parse: integerIn(0, 65535),
      defaultText: '8080',
    },
    { flags: '--ready-file <file>', description: 'write the state document here once everything answers' },
    {
      flags: '--time-scale <n>',
      description: 'minutes of schedules, grace periods and deployments per real minute',
      parse: integerIn(1, 3600),
      defaultText: '1 (real time)',
    },
    {
      flags: '--no-enforce-iam',
      description: 'allow every local AWS call whatever the policies say (debugging only; said loudly)',
    },
    {
      flags: '--fresh',
      description: 'start empty: no tables, tenants, keys, versions or release log from before',
    },
    HOME_OPTION,
  ],
  examples: [
    'local up --time-scale 60',
    'local up --port 0 --ready-file r.json --home /tmp/fleet --fresh',
    'local up --assembly cdk.out --config cells.config.ts',
  ],
  async run({ opts, io }) {
    const args = opts as UpArgs;
    const home = platformHome(args.home);
    const started = Date.now();
    const running = await startLocalPlatform({
      root: ROOT,
      ...(args.config && { configFile: path.resolve(args.config) }),
      ...(args.assembly && { assemblyDir: path.resolve(args.assembly) }),
      routerPort: args.port ?? 8080,
      timeScale: args.timeScale ?? 1,
      home,
      fresh: args.fresh ?? false,
      enforceIam: args.enforceIam !== false,
      ...(args.readyFile && { readyFile: args.readyFile }),
      log: (line) => io.err(line),
    });
    printBanner(running.state, Date.now() - started, home, io, args.enforceIam !== false);
    await running.stopped;
    return 0;
  },
};

export const localDownCommand: CommandSpec<unknown> = {
  path: ['local', 'down'],
  summary: 'stop the running local platform of a home and every process it started',
  options: [HOME_OPTION],
  examples: ['local down', 'local down --home /tmp/fleet'],
  async run({ opts, io }) {
    const home = platformHome((opts as { home?: string }).home);
    const down = await stopLocalPlatform(home);
    if (down.state === 'not-running') {
      io.err(`bulkhead local down: no local platform runs in ${home}: nothing to stop`);
      return 0;
    }
    io.out(
      `stopped the local platform (pid ${down.pid}) in ${(down.ms / 1000).toFixed(1)} s` +
        (down.forced ? ': it did not stop by itself, so it was killed (its children die with it)' : ''),
    );
    return 0;
  },
};

export const localFaultCommand: CommandSpec<unknown> = {
  path: ['local', 'fault'],
  summary: 'take a piece of the running fleet down, or bring it back (drills)',
  args: [
    { name: '<fault>', description: 'what to do', choices: FAULTS },
    { name: '[cellId]', description: 'the cell, for cell-down and cell-up' },
  ],
  options: [HOME_OPTION],
  examples: ['local fault cell-down use1-a', 'local fault integration-down'],
  async run({ args, opts, io }) {
    const [kind, cell] = args;
    if (kind.startsWith('cell-') && !cell) throw new UsageError(`${kind} needs a cell (e.g. ${kind} use1-a)`);
    const home = platformHome((opts as { home?: string }).home);
    const state = readState(stateFile(home));
    if (!state) throw new Error(`no local platform is running in ${home} (start one with \`npm start\`)`);
    if (kind.startsWith('cell-') && !(cell in state.cells))
      throw new UsageError(`unknown cell '${cell}'; cells: ${Object.keys(state.cells).join(', ')}`);
    const { message } = await controlCall<{ message: string }>(state, 'fault', {
      fault: kind,
      ...(cell && { cell }),
    });
    io.out(message);
    return 0;
  },
};

export const localComplianceCommand: CommandSpec<unknown> = {
  path: ['local', 'compliance'],
  summary: "what the state system (the local Metrc simulator) holds for a tenant's license",
  args: [
    { name: '<what>', description: 'what to list', choices: ['receipts'] },
    { name: '<tenantId>', description: `the tenant (${DRILL_TENANT}: what the drills' sandbox holds)` },
  ],
  options: [{ flags: '--json', description: 'print the result as JSON' }, HOME_OPTION],
  examples: [
    'local compliance receipts greenleaf',
    'local compliance receipts greenleaf --json',
    `local compliance receipts ${DRILL_TENANT}`,
  ],
  async run({ args, opts, io }) {
    const [, tenant] = args;
    const { home: given, json } = opts as { home?: string; json?: boolean };
    const home = platformHome(given);
    const state = readState(stateFile(home));
    if (!state) throw new Error(`no local platform is running in ${home} (start one with \`npm start\`)`);
    if (!(tenant in state.tenants) && tenant !== DRILL_TENANT) {
      const known = [...Object.keys(state.tenants), DRILL_TENANT];
      throw new UsageError(`unknown tenant '${tenant}'; tenants: ${known.join(', ')}`);
    }
    const body = await controlCall<{ licenseNumber: string; receipts: ReceiptLine[] }>(
      state,
      'compliance-receipts',
      { tenant },
    );
    io.out(json ? JSON.stringify(body, null, 2) : formatReceipts(tenant, body));
    return 0;
  },
};
