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

/** A tenant's compliance-system integration: its facility at the state's Metrc. */
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
   * Name of the secret holding the tenant's user API key (AWS Secrets Manager on AWS; an environment
   * variable locally).
   * @default 'bulkhead/compliance/<tenantId>'
   */
  readonly apiKeySecret?: string;
  /**
   * The facility's license number (Metrc's `?licenseNumber=`).
   * @default the tenant id
   */
  readonly licenseNumber?: string;
  /**
   * The facility's IANA time zone: Metrc takes a sale's time as the facility's wall-clock time.
   * @default 'UTC'
   */
  readonly timeZone?: string;
  /**
   * Name of the secret holding the integrator's vendor API key (one for every facility).
   * @default 'bulkhead/compliance/vendor'
   */
  readonly vendorKeySecret?: string;
  /**
   * Receipts per POST, at most 10.
   * @default 10
   */
  readonly batchSize?: number;
}

/** What one tenant may send through the router; past it, the router answers 429 with Retry-After. */
export interface TenantLimitSettings {
  /** Requests a second (a fixed one-second window). */
  readonly requestsPerSecond: number;
  /** Requests held at once (sent on to the cell, not yet answered). */
  readonly concurrentRequests: number;
}

/** A dispensary's POS and web shop together, with room for a rush. */
export const DEFAULT_TENANT_LIMITS: TenantLimitSettings = { requestsPerSecond: 200, concurrentRequests: 50 };

export interface TenantSettings {
  readonly id: string;
  readonly integration?: IntegrationSettings;
  /** This tenant's own limits at the router, in place of `router.tenantLimits`. */
  readonly limits?: Partial<TenantLimitSettings>;
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
  /** Every tenant's limits at the router, unless it has its own. @default DEFAULT_TENANT_LIMITS */
  readonly tenantLimits?: Partial<TenantLimitSettings>;
  /**
   * Concurrent executions reserved for the router function: capacity the cells' functions in the same
   * account and region cannot take, and the most the router may use. @default 100
   */
  readonly reservedConcurrency?: number;
}

/** Who hears of every stack's alarms (on ALARM and on OK). */
export interface AlarmSettings {
  /** E-mail addresses subscribed to each stack's alarm topic (each confirms once, by AWS's e-mail). */
  readonly emails?: readonly string[];
  /**
   * An existing SNS topic (ChatOps, a pager) every alarm also notifies. An alarm notifies topics of its
   * own region only: give one topic per region the fleet uses, or leave it out and subscribe by e-mail.
   */
  readonly topicArn?: string;
}

/** What drills may reach outside the cell. */
export interface DrillSettings {
  /**
   * The compliance sandbox (Metrc's `sandbox-api-*` hosts) the drill tenant of every cell reports its
   * synthetic sales to. Without it, drills check no sync message on AWS (locally, a sandbox of the
   * simulator always stands in).
   */
  readonly integration?: IntegrationSettings;
}

export interface FleetConfig {
  readonly defaults?: FleetDefaults;
  /** Drills' sandbox. @default - none */
  readonly drill?: DrillSettings;
  readonly alarms?: AlarmSettings;
  /** Where the router stack lives. @default the first wave-0 cell's account and region */
  readonly router?: RouterSettings;
  /**
   * The account release managers work from: every cell and router stack creates a Bulkhead operator role
   * trusting it, which the release CLI assumes in any other account (README: multi-account fleet).
   * @default the router's account
   */
  readonly operatorAccount?: string;
  readonly cells: readonly CellSettings[];
}

/** A tenant after normalisation. */
export interface Tenant {
  readonly id: string;
  readonly integration?: Required<IntegrationSettings>;
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
  /** The drill tenant's sandbox integration (the fleet file's `drill`, the same in every cell). */
  readonly drill?: { readonly integration: Required<IntegrationSettings> };
}

/** The fleet's tenant limits after defaults: the default, and every tenant with its own. */
export interface FleetTenantLimits {
  readonly default: TenantLimitSettings;
  readonly tenants: Readonly<Record<string, TenantLimitSettings>>;
}

export interface Fleet {
  readonly router: {
    readonly account: string;
    readonly region: string;
    /** @default DEFAULT_ROUTER_RESERVED_CONCURRENCY */
    readonly reservedConcurrency?: number;
    /** @default DEFAULT_TENANT_LIMITS for every tenant */
    readonly tenantLimits?: FleetTenantLimits;
  };
  /** The account the operator roles trust (the fleet file's). @default the router's account */
  readonly operatorAccount?: string;
  readonly cells: readonly Cell[];
  /** @default - alarms notify each stack's own topic, which has no subscriber */
  readonly alarms?: AlarmSettings;
}

export const DEFAULT_ROUTER_RESERVED_CONCURRENCY = 100;

/** Typed identity helper for fleet files. */
export function defineCells(config: FleetConfig): FleetConfig {
  return config;
}

/** The account the Bulkhead operator roles trust: the fleet file's `operatorAccount`, else the router's. */
export const operatorAccountOf = (fleet: Pick<Fleet, 'router' | 'operatorAccount'>): string =>
  fleet.operatorAccount ?? fleet.router.account;
