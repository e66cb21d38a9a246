/**
 * The compliance simulator in a process of its own (`lib/local/compliance/compliance-simulator-main.ts`), driven
 * through its control API. A benchmark that runs the sync workers in its own process must not also
 * serve the simulator there: every event-loop stall of the workers would hold back the simulator's
 * clock and then release a burst of arrivals at once, which its token bucket answers with 429s the
 * workers did not cause.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

import type { RateLimit } from '../lib/domain/token-bucket';
import type {
  CallRecord,
  Facility,
  FaultMode,
  SimulatorCounters,
  StoredReceipt,
} from '../lib/local/compliance/compliance-simulator';

const MAIN = path.join(__dirname, '..', 'lib', 'local', 'compliance', 'compliance-simulator-main.ts');
const START_TIMEOUT_MS = 30_000;

export class SimulatorProcess {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  static async start(): Promise<SimulatorProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0'], {
      cwd: path.join(__dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    const lines = createInterface({ input: child.stdout! });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer within 30 s')), START_TIMEOUT_MS);
        lines.once('line', (line) => {
          clearTimeout(timer);
          try {
            resolve((JSON.parse(line) as { url: string }).url);
          } catch {
            reject(new Error(`unexpected first line: ${line}`));
          }
        });
        void exited.then(() => reject(new Error(`it exited: ${stderr.trim()}`)));
      });
      return new SimulatorProcess(url, child, exited);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`the compliance simulator did not start: ${(error as Error).message}`);
    } finally {
      lines.close();
    }
  }

  private async control(method: 'GET' | 'POST', name: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}/_control/${name}`, {
      method,
      ...(body !== undefined && {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    });
    const json = (await res.json()) as unknown;
    if (!res.ok) throw new Error(`compliance simulator ${name}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Adds vendor keys and facilities (license number → user key). */
  async configure(
    vendorKeys: readonly string[],
    facilities: Readonly<Record<string, Facility>>,
  ): Promise<void> {
    await this.control('POST', 'facilities', { vendorKeys, facilities });
  }

  /** The write limit of every facility, or of one; `undefined` switches it off. Buckets start full. */
  async setWriteLimit(limit: RateLimit | undefined, facility?: string): Promise<void> {
    await this.control('POST', 'limits', { writes: limit ?? null, ...(facility && { facility }) });
  }

  async setFault(mode: FaultMode, share = 1): Promise<void> {
    await this.control('POST', 'fault', { mode, share });
  }

  /** Every receipt of the license, voided ones too. */
  async receipts(licenseNumber: string): Promise<StoredReceipt[]> {
    return (await this.control(
      'GET',
      `receipts?licenseNumber=${encodeURIComponent(licenseNumber)}`,
    )) as StoredReceipt[];
  }

  /** The calls that reached the receipts endpoints since `since` (epoch ms), as the state system saw them. */
  async calls(since = 0): Promise<CallRecord[]> {
    return (await this.control('GET', `calls?since=${since}`)) as CallRecord[];
  }

  async counters(): Promise<SimulatorCounters> {
    return (await this.control('GET', 'counters')) as SimulatorCounters;
  }

  async reset(): Promise<void> {
    await this.control('POST', 'reset');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
