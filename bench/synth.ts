/**
 * Synth wall time of generated fleets (1, 10, 100 cells, and one selected cell of the 100), each the way
 * `npm run synth` runs it (scripts/synth.js: offline, cdk-nag on), one after the other, in a fresh process.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { generateFleet } from '../scripts/generate-fleet';

import type { BenchResult } from './cell-api';

const ROOT = path.join(__dirname, '..');
const SYNTH = path.join(ROOT, 'scripts', 'synth.js');

export interface SynthBenchOptions {
  /** Where fleets and assemblies go; the caller removes it. */
  readonly workDir: string;
  /** @default [1, 10, 100] */
  readonly sizes?: readonly number[];
  readonly progress: (line: string) => void;
}

export interface SynthBenchResult {
  readonly results: BenchResult[];
  /** The assembly of the smallest fleet, for the handler benchmarks. */
  readonly smallestAssembly?: string;
}

function synth(outDir: string, context: readonly string[]): Promise<{ seconds: number; stderr: string }> {
  const args = [SYNTH, '-o', outDir, ...context.flatMap((c) => ['-c', c])];
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stderr });
      else reject(new Error(`synth ${context.join(' ')} failed (exit ${code}):\n${stderr.trim()}`));
    });
  });
}

const templates = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.template.json')).length;

export async function benchSynth(options: SynthBenchOptions): Promise<SynthBenchResult> {
  const sizes = options.sizes ?? [1, 10, 100];
  const results: BenchResult[] = [];
  let smallestAssembly: string | undefined;
  const largest = Math.max(...sizes);
  for (const n of sizes) {
    const fleetFile = path.join(options.workDir, `fleet-${n}.json`);
    fs.writeFileSync(fleetFile, JSON.stringify(generateFleet(n)));
    const out = path.join(options.workDir, `cdk.out-${n}`);
    options.progress(`synth: ${n} cell${n === 1 ? '' : 's'} (npm run synth path: offline, cdk-nag on)`);
    const { seconds } = await synth(out, [`config=${fleetFile}`]);
    results.push({
      name: `synth.cells-${n}`,
      value: Number(seconds.toFixed(1)),
      unit: 's',
      notes: `${templates(out)} templates (router + ${n} cells), cdk-nag on, fresh process, assets bundled`,
    });
    if (n === Math.min(...sizes)) smallestAssembly = out;
    else fs.rmSync(out, { recursive: true, force: true });
  }
  const fleetFile = path.join(options.workDir, `fleet-${largest}.json`);
  const selected = generateFleet(largest).cells[Math.floor(largest / 2)].id;
  const out = path.join(options.workDir, `cdk.out-${largest}-one`);
  options.progress(`synth: one selected cell (${selected}) of ${largest} (-c cells=${selected})`);
  const { seconds } = await synth(out, [`config=${fleetFile}`, `cells=${selected}`]);
  results.push({
    name: `synth.cells-${largest}.select-one`,
    value: Number(seconds.toFixed(1)),
    unit: 's',
    notes: `-c cells=${selected}: ${templates(out)} templates; the fleet file still lists ${largest} cells`,
  });
  fs.rmSync(out, { recursive: true, force: true });
  return { results, ...(smallestAssembly && { smallestAssembly }) };
}

export function tempDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bulkhead-bench-${label}-`));
}
