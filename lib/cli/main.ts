/** The `bulkhead` command line: a table of commands, each a function of its arguments. */

import { drillCommand } from './drill';
import { withUsage } from './io';
import { localCommand } from './local';
import { releaseCommand } from './release';
import { rollbackCommand } from './rollback';
import { statusCommand } from './status';
import { tenantsCommand } from './tenants';

export type Command = (args: readonly string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  local: localCommand,
  tenants: tenantsCommand,
  release: withUsage('release', releaseCommand),
  rollback: withUsage('rollback', rollbackCommand),
  drill: withUsage('drill', drillCommand),
  status: withUsage('status', statusCommand),
};
const USAGE = `usage: bulkhead <command> [options]

commands:
${Object.keys(COMMANDS)
  .map((c) => `  ${c}`)
  .join('\n')}`;

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`bulkhead: unknown command '${name}'; run 'bulkhead --help'`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (err) {
    // The first line is the reason; any further lines are its details (every problem of a fleet file).
    console.error(`bulkhead ${name}: ${(err as Error).message}`);
    return 1;
  }
}
