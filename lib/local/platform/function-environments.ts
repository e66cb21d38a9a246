/**
 * What the platform adds to the functions' environments: where the local services are, credentials the
 * local services accept, and the handlers' timed defaults scaled by `timeScale` so drills do not take
 * real minutes.
 */
import type { LocalFunction } from '../assembly/model';

import { LOCAL_CREDENTIALS, type PlatformEnvironment, type StackRuntime } from './cell-runtime';

/** Defaults the handlers use, scaled by `timeScale` locally. */
const TIMED_SETTINGS = {
  RECONCILE_GRACE_SECONDS: 300,
  STATUS_RED_AFTER_SECONDS: 20 * 60,
  BREAKER_COOLDOWN_MS: 30_000,
} as const;

/** A wait of `value` (seconds or ms), scaled: never below 1. */
export const scaled = (value: number, timeScale: number): number =>
  Math.max(1, Math.round(value / timeScale));

/** What every function of a stack gets: its region, its database, quiet Powertools. */
function stackBase(runtime: StackRuntime): Record<string, string> {
  return {
    ...LOCAL_CREDENTIALS,
    AWS_REGION: runtime.stack.region ?? 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: runtime.dynamo.endpoint,
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}

export interface CellEnvironmentInput {
  readonly runtime: StackRuntime;
  readonly secret: string;
  readonly timeScale: number;
  /** Tenant id → its key at the compliance simulator. */
  readonly complianceKeys: Readonly<Record<string, string>>;
  readonly simulatorUrl: string;
}

/** A cell's functions: its queue too, the cell secret, compliance keys; integrations pointed at the simulator. */
export function cellEnvironment(input: CellEnvironmentInput): PlatformEnvironment {
  const timed = Object.fromEntries(
    Object.entries(TIMED_SETTINGS).map(([k, v]) => [k, String(scaled(v, input.timeScale))]),
  );
  const keys = Object.fromEntries(
    Object.entries(input.complianceKeys).map(([t, k]) => [
      `COMPLIANCE_API_KEY_${t.toUpperCase().replace(/-/g, '_')}`,
      k,
    ]),
  );
  return {
    common: {
      ...stackBase(input.runtime),
      AWS_ENDPOINT_URL_SQS: input.runtime.sqs.endpoint,
      CELL_SECRET: input.secret,
      ...timed,
      ...keys,
    },
    rewrite: (_fn: LocalFunction, env: Record<string, string>) => {
      if (!env.INTEGRATIONS) return env;
      const integrations = JSON.parse(env.INTEGRATIONS) as Record<string, { baseUrl: string }>;
      for (const i of Object.values(integrations)) i.baseUrl = input.simulatorUrl;
      return { ...env, INTEGRATIONS: JSON.stringify(integrations) };
    },
  };
}

export interface RouterEnvironmentInput {
  readonly runtime: StackRuntime;
  readonly routeCacheTtlSeconds: number;
  /** Cell id → where its API is and its secret. */
  readonly cells: Readonly<Record<string, { readonly endpoint: string; readonly secret: string }>>;
}

export function routerEnvironment(input: RouterEnvironmentInput): PlatformEnvironment {
  return {
    common: {
      ...stackBase(input.runtime),
      ROUTE_CACHE_TTL_SECONDS: String(input.routeCacheTtlSeconds),
      // Where cells are without the routing store (a cold router's fail-static path); ports survive cell-down/up.
      CELL_ENDPOINTS: JSON.stringify(input.cells),
    },
  };
}
