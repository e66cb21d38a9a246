/**
 * A function's environment, read once at module load through one zod schema per handler, so a missing or
 * malformed variable fails the function's start, by name, not a request later. The local platform shows
 * that start failure as it is (`missing environment variable: TABLE_NAME`): keep the wording.
 */
import { z } from 'zod';

const MISSING = 'missing';

/** A variable the function cannot run without; empty counts as missing. */
export const required = z.string({ error: MISSING }).min(1, { error: MISSING });

/** A variable that may be absent; empty counts as absent. */
export const optional = z
  .string()
  .optional()
  .transform((value) => value || undefined);

/** An optional number ≥ 0 (seconds, counts, rates) with a default; garbage is refused, not guessed at. */
export const numberOr = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return fallback;
      const value = Number(raw);
      if (Number.isFinite(value) && value >= 0) return value;
      ctx.addIssue({ code: 'custom', message: `must be a number ≥ 0, got '${raw}'` });
      return z.NEVER;
    });

/** Every problem in one message: the missing variables first, then each malformed one. */
function describe(error: z.ZodError): string {
  const name = (issue: z.core.$ZodIssue) => String(issue.path[0]);
  const missing = error.issues.filter((i) => i.message === MISSING).map(name);
  const malformed = error.issues
    .filter((i) => i.message !== MISSING)
    .map((i) => `environment variable ${name(i)} ${i.message}`);
  const plural = missing.length > 1 ? 's' : '';
  return [
    ...(missing.length > 0 ? [`missing environment variable${plural}: ${missing.join(', ')}`] : []),
    ...malformed,
  ].join('; ');
}

/** Parses `env` with the schema `shape`; throws one error that names every missing or malformed variable. */
export function readEnv<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<z.ZodObject<S>> {
  const parsed = z.object(shape).safeParse(env);
  if (!parsed.success) throw new Error(describe(parsed.error));
  return parsed.data;
}

/**
 * What every cell function is configured with (`lib/infra/cell/cell-stack.ts`). Its integrations are
 * a bundled file (`./integrations.ts`), named here only where another copy is to be read.
 */
export const CELL_FUNCTION_ENV = {
  CELL_ID: required,
  TABLE_NAME: required,
  QUEUE_URL: required,
  INTEGRATIONS_FILE: optional,
};
