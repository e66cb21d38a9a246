/**
 * The fleet file's shape (`cells.config.ts`). Plain data: no CDK or AWS imports, so the CLI,
 * the local platform and the CDK app all read the same thing.
 */

export type DeploymentType = 'canary' | 'linear' | 'allAtOnce';

/** How CodeDeploy shifts traffic to a new version inside one cell. */
export interface DeploymentSettings {
  readonly type: DeploymentType;
  /** Share of traffic per step, for `canary` and `linear`. */
  readonly percent?: number;
  /** Minutes between steps, for `canary` and `linear`. */
  readonly intervalMinutes?: number;
}

/** A tenant's compliance-system integration (a Metrc-like API). */
export interface IntegrationSettings {
  /** Base URL of the compliance API. */
  readonly baseUrl: string;
  /**
   * Sustained requests per second this integrator may send.
   * @default 5
   */
  readonly ratePerSecond?: number;
  /**
   * Requests that may be sent in a burst above the sustained rate.
   * @default 1
   */
  readonly burst?: number;
  /**
   * Name of the secret holding the API key (AWS Secrets Manager on AWS; an environment variable locally).
   * @default 'bulkhead/compliance/<tenantId>'
   */
  readonly apiKeySecret?: string;
}

export interface TenantSettings {
  readonly id: string;
  readonly integration?: IntegrationSettings;
}

export type TenantEntry = string | TenantSettings;

export interface CellSettings {
  readonly id: string;
  /** Release wave: 0 is the canary wave. */
  readonly wave: number;
  readonly maxTenants: number;
  readonly tenants?: readonly TenantEntry[];
  readonly deployment?: DeploymentSettings;
  /** Minutes to watch a wave's alarms before the next wave starts. */
  readonly bakeMinutes?: number;
  readonly account?: string;
  readonly region?: string;
}

export interface FleetDefaults {
  readonly account?: string;
  readonly region?: string;
  readonly deployment?: DeploymentSettings;
  readonly bakeMinutes?: number;
}

export interface RouterSettings {
  readonly account?: string;
  readonly region?: string;
}

export interface FleetConfig {
  readonly defaults?: FleetDefaults;
  /** Where the router stack lives. @default the first wave-0 cell's account and region */
  readonly router?: RouterSettings;
  readonly cells: readonly CellSettings[];
}

/** A tenant after normalisation. */
export interface Tenant {
  readonly id: string;
  readonly integration?: Required<Omit<IntegrationSettings, 'apiKeySecret'>> & {
    readonly apiKeySecret: string;
  };
}

/** A cell after defaults are merged and tenants normalised. */
export interface Cell {
  readonly id: string;
  readonly wave: number;
  readonly maxTenants: number;
  readonly tenants: readonly Tenant[];
  readonly deployment: Required<DeploymentSettings>;
  readonly bakeMinutes: number;
  readonly account: string;
  readonly region: string;
}

export interface Fleet {
  readonly router: { readonly account: string; readonly region: string };
  readonly cells: readonly Cell[];
}

/** Typed identity helper for fleet files. */
export function defineCells(config: FleetConfig): FleetConfig {
  return config;
}
