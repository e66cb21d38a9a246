import { z } from 'zod';

import { METRC_MAX_OBJECTS_PER_REQUEST } from './metrc';

/**
 * The file the cell stack bundles beside the handler of each function that needs the cell's
 * integrations (`lib/infra/cell/cell-stack.ts`): tenant id → that tenant's settings.
 */
export const INTEGRATIONS_FILE = 'integrations.json';

/**
 * A tenant's compliance integration (a facility at the state's Metrc), as the cell stack writes it into
 * {@link INTEGRATIONS_FILE}. Fields added after the first shape have defaults, so an older writer's
 * settings still read; keys are never here, only the names of the secrets that hold them.
 */
export const IntegrationConfig = z.object({
  baseUrl: z.string().url(),
  /** Writes (POST, DELETE) per second this facility sends. */
  ratePerSecond: z.number().positive(),
  burst: z.number().int().positive(),
  /** The secret holding the tenant's user API key. */
  apiKeySecret: z.string(),
  /** The facility's license number (`?licenseNumber=`); the tenant id when the cell stack set none. */
  licenseNumber: z.string().min(1).optional(),
  /** The facility's IANA time zone: receipts carry its wall-clock time. */
  timeZone: z.string().min(1).default('UTC'),
  /** The secret holding the integrator's vendor API key (one for every facility). */
  vendorKeySecret: z.string().min(1).default('bulkhead/compliance/vendor'),
  /** Receipts per POST. */
  batchSize: z
    .number()
    .int()
    .min(1)
    .max(METRC_MAX_OBJECTS_PER_REQUEST)
    .default(METRC_MAX_OBJECTS_PER_REQUEST),
  /** This facility's share of the GET limits (`lib/domain/compliance/read-budget.ts`). */
  readRatePerSecond: z.number().positive().default(45),
  readBurst: z.number().int().positive().default(10),
});
export type IntegrationConfig = z.infer<typeof IntegrationConfig> & { readonly licenseNumber: string };
/** A tenant's integration as written (into the fleet file's resolved cell, or the bundled file): defaults may be left out. */
export type IntegrationSettingsInput = z.input<typeof IntegrationConfig>;

/** Reads the integrations by tenant id (the `INTEGRATIONS` JSON); a missing license number is the tenant id. */
export function parseIntegrations(json: string): Record<string, IntegrationConfig> {
  const parsed = z.record(z.string(), IntegrationConfig).parse(JSON.parse(json));
  return Object.fromEntries(
    Object.entries(parsed).map(([tenant, i]) => [tenant, { ...i, licenseNumber: i.licenseNumber ?? tenant }]),
  );
}

/**
 * How the sync worker's SQS event source hands it records: up to ten POSTs' worth per invocation, so a
 * drain's POSTs are paced by the rate limit, not by one invocation per POST. Over ten records needs a
 * batching window (Lambda: at least 1 s), which is also the most a lone order waits before it is sent.
 */
export const SYNC_EVENT_SOURCE = {
  batchSize: 10 * METRC_MAX_OBJECTS_PER_REQUEST,
  maxBatchingWindowSeconds: 1,
} as const;

/** The variable holding the vendor key on the local platform (one for every tenant). */
export const VENDOR_KEY_ENV = 'COMPLIANCE_VENDOR_KEY';

/** The variable holding a tenant's user key on the local platform: `COMPLIANCE_USER_KEY_TENANT_A` for `tenant-a`. */
export const userKeyEnvName = (tenantId: string) =>
  `COMPLIANCE_USER_KEY_${tenantId.toUpperCase().replace(/-/g, '_')}`;
