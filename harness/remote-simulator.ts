import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

import type { FaultMode, Receipt, SimulatorCounters } from '../lib/local/compliance/compliance-simulator';

const MAIN = path.join(__dirname, '..', 'lib', 'local', 'compliance', 'compliance-simulator-main.ts');

/**
 * The compliance simulator in its own process, driven through its control API. Rate-limit checks
 * then time arrivals on a clock the workers' event loop cannot stall, as a real API would.
 */
export class RemoteComplianceSimulator {
  private child?: ChildProcess;
  url = '';

  async start(): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = child;
    const line = await new Promise<string>((resolve, reject) => {
      const rl = readline.createInterface({ input: child.stdout! });
      rl.once('line', (l) => resolve(l));
      child.once('exit', (code) => reject(new Error(`compliance simulator exited with ${code}`)));
    });
    this.url = (JSON.parse(line) as { url: string }).url;
    return this.url;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  private async control<T>(method: 'GET' | 'POST', name: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/_control/${name}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`simulator ${name}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  setFault(mode: FaultMode): Promise<unknown> {
    return this.control('POST', 'fault', { mode });
  }

  setRateLimit(ratePerSecond: number | null, burst?: number): Promise<unknown> {
    return this.control('POST', 'rate-limit', { ratePerSecond, ...(burst !== undefined && { burst }) });
  }

  counters(): Promise<SimulatorCounters> {
    return this.control('GET', 'counters');
  }

  receipts(tenant?: string): Promise<Receipt[]> {
    return this.control('GET', `receipts${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`);
  }

  reset(): Promise<unknown> {
    return this.control('POST', 'reset');
  }
}
