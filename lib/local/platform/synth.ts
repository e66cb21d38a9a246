/**
 * Synthesizing the app for the local platform: once at start (into `<home>/cdk.out`) and for each
 * release (a new assembly under `<home>/builds/`). Either is reused while no source changed since.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What the app is synthesized from, under the project root (the fleet file is added to them). */
const SOURCES = ['bin', 'lib', 'lambdas', 'package-lock.json', 'cdk.json'];

export interface SynthOptions {
  /** The project root (holds `scripts/synth.js`). */
  readonly root: string;
  readonly configFile: string;
  readonly outDir: string;
  /** `-c release=<label>`: the label every version built from it carries. */
  readonly release?: string;
  /**
   * At a low CPU priority (its bundlers inherit it): a build beside a running fleet must not starve the
   * cells, nor be starved by them (see BUILD_NICENESS).
   */
  readonly lowPriority?: boolean;
}

/**
 * The niceness of a release build. Linux weighs a nice-10 task at about a tenth of a nice-0 one, so busy
 * cells keep 90 % of a contended core; the lowest priority (19, about 1.5 %) let a build of about 40 CPU
 * seconds stall for many minutes beside a busy fleet.
 */
const BUILD_NICENESS = 10;

/** What a marker file records about an assembly. */
interface AssemblyMarker {
  readonly dir: string;
  readonly config: string;
  /** Epoch ms the synth started. */
  readonly at: number;
}

function newestMtime(target: string): number {
  const stat = fs.statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of fs.readdirSync(target))
    newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

/** The assembly `markerFile` records, if it was synthesized from `configFile` after every source last changed. */
export function freshAssembly(markerFile: string, root: string, configFile: string): string | undefined {
  let marker: AssemblyMarker;
  try {
    marker = JSON.parse(fs.readFileSync(markerFile, 'utf8')) as AssemblyMarker;
  } catch {
    return undefined;
  }
  const newest = Math.max(...SOURCES.map((s) => newestMtime(path.join(root, s))), newestMtime(configFile));
  const fresh = marker.config === configFile && marker.at >= newest && fs.existsSync(marker.dir);
  return fresh ? marker.dir : undefined;
}

/** Runs `cdk synth` into `outDir` (asynchronously: the platform keeps serving while it runs). */
export async function synthesize(options: SynthOptions): Promise<void> {
  const args = [
    path.join(options.root, 'scripts', 'synth.js'),
    ...['-o', options.outDir, '-c', `config=${options.configFile}`, '-c', 'nag=false'],
    ...(options.release === undefined ? [] : ['-c', `release=${options.release}`]),
  ];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.root, stdio: ['ignore', 'ignore', 'pipe'] });
    if (options.lowPriority) {
      try {
        if (child.pid) os.setPriority(child.pid, BUILD_NICENESS);
      } catch {
        // Not permitted here: the build just competes on equal terms.
      }
    }
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (err = (err + chunk).slice(-20_000)));
    child.once('error', reject);
    child.once('close', (status) => resolve({ code: status, stderr: err }));
  });
  if (code !== 0) throw new Error(`cdk synth failed:\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
}

/** Records that `dir` was synthesized from `configFile`, the synth having started at `at`. */
export function recordAssembly(markerFile: string, dir: string, configFile: string, at: number): void {
  const marker: AssemblyMarker = { dir, config: configFile, at };
  fs.writeFileSync(markerFile, JSON.stringify(marker));
}
