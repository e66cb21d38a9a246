/**
 * One integration object of the fleet file (a real tenant's, or the drill tenant's sandbox): its checks
 * and its defaults.
 */
import { complianceDefaults, complianceIssues } from './compliance-settings';
import type { FleetIssue } from './issues';
import type { IntegrationSettings } from './types';

const DEFAULT_RATE_PER_SECOND = 5;
const DEFAULT_BURST = 1;
const INTEGRATION_KEYS = [
  'baseUrl',
  'ratePerSecond',
  'burst',
  'apiKeySecret',
  'licenseNumber',
  'timeZone',
  'vendorKeySecret',
  'batchSize',
];

/** The secret a tenant's integration key is read from when the fleet file names none. */
export const defaultSecretName = (tenantId: string): string => `bulkhead/compliance/${tenantId}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** The integration's base URL, when it is an http(s) URL. */
export function integrationUrl(v: unknown): URL | undefined {
  if (!isObj(v) || typeof v.baseUrl !== 'string') return undefined;
  try {
    const url = new URL(v.baseUrl);
    return ['http:', 'https:'].includes(url.protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Every issue of one integration object at `path` (none when it is left out). */
export function integrationIssues(path: string, v: unknown): FleetIssue[] {
  if (v === undefined) return [];
  if (!isObj(v))
    return [{ path, received: v, allowed: 'an object { baseUrl, ratePerSecond?, burst?, apiKeySecret? }' }];
  const issues: FleetIssue[] = Object.keys(v)
    .filter((k) => !INTEGRATION_KEYS.includes(k))
    .map((k) => ({
      path: `${path}.${k}`,
      received: v[k],
      allowed: `one of the known keys of integration: ${INTEGRATION_KEYS.join(', ')}`,
    }));
  if (!integrationUrl(v)) {
    issues.push({ path: `${path}.baseUrl`, received: v.baseUrl, allowed: 'an http(s) URL' });
  }
  if (
    v.ratePerSecond !== undefined &&
    !(typeof v.ratePerSecond === 'number' && v.ratePerSecond > 0 && v.ratePerSecond <= 1000)
  ) {
    issues.push({
      path: `${path}.ratePerSecond`,
      received: v.ratePerSecond,
      allowed: 'a number above 0, at most 1000',
    });
  }
  if (v.burst !== undefined && !(isInt(v.burst) && v.burst >= 1 && v.burst <= 1000)) {
    issues.push({ path: `${path}.burst`, received: v.burst, allowed: 'an integer from 1 to 1000' });
  }
  if (
    v.apiKeySecret !== undefined &&
    !(typeof v.apiKeySecret === 'string' && /^[\w/+=.@-]{1,512}$/.test(v.apiKeySecret))
  ) {
    issues.push({
      path: `${path}.apiKeySecret`,
      received: v.apiKeySecret,
      allowed: 'a secret name ([A-Za-z0-9/_+=.@-])',
    });
  }
  return [...issues, ...complianceIssues(path, v)];
}

/** The integration of tenant `id` with every default filled in. */
export function normaliseIntegration(
  id: string,
  integration: IntegrationSettings,
): Required<IntegrationSettings> {
  return {
    baseUrl: integration.baseUrl,
    ratePerSecond: integration.ratePerSecond ?? DEFAULT_RATE_PER_SECOND,
    burst: integration.burst ?? DEFAULT_BURST,
    apiKeySecret: integration.apiKeySecret ?? defaultSecretName(id),
    ...complianceDefaults(id, integration),
  };
}
