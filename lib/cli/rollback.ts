/**
 * `bulkhead rollback`: cells back on their previous versions (lib/release/rollback.ts); the reason goes
 * into the release log.
 */
import { millis, moves } from '../release/format';
import { type CellRollback, rollbackCells, type RollbackSelection } from '../release/rollback';

import type { CommandSpec } from './command';
import { refuse, UsageError } from './io';
import {
  cellOf,
  type CommandDeps,
  COMMON_OPTIONS,
  type CommonArgs,
  FORCE_OPTION,
  onReleaseTarget,
} from './release-commands';

interface RollbackArgs extends CommonArgs {
  readonly cell?: string;
  readonly all?: boolean;
  readonly release?: string;
  readonly reason?: string;
}

const describe = (r: CellRollback): string =>
  'error' in r
    ? `${r.cellId}: FAILED to roll back: ${r.error}`
    : `${r.cellId}: rolled back ${r.kind === 'stopped-deployment' ? 'the deployment under way' : 'the live alias'} ` +
      `(${moves(r.from, r.to)}): traffic back in ${millis(r.ms)} (command answered in ${millis(r.roundTripMs)})`;

export const rollbackCommand: CommandSpec<CommandDeps> = {
  path: ['rollback'],
  summary: 'put one cell, or every cell a release reached, back on its previous version, now',
  options: [
    { flags: '--cell <id>', description: 'the cell to roll back' },
    { flags: '--all', description: 'every cell the release is on, latest wave first' },
    { flags: '--release <label>', description: 'with --all: the release to undo', defaultText: 'the latest' },
    { flags: '--reason <text>', description: 'why (required: it goes into the release log)' },
    FORCE_OPTION,
    ...COMMON_OPTIONS,
  ],
  examples: [
    'rollback --cell use1-a --reason "orders slow"',
    'rollback --all --release r7 --reason "bad pricing"',
  ],
  async run({ opts, io, deps }) {
    const args = opts as RollbackArgs;
    if (!args.reason?.trim()) throw new UsageError('--reason TEXT is required: it goes into the release log');
    if (Boolean(args.all) === (args.cell !== undefined))
      throw new UsageError('name one cell with --cell ID, or use --all');
    const reason = args.reason.trim();
    return onReleaseTarget(args, io, deps, async (ctx) => {
      const selection: RollbackSelection = args.cell
        ? { cell: cellOf(ctx.fleet, args.cell) }
        : { ...(args.release !== undefined && { release: args.release }) };
      const run = await rollbackCells(ctx, selection, reason, args.force);
      switch (run.state) {
        case 'no-release':
          throw new UsageError('no release in the log: name it with --release LABEL');
        case 'nothing':
          io.err(`bulkhead rollback: release ${run.release} is on no cell: nothing to roll back`);
          return 0;
        case 'refused':
          return refuse('rollback', run.problems, io);
        case 'done':
          if (args.json) io.out(JSON.stringify(run.results, null, 2));
          else for (const r of run.results) io.out(describe(r));
          return run.results.some((r) => 'error' in r) ? 1 : 0;
      }
    });
  },
};
