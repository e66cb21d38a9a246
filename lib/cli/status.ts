/** `bulkhead status`: each cell's wave, live versions, deployment, alarms, release lock, last release and rollback. */
import { cellApiFunctionName } from '../contracts/names';
import { type CellStatusRow, fleetStatus } from '../release/status';

import type { CommandSpec } from './command';
import type { Io } from './io';
import { type CommandDeps, COMMON_OPTIONS, type CommonArgs, onReleaseTarget } from './release-commands';

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
  if (r.lock && 'unreadable' in r.lock) io.out(`  release lock: unreadable (${r.lock.unreadable})`);
  else if (r.lock)
    io.out(
      `  locked by ${r.lock.holder} since ${r.lock.since} (${r.lock.reason}), lease until ${r.lock.expiresAt}`,
    );
  if (r.lastRelease) io.out(`  last release:  ${r.lastRelease.at} ${r.lastRelease.summary}`);
  if (r.lastRollback)
    io.out(`  last rollback: ${r.lastRollback.at} by ${r.lastRollback.who}: ${r.lastRollback.summary}`);
}

export const statusCommand: CommandSpec<CommandDeps> = {
  path: ['status'],
  summary:
    "each cell's wave, live versions and weights, deployment, alarms, lock holder, last release and rollback",
  options: COMMON_OPTIONS,
  examples: ['status', 'status --target aws --json'],
  async run({ opts, io, deps }) {
    const args = opts as CommonArgs;
    return onReleaseTarget(args, io, deps, async (ctx) => {
      const rows = await fleetStatus(ctx);
      if (args.json) io.out(JSON.stringify({ target: ctx.target.description, cells: rows }, null, 2));
      else {
        io.out(ctx.target.description);
        for (const r of rows) printRow(r, io);
      }
      // Not one cell could be read (no credentials, no network, every cell down): the status is unknown.
      const unread = rows.filter((r) => r.unavailable);
      if (rows.length > 0 && unread.length === rows.length) {
        io.err(
          `bulkhead status: could not read any cell of ${ctx.target.description}: ${unread[0].unavailable}`,
        );
        return 1;
      }
      return 0;
    });
  },
};
