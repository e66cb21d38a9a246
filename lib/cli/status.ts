/** `bulkhead status [--json]`: each cell's wave, live versions, deployment, alarms, last release and rollback. */
import { cellApiFunctionName } from '../contracts/names';
import { type CellStatusRow, fleetStatus } from '../release/status';

import { consoleIo, type Io } from './io';
import { type CommandDeps, onReleaseTarget, parseCommand } from './release-commands';

function printRow(r: CellStatusRow, io: Io): void {
  const api = r.functions.find((f) => f.name === cellApiFunctionName(r.cell)) ?? r.functions[0];
  const live = api ? api.weights.map((w) => `v${w.version} ${Math.round(w.weight * 100)}%`).join(' + ') : '—';
  const state = r.unavailable
    ? `unavailable: ${r.unavailable}`
    : r.deployment
      ? `deploying ${r.deployment.release ?? ''} (${r.deployment.status})`.replace('  ', ' ')
      : r.lastDeployment
        ? `last deployment ${r.lastDeployment.result ?? r.lastDeployment.status}`
        : 'no deployment yet';
  io.out(`${r.cell}  wave ${r.wave}  live ${live}${api?.release ? ` (${api.release})` : ''}  ${state}`);
  io.out(`  alarms: ${r.alarms.length === 0 ? 'none' : r.alarms.join('; ')}`);
  if (r.lastRelease) io.out(`  last release:  ${r.lastRelease.at} ${r.lastRelease.summary}`);
  if (r.lastRollback)
    io.out(`  last rollback: ${r.lastRollback.at} by ${r.lastRollback.who}: ${r.lastRollback.summary}`);
}

export async function statusCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<number> {
  const values = parseCommand(argv, {});
  return onReleaseTarget(values, io, deps, async (ctx) => {
    const rows = await fleetStatus(ctx);
    if (values.json) {
      io.out(JSON.stringify({ target: ctx.target.description, cells: rows }, null, 2));
      return 0;
    }
    io.out(ctx.target.description);
    for (const r of rows) printRow(r, io);
    return 0;
  });
}
