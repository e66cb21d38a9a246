/**
 * `bulkhead rollback --cell ID | --all [--release LABEL] --reason TEXT [--json]`: cells back on their
 * previous versions (lib/release/rollback.ts); the reason goes into the release log.
 */
import { millis, moves } from '../release/format';
import { type CellRollback, rollbackCells, type RollbackSelection } from '../release/rollback';

import { consoleIo, type Io, refuse, UsageError } from './io';
import { cellOf, type CommandDeps, onReleaseTarget, parseCommand } from './release-commands';

const describe = (r: CellRollback): string =>
  'error' in r
    ? `${r.cellId}: FAILED to roll back: ${r.error}`
    : `${r.cellId}: rolled back ${r.kind === 'stopped-deployment' ? 'the deployment under way' : 'the live alias'} ` +
      `(${moves(r.from, r.to)}): traffic back in ${millis(r.ms)} (command answered in ${millis(r.roundTripMs)})`;

export async function rollbackCommand(
  argv: readonly string[],
  io: Io = consoleIo,
  deps: CommandDeps = {},
): Promise<number> {
  const values = parseCommand(argv, {
    cell: { type: 'string' },
    all: { type: 'boolean' },
    release: { type: 'string' },
    reason: { type: 'string' },
  });
  if (!values.reason?.trim()) throw new UsageError('--reason TEXT is required: it goes into the release log');
  if (Boolean(values.all) === (values.cell !== undefined))
    throw new UsageError('name one cell with --cell ID, or use --all');
  const reason = values.reason.trim();
  return onReleaseTarget(values, io, deps, async (ctx) => {
    const selection: RollbackSelection = values.cell
      ? { cell: cellOf(ctx.fleet, values.cell) }
      : { ...(values.release !== undefined && { release: values.release }) };
    const run = await rollbackCells(ctx, selection, reason);
    switch (run.state) {
      case 'no-release':
        throw new UsageError('no release in the log: name it with --release LABEL');
      case 'nothing':
        io.err(`bulkhead rollback: release ${run.release} is on no cell: nothing to roll back`);
        return 0;
      case 'refused':
        return refuse('rollback', run.problems, io);
      case 'done':
        if (values.json) io.out(JSON.stringify(run.results, null, 2));
        else for (const r of run.results) io.out(describe(r));
        return run.results.some((r) => 'error' in r) ? 1 : 0;
    }
  });
}
