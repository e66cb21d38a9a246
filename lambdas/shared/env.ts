/** Environment, read once per module load; a missing variable fails loudly at start, not mid-request. */
export function requireEnv<K extends string>(
  names: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> {
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new Error(`missing environment variable${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  }
  return Object.fromEntries(names.map((n) => [n, env[n] as string])) as Record<K, string>;
}

/** An optional numeric setting (seconds, counts) with a default; rejects garbage instead of guessing. */
export function numberEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`environment variable ${name} must be a number ≥ 0, got '${raw}'`);
  return value;
}
