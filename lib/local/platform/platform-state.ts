import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * What a running local platform publishes about itself, so `bulkhead ... --target local` commands and
 * tests find it without being told. The `--ready-file` gets the same document.
 */
export interface LocalCellState {
  readonly wave: number;
  /** The cell's API (Function URL shape); the router sends it the cell secret. */
  readonly endpoint: string;
  readonly secret: string;
  readonly dynamodb: string;
  readonly tableName: string;
  readonly sqs: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly status: 'up' | 'down';
}

export interface PlatformState {
  readonly pid: number;
  /** The platform's control API (faults, releases). */
  readonly control: string;
  readonly router: string;
  readonly statusPage: string;
  readonly compliance: string;
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

function alive(pid: number): boolean {
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
  return alive(state.pid) ? state : undefined;
}
