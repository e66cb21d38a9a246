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

import type { SimulatorCounters } from '../lib/local/compliance/compliance-simulator';

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

  /** `undefined` switches the limit off; buckets start full. */
  async setRateLimit(ratePerSecond: number | undefined, burst = 1): Promise<void> {
    await this.control('POST', 'rate-limit', { ratePerSecond: ratePerSecond ?? null, burst });
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
