/** What every command shares: where it writes, and how it refuses. */

export interface Io {
  /** Results (tables, JSON, keys). */
  out(line: string): void;
  /** Progress, warnings and errors. */
  err(line: string): void;
}

export const consoleIo: Io = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Bad input: one line on stderr, exit code 2 (lib/cli/command.ts). */
export class UsageError extends Error {}

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
