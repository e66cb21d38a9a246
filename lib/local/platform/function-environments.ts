/**
 * What the platform adds to the functions' environments: where the local services are (with IAM
 * enforced, the stack's AWS endpoint in front of them; each function's own role credentials are added by
 * the stack runtime), and the handlers' timed defaults scaled by `timeScale` so drills do not take real
 * minutes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { defaultSecretName } from '../../config/tenant-integration';
import {
  INTEGRATIONS_FILE,
  type IntegrationSettingsInput,
  userKeyEnvName,
  VENDOR_KEY_ENV,
} from '../../contracts/integrations';
import { DRILL_TENANT } from '../../contracts/names';
import type { LocalFunction } from '../assembly/model';

import { LOCAL_CREDENTIALS, type PlatformEnvironment, type StackRuntime } from './cell-runtime';

/** Defaults the handlers use, scaled by `timeScale` locally. */
const TIMED_SETTINGS = {
  RECONCILE_GRACE_SECONDS: 300,
  RECONCILE_STALE_SECONDS: 15 * 60,
  RECONCILE_FIRST_LOOKBACK_SECONDS: 3600,
  STATUS_RED_AFTER_SECONDS: 20 * 60,
  BREAKER_COOLDOWN_MS: 30_000,
  CLOCK_SKEW_MS: 5000,
} as const;

/** A wait of `value` (seconds or ms), scaled: never below 1. */
export const scaled = (value: number, timeScale: number): number =>
  Math.max(1, Math.round(value / timeScale));

/** What every function of a stack gets: its region, its database, quiet Powertools logs; metrics go out as EMF (the local canary reads them). */
function stackBase(runtime: StackRuntime): Record<string, string> {
  return {
    ...LOCAL_CREDENTIALS,
    AWS_REGION: runtime.stack.region ?? 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: runtime.awsEndpointUrl ?? runtime.dynamo.endpoint,
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
}

export interface CellEnvironmentInput {
  readonly runtime: StackRuntime;
  /** The router's shared secret; none with IAM enforced, where the URL's SigV4 auth proves the caller. */
  readonly secret?: string;
  readonly timeScale: number;
  /** The keys the state system (the simulator) accepts: one vendor key, a user key per tenant. */
  readonly compliance: { readonly vendorKey: string; readonly userKeys: Readonly<Record<string, string>> };
  readonly simulatorUrl: string;
  /** The simulator's sandbox, where the drill tenant's integration points. */
  readonly sandbox: { readonly url: string; readonly licenseNumber: string };
  /** Where the platform writes its copies of the functions' integrations files. */
  readonly integrationsDir: string;
}

/**
 * The function's bundled integrations file, copied with every URL pointed at the simulator (the drill
 * tenant's at its sandbox), and named in `INTEGRATIONS_FILE` (the bundle itself is left as it deploys).
 * Locally the drill tenant always has the sandbox: a fleet file without `drill` gets it here.
 */
function integrationsAtSimulator(
  fn: LocalFunction,
  env: Record<string, string>,
  input: CellEnvironmentInput,
): Record<string, string> {
  const bundled = path.join(fn.codeDir, INTEGRATIONS_FILE);
  if (!fs.existsSync(bundled)) return env;
  const integrations = JSON.parse(fs.readFileSync(bundled, 'utf8')) as Record<
    string,
    IntegrationSettingsInput
  >;
  for (const [tenant, i] of Object.entries(integrations)) {
    i.baseUrl = tenant === DRILL_TENANT ? input.sandbox.url : input.simulatorUrl;
  }
  integrations[DRILL_TENANT] ??= {
    baseUrl: input.sandbox.url,
    ratePerSecond: 5,
    burst: 1,
    apiKeySecret: defaultSecretName(DRILL_TENANT),
    licenseNumber: input.sandbox.licenseNumber,
  };
  const copy = path.join(input.integrationsDir, `${path.basename(fn.codeDir)}.json`);
  fs.mkdirSync(input.integrationsDir, { recursive: true });
  fs.writeFileSync(copy, JSON.stringify(integrations));
  return { ...env, INTEGRATIONS_FILE: copy };
}

/** A cell's functions: its queue too, the cell secret, compliance keys; integrations pointed at the simulator. */
export function cellEnvironment(input: CellEnvironmentInput): PlatformEnvironment {
  const timed = Object.fromEntries(
    Object.entries(TIMED_SETTINGS).map(([k, v]) => [k, String(scaled(v, input.timeScale))]),
  );
  // Locally in the environment, where on AWS they are in Secrets Manager (never in the config).
  const keys = {
    [VENDOR_KEY_ENV]: input.compliance.vendorKey,
    ...Object.fromEntries(Object.entries(input.compliance.userKeys).map(([t, k]) => [userKeyEnvName(t), k])),
  };
  return {
    common: {
      ...stackBase(input.runtime),
      AWS_ENDPOINT_URL_SQS: input.runtime.awsEndpointUrl ?? input.runtime.sqs.endpoint,
      ...(input.secret !== undefined && { CELL_SECRET: input.secret }),
      ...timed,
      ...keys,
    },
    rewrite: (fn: LocalFunction, env: Record<string, string>) => integrationsAtSimulator(fn, env, input),
  };
}

export interface RouterEnvironmentInput {
  readonly runtime: StackRuntime;
  readonly routeCacheTtlSeconds: number;
  /** Cell id → where its API is and its secret (without IAM enforcement). */
  readonly cells: Readonly<Record<string, { readonly endpoint: string; readonly secret?: string }>>;
}

/**
 * Where cells are without the routing store (a cold router's fail-static path): with IAM enforced, as on
 * AWS, the Lambda API's `GetFunctionUrlConfig` (the stack's endpoint answers it, authorized); without, a
 * fixed map of endpoints and secrets. Ports survive cell-down/up.
 */
export function routerEnvironment(input: RouterEnvironmentInput): PlatformEnvironment {
  const lambda = input.runtime.awsEndpointUrl;
  return {
    common: {
      ...stackBase(input.runtime),
      ROUTE_CACHE_TTL_SECONDS: String(input.routeCacheTtlSeconds),
      // The cells' function URLs listen on loopback here, where on AWS they are `*.lambda-url.*.on.aws`.
      CELL_ENDPOINTS_ON_LOOPBACK: 'true',
      // One DynamoDB Local serves all of the router's tables on 2 cores (on AWS each table is its own
      // service): under a release's load a first read of the registry can take longer than the 500 ms the
      // router allows DynamoDB.
      STORE_TIMEOUT_MS: '2000',
      ...(lambda ? { AWS_ENDPOINT_URL_LAMBDA: lambda } : { CELL_ENDPOINTS: JSON.stringify(input.cells) }),
    },
  };
}
