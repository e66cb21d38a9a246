/**
 * EventBridge schedule expressions, read once for the template model and the local scheduler:
 * `rate(<n> <unit>)` runs every n units; `cron(<6 fields>)` is valid on AWS, but the local platform
 * has no cron clock, so it refuses one by name rather than read a template it could not run.
 */

export type ScheduleExpression =
  | { readonly kind: 'rate'; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly fields: readonly string[] };

const UNIT_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

/** Reads a schedule expression; throws on anything EventBridge refuses (`rate(1 minutes)`, `rate(5 minute)`). */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const trimmed = expression.trim();
  const cron = /^cron\((.*)\)$/i.exec(trimmed);
  if (cron) {
    const fields = cron[1].trim().split(/\s+/);
    if (fields.length !== 6) {
      throw new Error(
        `invalid schedule expression '${expression}': cron() takes 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`,
      );
    }
    return { kind: 'cron', fields };
  }
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(trimmed);
  if (!rate) {
    throw new Error(
      `invalid schedule expression '${expression}': expected rate(N minutes|hours|days) (rate(1 minute) for one) or cron(<6 fields>)`,
    );
  }
  const value = Number(rate[1]);
  const unit = rate[2].replace(/s$/, '') as keyof typeof UNIT_MS;
  if (value < 1) throw new Error(`invalid schedule expression '${expression}': the rate must be at least 1`);
  // EventBridge insists on the singular for 1 and the plural otherwise.
  if ((value === 1) !== (rate[2] === unit)) {
    throw new Error(
      `invalid schedule expression '${expression}': use rate(${value} ${value === 1 ? unit : `${unit}s`})`,
    );
  }
  return { kind: 'rate', periodMs: value * UNIT_MS[unit] };
}

/** The period of a schedule the local platform can run (a `rate()`), in unscaled milliseconds. */
export function ratePeriodMs(expression: string): number {
  const schedule = parseScheduleExpression(expression);
  if (schedule.kind === 'cron') {
    throw new Error(`unsupported locally: ${expression} (the local platform runs rate() schedules only)`);
  }
  return schedule.periodMs;
}
