/** How fleet validation reports what is wrong: every issue at once, each with its path, value and what is allowed. */

/** One thing wrong with a fleet file: where, what was there, and what is allowed. */
export interface FleetIssue {
  readonly path: string;
  readonly received: unknown;
  readonly allowed: string;
}

export function formatIssue(issue: FleetIssue): string {
  return `${issue.path}: received ${describe(issue.received)}; allowed: ${issue.allowed}`;
}

/** Thrown with every issue of a fleet file at once. */
export class FleetValidationError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly FleetIssue[],
  ) {
    super(
      `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the fleet\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join('\n'),
    );
    this.name = 'FleetValidationError';
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON.stringify returns undefined for functions and symbols, and throws for BigInt and cycles.
  if (typeof value === 'function') return 'a function';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
