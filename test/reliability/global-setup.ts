/**
 * Starts the one local platform the reliability suite runs against (own home, any free ports, time
 * scaled) and leaves its handle in a file the test files find through {@link HANDLE_ENV}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { startPlatform } from '../../harness/platform-runner';

import { FLEET, HANDLE_ENV, TIME_SCALE } from './support';

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const platform = await startPlatform({
    fleet: FLEET,
    timeScale: TIME_SCALE,
    label: 'reliability',
    log: (line) => process.stderr.write(`reliability: ${line}\n`),
  });
  const handleFile = path.join(platform.home, 'handle.json');
  fs.writeFileSync(
    handleFile,
    JSON.stringify({ home: platform.home, pid: platform.pid, state: platform.state }, null, 2),
  );
  process.env[HANDLE_ENV] = handleFile;
  (globalThis as { bulkheadReliability?: unknown }).bulkheadReliability = { platform, started };
}
