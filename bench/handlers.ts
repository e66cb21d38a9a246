/**
 * Handlers as `cdk synth` packages them: the size of each function's bundle (`index.js` of its asset)
 * and its module load time (the cold init before the first invocation), measured in a fresh `node`
 * process per load with the function's own environment from the template (references filled with
 * placeholders: loading must not need the resources to exist), median of 5.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';

import { resolveEnvironment } from '../lib/local/assembly/environment';
import type { LocalFunction } from '../lib/local/assembly/model';
import { readAssembly } from '../lib/local/assembly/template-model';

import type { BenchResult } from './cell-api';

export interface HandlersBenchOptions {
  /** A synthesized cloud assembly (`cdk.out`). */
  readonly assemblyDir: string;
  /** Loads per function. @default 5 */
  readonly runs?: number;
  readonly progress: (line: string) => void;
}

/** Loads the module, then reports how long the require() took; the handler export must be a function. */
const LOADER = `
const [file, exportName] = process.argv.slice(1);
const started = performance.now();
const mod = require(file);
const ms = performance.now() - started;
if (typeof mod[exportName] !== 'function') throw new Error(file + ' exports no function ' + exportName);
process.stdout.write(JSON.stringify({ ms }));
process.exit(0);
`;

/** `ApiF70053CD` → `Api`: the construct id without CDK's hash suffix. */
const shortName = (fn: LocalFunction) => fn.logicalId.replace(/[0-9A-F]{8}$/, '');

function environmentOf(fn: LocalFunction, stackRegion: string): Record<string, string> {
  const resolved = resolveEnvironment(fn, (ref) => `placeholder-${ref.kind}-${ref.logicalId}`);
  return {
    PATH: process.env.PATH ?? '',
    ...resolved,
    AWS_REGION: stackRegion,
    AWS_DEFAULT_REGION: stackRegion,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '1',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}

function loadOnce(fn: LocalFunction, env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', LOADER, fn.handlerFile, fn.handlerExport],
      { env, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new Error(
              `${shortName(fn)} failed to load: ${String(stderr).trim().split('\n').slice(-3).join(' ')}`,
            ),
          );
          return;
        }
        resolve((JSON.parse(String(stdout)) as { ms: number }).ms);
      },
    );
  });
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export async function benchHandlers(options: HandlersBenchOptions): Promise<BenchResult[]> {
  const runs = options.runs ?? 5;
  const assembly = readAssembly(options.assemblyDir);
  // One row per bundle: every cell packages the same code.
  const seen = new Set<string>();
  const functions: { fn: LocalFunction; region: string }[] = [];
  for (const stack of [assembly.router, ...assembly.cells]) {
    for (const fn of stack.functions) {
      if (seen.has(fn.handlerFile)) continue;
      seen.add(fn.handlerFile);
      functions.push({ fn, region: stack.region ?? 'us-east-1' });
    }
  }
  const results: BenchResult[] = [];
  for (const { fn, region } of functions) {
    const name = shortName(fn);
    const bytes = fs.statSync(fn.handlerFile).size;
    const env = environmentOf(fn, region);
    options.progress(`handlers: ${name}: ${runs} cold loads of ${(bytes / 1024).toFixed(0)} KiB`);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await loadOnce(fn, env));
    const map = fs.existsSync(`${fn.handlerFile}.map`) ? fs.statSync(`${fn.handlerFile}.map`).size : 0;
    results.push(
      {
        name: `handler.${name}.bundle`,
        value: bytes,
        unit: 'bytes',
        notes: `index.js of its asset${map > 0 ? ` (+ ${(map / 1024).toFixed(0)} KiB source map)` : ''}`,
      },
      {
        name: `handler.${name}.cold-init`,
        value: Number(median(times).toFixed(1)),
        unit: 'ms',
        notes:
          `require() in a fresh node process, template env + NODE_OPTIONS; median of ${runs} ` +
          `(${Math.min(...times).toFixed(0)}-${Math.max(...times).toFixed(0)})`,
      },
    );
  }
  return results;
}
