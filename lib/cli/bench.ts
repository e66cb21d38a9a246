import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { BenchResult } from '../../bench/cell-api';

type CellApiBench = typeof import('../../bench/cell-api');

const RESULTS_FILE = path.resolve(__dirname, '..', '..', 'bench', 'results.json');
const GIB = 1024 ** 3;

const USAGE = 'usage: bulkhead bench [--seconds N] [--concurrency N]';

interface BenchArgs {
  readonly seconds?: number;
  readonly concurrency?: number;
}

/** A usage error: one line on stderr, exit code 2. */
class BadArgs extends Error {}

/**
 * `bulkhead bench`: runs the benchmarks, prints a table on stdout (progress goes to stderr) and merges
 * the figures into bench/results.json by name, so a later run of one benchmark keeps the others'.
 */
export async function bench(argv: readonly string[]): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof BadArgs)) throw error;
    console.error(`bulkhead bench: ${error.message}`);
    return 2;
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  // Loaded only now, as `bulkhead --help` needs none of the AWS SDK; by require() because the CLI's
  // TypeScript loader (tsx/cjs) compiles required modules only, not import()ed ones.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
  const cellApi = require('../../bench/cell-api') as CellApiBench;
  const { benchCellApi, DEFAULT_CONCURRENCY, DEFAULT_SECONDS } = cellApi;
  const seconds = args.seconds ?? DEFAULT_SECONDS;
  const concurrency = args.concurrency ?? DEFAULT_CONCURRENCY;
  // Read first: a broken file should stop the run before two minutes of measuring, not after.
  const previous = readResults();
  const date = new Date();
  const loadBefore = os.loadavg()[0];
  const results = await benchCellApi({ seconds, concurrency });
  // Anything else running competes for the same cores: the load tells the reader how quiet the machine was.
  const load = { before: round2(loadBefore), after: round2(os.loadavg()[0]) };

  const machine = machineInfo();
  console.log(`Bulkhead benchmarks, ${date.toISOString()}`);
  console.log(
    `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ` +
      `Node ${process.version}, ${machine.platform}`,
  );
  console.log(`load (1-min average): ${load.before} before, ${load.after} after`);
  console.log(`settings: ${seconds} s per phase, concurrency ${concurrency}`);
  console.log('');
  console.log(formatTable(results));

  writeResults(previous, results, {
    date: date.toISOString(),
    machine,
    load,
    settings: { seconds, concurrency },
  });
  console.log('');
  console.log(`written: ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  return 0;
}

function parseArgs(argv: readonly string[]): BenchArgs {
  const args: { seconds?: number; concurrency?: number } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') continue;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg];
    if (flag !== '--seconds' && flag !== '--concurrency') {
      throw new BadArgs(`unknown option '${arg}'; ${USAGE}`);
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined || raw === '') throw new BadArgs(`${flag} needs a value; ${USAGE}`);
    const value = Number(raw);
    if (flag === '--seconds') {
      if (!(Number.isFinite(value) && value > 0 && value <= 600)) {
        throw new BadArgs(`--seconds must be a number of seconds above 0 and at most 600, got '${raw}'`);
      }
      args.seconds = value;
    } else {
      if (!(Number.isInteger(value) && value >= 1 && value <= 1024)) {
        throw new BadArgs(`--concurrency must be a whole number from 1 to 1024, got '${raw}'`);
      }
      args.concurrency = value;
    }
  }
  return args;
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
 * Merges by name. A skipped benchmark does not replace an earlier measurement of it: each entry keeps the
 * date and machine it was measured on.
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
