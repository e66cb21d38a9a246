import * as path from 'node:path';

import { type ManagedProcess, spawnManaged } from '../lib/local/services/process-registry';

export interface CellServer {
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

const MAIN = path.join(__dirname, 'cell-server-main.ts');

/** Starts `cell-server-main.ts` with `env` added to this process's environment; resolves with its URL. */
export async function startCellServer(env: Record<string, string>, timeoutMs = 20_000): Promise<CellServer> {
  const childEnv = { ...process.env, ...env };
  delete childEnv.NODE_OPTIONS;
  const child = await spawnManaged(
    `cell ${env.CELL_ID}`,
    process.execPath,
    ['--import', 'tsx', MAIN],
    childEnv,
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = child.stdoutTail.split('\n').find((l) => l.startsWith('{'));
    if (line) {
      const { url } = JSON.parse(line) as { url: string };
      return { url, process: child, stop: () => child.stop() };
    }
    if (!child.running || Date.now() > deadline) {
      await child.stop();
      throw new Error(
        `cell server ${env.CELL_ID} did not start (${child.status}): ${child.stderrTail.trim()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
