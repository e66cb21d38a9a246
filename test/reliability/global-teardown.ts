/** Prints every figure line the tests recorded, then stops the platform (and removes its home). */
import * as fs from 'node:fs';

import type { RunningPlatform } from '../../harness/platform-runner';

import { figuresFile } from './support';

export default async function globalTeardown(): Promise<void> {
  const run = (globalThis as { bulkheadReliability?: { platform: RunningPlatform; started: number } })
    .bulkheadReliability;
  if (!run) return;
  const { platform, started } = run;
  const file = figuresFile(platform.home);
  const figures = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trimEnd() : '(no figures recorded)';
  process.stderr.write(
    `\nreliability figures (platform ${Object.keys(platform.state.cells).length} cells, ` +
      `${((Date.now() - started) / 1000).toFixed(0)} s in all):\n${figures
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n')}\n`,
  );
  await platform.stop();
}
