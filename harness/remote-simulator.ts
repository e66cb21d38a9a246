import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

import type { RateLimit } from '../lib/domain/token-bucket';
import type {
  CallRecord,
  Facility,
  FaultMode,
  ReadLimits,
  SimulatorCounters,
  StoredReceipt,
} from '../lib/local/compliance/compliance-simulator';

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

  setFault(mode: FaultMode, options: { share?: number } = {}): Promise<unknown> {
    return this.control('POST', 'fault', { mode, ...options });
  }

  /** Adds vendor keys and facilities (license number → user key). */
  configure(vendorKeys: readonly string[], facilities: Readonly<Record<string, Facility>>): Promise<unknown> {
    return this.control('POST', 'facilities', { vendorKeys, facilities });
  }

  /** The write limit of every facility, or of one; `null` lifts it. */
  setWriteLimit(limit: RateLimit | null, facility?: string): Promise<unknown> {
    return this.control('POST', 'limits', { writes: limit, ...(facility !== undefined && { facility }) });
  }

  /** `null` lifts the GET limits. */
  setReadLimits(limits: ReadLimits | null): Promise<unknown> {
    return this.control('POST', 'limits', { reads: limits });
  }

  counters(): Promise<SimulatorCounters> {
    return this.control('GET', 'counters');
  }

  /** Every receipt recorded for the license (voided ones too), in the order recorded. */
  receipts(licenseNumber?: string): Promise<StoredReceipt[]> {
    const query = licenseNumber ? `?licenseNumber=${encodeURIComponent(licenseNumber)}` : '';
    return this.control('GET', `receipts${query}`);
  }

  /** The license's active (not voided) receipts per external number: 1 for each order held exactly once. */
  async activeCopies(licenseNumber: string): Promise<Map<string, number>> {
    const copies = new Map<string, number>();
    for (const r of await this.receipts(licenseNumber)) {
      if (r.ArchivedDate) continue;
      const n = String(r.ExternalReceiptNumber);
      copies.set(n, (copies.get(n) ?? 0) + 1);
    }
    return copies;
  }

  /** The calls that reached the receipts endpoints since `since` (epoch ms). */
  calls(since = 0): Promise<CallRecord[]> {
    return this.control('GET', `calls?since=${since}`);
  }

  reset(): Promise<unknown> {
    return this.control('POST', 'reset');
  }
}
