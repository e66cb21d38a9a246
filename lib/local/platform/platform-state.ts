import * as fs from 'node:fs';
import * as path from 'node:path';

import type { ComplianceState } from './compliance';

/**
 * What a running local platform publishes about itself, so `bulkhead ... --target local` commands and
 * tests find it without being told. The `--ready-file` gets the same document.
 */
export interface LocalCellState {
  readonly wave: number;
  /**
   * The cell's API (its Function URL): with IAM enforced it wants SigV4 (`iam.operators` can sign);
   * otherwise the router sends it the cell `secret` (empty when enforced).
   */
  readonly endpoint: string;
  readonly secret: string;
  /** Where the cell is deployed: the region and account a signature for its URL is scoped to. */
  readonly region?: string;
  readonly account?: string;
  readonly dynamodb: string;
  readonly tableName: string;
  readonly sqs: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly status: 'up' | 'down';
  /** Why the cell is down (stopped by a fault, or a process of it died). */
  readonly reason?: string;
}

export interface PlatformState {
  readonly pid: number;
  /** The platform's control API (faults, releases). */
  readonly control: string;
  readonly router: string;
  readonly statusPage: string;
  /** The state system (Metrc simulator): where it is, the vendor key, each tenant's user key and license. */
  readonly compliance: ComplianceState;
  readonly routingStore: {
    readonly endpoint: string;
    readonly routesTable: string;
    readonly registryTable: string;
  };
  readonly cells: Readonly<Record<string, LocalCellState>>;
  readonly tenants: Readonly<Record<string, { readonly cell: string; readonly apiKey: string }>>;
  /** The fleet file the platform runs (releases build from it). */
  readonly configFile?: string;
  /** Minutes of schedules and waits per real minute (`local up --time-scale`). */
  readonly timeScale?: number;
  /** How long the router caches a route (time-scaled); a tenant move waits at least this long. */
  readonly routeCacheTtlSeconds?: number;
  /**
   * IAM enforcement: when on, the local operator's credentials per account (an administrator there), for
   * calls made straight to a cell's URL.
   */
  readonly iam?: {
    readonly enforced: boolean;
    readonly operators?: Readonly<
      Record<
        string,
        { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken: string }
      >
    >;
  };
}

/**
 * The platform's home: its state file, databases, logs and synthesized assembly. One platform runs
 * per home; `BULKHEAD_HOME` (or `--home`) gives a second one its own, e.g. for tests.
 */
export function platformHome(home: string | undefined = process.env.BULKHEAD_HOME): string {
  return path.resolve(home ?? path.join(__dirname, '..', '..', '..', '.bulkhead', 'local'));
}

/** Where the running platform's state lives, in its home. */
export function stateFile(home: string = platformHome()): string {
  return path.join(home, 'platform.json');
}

export function writeState(file: string, state: PlatformState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Whether a process with this pid runs (one of another user counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running platform's state, or undefined when none runs (a stale file from a dead one is ignored). */
export function readState(file: string = stateFile()): PlatformState | undefined {
  let state: PlatformState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as PlatformState;
  } catch {
    return undefined;
  }
  return isAlive(state.pid) ? state : undefined;
}

/** The platform's pid while it starts and runs, so a second start and `local down` find it early. */
export const pidFile = (home: string): string => path.join(home, 'platform.pid');

/** The pid of the platform that holds `home`, if it runs. */
export function runningPid(home: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(home), 'utf8').trim());
  } catch {
    return undefined;
  }
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * The tenants' API keys as the platform issued them (the routing store keeps only their hashes), so a
 * restart serves the same keys. Beside the state file, with the same mode.
 */
export const keysFile = (home: string): string => path.join(home, 'tenant-keys.json');

export function readKeys(home: string): Map<string, string> {
  try {
    return new Map(
      Object.entries(JSON.parse(fs.readFileSync(keysFile(home), 'utf8')) as Record<string, string>),
    );
  } catch {
    return new Map();
  }
}

export function writeKeys(home: string, keys: ReadonlyMap<string, string>): void {
  fs.writeFileSync(keysFile(home), JSON.stringify(Object.fromEntries(keys), null, 2), { mode: 0o600 });
}

/** What a start keeps from the last run, and `--fresh` removes: data, keys, versions and their builds, the release log. */
export const PERSISTED = ['db', 'builds', 'tenant-keys.json', 'versions.json', 'releases.jsonl'] as const;
