/** What every command shares: where it writes, and how bad input ends it (one line, exit code 2). */

export interface Io {
  /** Results (tables, JSON, keys). */
  out(line: string): void;
  /** Progress, warnings and errors. */
  err(line: string): void;
}

export const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Bad input: one line on stderr, exit code 2. */
export class UsageError extends Error {}

const isUsageError = (error: unknown): boolean =>
  error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true;

/** Wraps a command so bad input is one line on stderr and exit code 2. */
export function withUsage<D>(
  name: string,
  run: (argv: readonly string[], io: Io, deps: D) => Promise<number>,
): (argv: readonly string[], io?: Io, deps?: D) => Promise<number> {
  return async (argv, io = consoleIo, deps = {} as D) => {
    try {
      return await run(argv, io, deps);
    } catch (error) {
      if (!isUsageError(error)) throw error;
      io.err(`bulkhead ${name}: ${(error as Error).message}`);
      return 2;
    }
  };
}

/** Refuses with one line per problem (exit 1). */
export function refuse(command: string, problems: readonly string[], io: Io): number {
  for (const p of problems) io.err(`bulkhead ${command}: refused: ${p}`);
  return 1;
}

/** Rows as columns padded to their widest cell. */
export function printTable(rows: readonly (readonly string[])[], io: Io): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows)
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    );
}
