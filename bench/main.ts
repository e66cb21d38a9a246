import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { BenchResult } from './cell-api';

type CellApiBench = typeof import('./cell-api');
type RouterBench = typeof import('./router');
type MoveBench = typeof import('./tenant-move');
type ReleaseBench = typeof import('./release');
type SynthBench = typeof import('./synth');
type HandlersBench = typeof import('./handlers');
type IamBench = typeof import('./iam');
type PlatformRunner = typeof import('../harness/platform-runner');

const ROOT = path.resolve(__dirname, '..');
const RESULTS_FILE = path.join(ROOT, 'bench', 'results.json');
const GIB = 1024 ** 3;

/** Every benchmark, in the order they run: the in-process ones, then the platform's, then synth. */
export const BENCHES = [
  'cell-api',
  'drain',
  'router',
  'move',
  'release',
  'iam',
  'synth',
  'handlers',
] as const;
type BenchName = (typeof BENCHES)[number];

const USAGE =
  'usage: npm run bench -- [--only NAME[,NAME...]] [--seconds N] [--concurrency N] [--rate N]\n' +
  `  benchmarks: ${BENCHES.join(', ')} (all by default)\n` +
  '  --seconds      measured seconds per phase of cell-api, router and iam (default 10)\n' +
  '  --concurrency  requests in flight in the cell-api phases (default 16)\n' +
  '  --rate         requests per second of the router fixed-rate runs (default 100)';

interface BenchArgs {
  readonly seconds?: number;
  readonly concurrency?: number;
  readonly rate?: number;
  readonly only: ReadonlySet<BenchName>;
}

/** A usage error: one line on stderr, exit code 2. */
class BadArgs extends Error {}

/** The platform the router, move and release benchmarks share: two small cells, a tenant on each. */
const BENCH_FLEET = {
  defaults: { account: '111111111111', region: 'us-east-1' },
  // The router benchmarks saturate one tenant: limits above what the machine can send, so the figures
  // are the hop's (the counters' writes included), not 429s.
  router: { tenantLimits: { requestsPerSecond: 1_000_000, concurrentRequests: 10_000 } },
  cells: [
    { id: 'bench-a', wave: 0, maxTenants: 20, tenants: ['bench-reader'] },
    {
      id: 'bench-b',
      wave: 1,
      maxTenants: 20,
      // The flood of the router's tenant-limit run: 20 x this limit.
      tenants: [
        'bench-other',
        { id: 'bench-flood', limits: { requestsPerSecond: 20, concurrentRequests: 10 } },
      ],
    },
  ],
};

/**
 * `npm run bench`: runs the benchmarks, prints a table on stdout (progress goes to stderr) and merges
 * the figures into bench/results.json by name, so a later run of one benchmark keeps the others'.
 */
export async function bench(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let args: BenchArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof BadArgs)) throw error;
    console.error(`bench: ${error.message}`);
    return 2;
  }
  // Read first: a broken file should stop the run before minutes of measuring, not after.
  const previous = readResults();
  const date = new Date();
  const loadBefore = os.loadavg()[0];
  const started = performance.now();
  const progress = (line: string) =>
    process.stderr.write(
      `bench [${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`,
    );
  const results = await runBenches(args, progress);
  // Anything else running competes for the same cores: the load tells the reader how quiet the machine was.
  const load = { before: round2(loadBefore), after: round2(os.loadavg()[0]) };
  const seconds = args.seconds ?? 10;
  const concurrency = args.concurrency ?? 16;
  const rate = args.rate ?? 100;

  const machine = machineInfo();
  const command = ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' ');
  console.log(`Bulkhead benchmarks, ${date.toISOString()} (${command})`);
  console.log(
    `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ` +
      `Node ${process.version}, ${machine.platform}`,
  );
  console.log(`load (1-min average): ${load.before} before, ${load.after} after`);
  console.log(
    `settings: ${seconds} s per phase, concurrency ${concurrency}, router fixed rate ${rate} req/s; ` +
      `ran: ${[...args.only].join(', ')} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log('');
  console.log(formatTable(results));

  writeResults(previous, results, {
    date: date.toISOString(),
    machine,
    load,
    command,
    settings: { seconds, concurrency, rate },
  });
  console.log('');
  console.log(`written: ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return 0;
}

/** A benchmark that fails leaves a row saying so, and the others still run. */
async function guarded(
  name: string,
  progress: (line: string) => void,
  work: () => Promise<BenchResult[]>,
): Promise<BenchResult[]> {
  try {
    return await work();
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    progress(`${name}: FAILED: ${(error as Error).message}`);
    return [{ name: `${name}.failed`, value: null, unit: '-', notes: `failed: ${message}` }];
  }
}

/*
 * The benchmark modules are loaded only when they run, as `bulkhead --help` needs none of them; by
 * require() because the CLI's TypeScript loader (tsx/cjs) compiles required modules only, not import()ed ones.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- see above */
async function runBenches(args: BenchArgs, progress: (line: string) => void): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const has = (name: BenchName) => args.only.has(name);

  if (has('cell-api') || has('drain')) {
    const { benchCellApi } = require('./cell-api') as CellApiBench;
    const name = has('cell-api') ? 'cell-api' : 'drain';
    results.push(
      ...(await guarded(name, progress, () =>
        benchCellApi({
          seconds: args.seconds,
          concurrency: args.concurrency,
          orders: has('cell-api'),
          drain: has('drain'),
          progress,
        }),
      )),
    );
  }

  if (has('router') || has('move') || has('release')) {
    const { startPlatform } = require('../harness/platform-runner') as PlatformRunner;
    let platform: Awaited<ReturnType<PlatformRunner['startPlatform']>> | undefined;
    try {
      // IAM enforcement off: the router and move benches call the cells straight with the headers the
      // router sends, which a cell takes only from the router's role session, a role nothing but Lambda may
      // assume. What enforcement costs is the `iam` bench's.
      platform = await startPlatform({
        fleet: BENCH_FLEET,
        label: 'bench',
        log: progress,
        enforceIam: false,
      });
    } catch (error) {
      const notes = `failed: the local platform did not start: ${(error as Error).message.split('\n')[0]}`;
      progress(notes);
      results.push({ name: 'platform.failed', value: null, unit: '-', notes });
    }
    if (platform) {
      const running = platform;
      try {
        if (has('router')) {
          const { benchRouter, benchTenantFlood } = require('./router') as RouterBench;
          results.push(
            ...(await guarded('router', progress, () =>
              benchRouter(running.state, { seconds: args.seconds, rate: args.rate, progress }),
            )),
            ...(await guarded('router-flood', progress, () =>
              benchTenantFlood(running.state, { seconds: args.seconds, progress }),
            )),
          );
        }
        if (has('move')) {
          const { benchTenantMove } = require('./tenant-move') as MoveBench;
          results.push(
            ...(await guarded('tenant-move', progress, () => benchTenantMove(running, { progress }))),
          );
        }
        if (has('release')) {
          const { benchRelease } = require('./release') as ReleaseBench;
          results.push(...(await guarded('release', progress, () => benchRelease(running, { progress }))));
        }
      } finally {
        progress('stopping the local platform');
        await running.stop();
      }
    }
  }

  if (has('iam')) {
    const { benchIam } = require('./iam') as IamBench;
    results.push(
      ...(await guarded('iam', progress, () =>
        benchIam({ fleet: BENCH_FLEET, seconds: args.seconds, progress }),
      )),
    );
  }

  let workDir: string | undefined;
  try {
    let assemblyDir: string | undefined;
    if (has('synth')) {
      const { benchSynth, tempDir } = require('./synth') as SynthBench;
      const dir = (workDir = tempDir('synth'));
      results.push(
        ...(await guarded('synth', progress, async () => {
          const synth = await benchSynth({ workDir: dir, progress });
          assemblyDir = synth.smallestAssembly;
          return synth.results;
        })),
      );
    }
    if (has('handlers')) {
      const { benchHandlers } = require('./handlers') as HandlersBench;
      results.push(
        ...(await guarded('handlers', progress, async () => {
          if (!assemblyDir) {
            const { tempDir } = require('./synth') as SynthBench;
            workDir ??= tempDir('handlers');
            assemblyDir = synthesizeExample(path.join(workDir, 'cdk.out'), progress);
          }
          return benchHandlers({ assemblyDir, progress });
        })),
      );
    }
  } finally {
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  }
  return results;
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** The example fleet, synthesized without cdk-nag, for the handler bundles. */
function synthesizeExample(outDir: string, progress: (line: string) => void): string {
  progress('handlers: synthesizing the example fleet for its bundles');
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only here
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const result = spawnSync(
    process.execPath,
    [path.join(ROOT, 'scripts', 'synth.js'), '-o', outDir, '-c', 'nag=false'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`synth failed: ${result.stderr.trim().split('\n').pop()}`);
  return outDir;
}

function parseArgs(argv: readonly string[]): BenchArgs {
  const args: { seconds?: number; concurrency?: number; rate?: number; only?: Set<BenchName> } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg];
    if (!['--seconds', '--concurrency', '--rate', '--only'].includes(flag)) {
      throw new BadArgs(`unknown option '${arg}'; run 'npm run bench -- --help'`);
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined || raw === '')
      throw new BadArgs(`${flag} needs a value; run 'npm run bench -- --help'`);
    if (flag === '--only') {
      const names = raw.split(',').map((n) => n.trim());
      const unknown = names.filter((n) => !(BENCHES as readonly string[]).includes(n));
      if (unknown.length > 0) {
        throw new BadArgs(`--only: unknown benchmark '${unknown.join(', ')}'; known: ${BENCHES.join(', ')}`);
      }
      args.only = new Set(names as BenchName[]);
      continue;
    }
    const value = Number(raw);
    if (flag === '--seconds') {
      if (!(Number.isFinite(value) && value > 0 && value <= 600)) {
        throw new BadArgs(`--seconds must be a number of seconds above 0 and at most 600, got '${raw}'`);
      }
      args.seconds = value;
    } else if (flag === '--concurrency') {
      if (!(Number.isInteger(value) && value >= 1 && value <= 1024)) {
        throw new BadArgs(`--concurrency must be a whole number from 1 to 1024, got '${raw}'`);
      }
      args.concurrency = value;
    } else {
      if (!(Number.isFinite(value) && value >= 1 && value <= 10_000)) {
        throw new BadArgs(`--rate must be a number of requests per second from 1 to 10000, got '${raw}'`);
      }
      args.rate = value;
    }
  }
  return { ...args, only: args.only ?? new Set(BENCHES) };
}

function machineInfo() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Number((os.totalmem() / GIB).toFixed(1)),
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
  };
}

const round2 = (value: number): number => Number(value.toFixed(2));

function formatFigure(value: number | null): string {
  if (value === null) return '-';
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function formatTable(results: readonly BenchResult[]): string {
  const header = ['name', 'figure', 'unit', 'notes'];
  const rows = results.map((r) => [r.name, formatFigure(r.value), r.unit, r.notes]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => {
        if (c === cells.length - 1) return cell;
        // Figures right-aligned so their digits line up.
        return c === 1 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]);
      })
      .join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

interface RunInfo {
  readonly date: string;
  readonly machine: ReturnType<typeof machineInfo>;
  readonly load: { readonly before: number; readonly after: number };
  readonly command: string;
  readonly settings: Readonly<Record<string, number>>;
}

function readResults(): Record<string, unknown> {
  if (!fs.existsSync(RESULTS_FILE)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(RESULTS_FILE, 'utf8'));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(
      `${RESULTS_FILE} is not a JSON object of results by name; fix or delete it, then run again`,
    );
  }
  return parsed as Record<string, unknown>;
}

/**
 * Merges by name. A skipped or failed benchmark does not replace an earlier measurement of it: each entry
 * keeps the date and machine it was measured on.
 */
function writeResults(
  previous: Readonly<Record<string, unknown>>,
  results: readonly BenchResult[],
  run: RunInfo,
): void {
  const merged: Record<string, unknown> = { ...previous };
  for (const r of results) {
    if (r.value === null && r.name in previous) continue;
    merged[r.name] = { value: r.value, unit: r.unit, notes: r.notes, ...run };
  }
  const sorted = Object.fromEntries(
    Object.keys(merged)
      .sort()
      .map((name) => [name, merged[name]]),
  );
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(sorted, null, 2)}\n`);
}

if (require.main === module) {
  void bench(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
