/**
 * The `bulkhead` command line: one table of commands (COMMANDS), each a {@link CommandSpec} in its own
 * module, turned into a commander program by lib/cli/command.ts (help on every command, one exit code
 * rule: 0 ok, 1 refused or failed, 2 bad usage).
 *
 * To add an option to a command: add an entry to its spec's `options` (`{ flags: '--limit <n>',
 * description, parse: integerIn(1, 100) }`) and read it in its `run` as `opts.limit`; the help, the
 * validation (exit 2) and the tests of help and exit codes (test/unit/cli/cli.test.ts) follow from the
 * spec. An option every release command takes goes into COMMON_OPTIONS (release-commands.ts).
 * To add a command or a subcommand: write its spec (path, summary, options, examples, run: parse →
 * one call into lib/release, lib/tenants or lib/local → print) and add it to COMMANDS below; a new
 * group word (like `local`) also gets a line in GROUPS.
 */
import { buildProgram, type CommandSpec, type GroupSpec, runProgram } from './command';
import { drillBadReleaseCommand, drillRollbackCommand } from './drill';
import { consoleIo, type Io } from './io';
import { localComplianceCommand, localDownCommand, localFaultCommand, localUpCommand } from './local';
import { releaseCommand } from './release';
import type { CommandDeps } from './release-commands';
import { rollbackCommand } from './rollback';
import { statusCommand } from './status';
import {
  type TenantsDeps,
  tenantsListCommand,
  tenantsMoveCommand,
  tenantsPlaceCommand,
  tenantsSeedCommand,
} from './tenants';

/** What the commands run on; tests replace the targets and the clock. */
export type CliDeps = CommandDeps & TenantsDeps;

export const GROUPS: readonly GroupSpec[] = [
  { name: 'local', summary: 'the local platform: start, stop, fault switches' },
  { name: 'drill', summary: 'timed release drills (rollback, bad release) on one cell' },
  { name: 'tenants', summary: 'tenants: list, place, seed, move between cells' },
];

export const COMMANDS: readonly CommandSpec<CliDeps>[] = [
  localUpCommand,
  localDownCommand,
  localFaultCommand,
  localComplianceCommand,
  statusCommand,
  releaseCommand,
  rollbackCommand,
  drillRollbackCommand,
  drillBadReleaseCommand,
  tenantsListCommand,
  tenantsPlaceCommand,
  tenantsSeedCommand,
  tenantsMoveCommand,
];

const SUMMARY =
  'Bulkhead: cells, a thin router and blue/green releases in waves; on AWS (--target aws) or the local platform';

/** Runs `bulkhead <argv>`; resolves with the exit code. */
export async function main(argv: readonly string[], io: Io = consoleIo, deps: CliDeps = {}): Promise<number> {
  const result = { code: 0 };
  const program = buildProgram('bulkhead', SUMMARY, GROUPS, COMMANDS, io, deps, result);
  return runProgram(program, argv, io, result);
}
