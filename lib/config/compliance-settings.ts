/**
 * The fleet file's Metrc settings of an integration (license, time zone, vendor key, batch size): their
 * checks and defaults, kept apart from the rest of the fleet's validation.
 */
import type { IntegrationSettings } from './types';
import type { FleetIssue } from './validate';

/** Metrc takes at most 10 objects per POST (metrc.md §4, a third-party figure). */
export const MAX_BATCH_SIZE = 10;
export const DEFAULT_VENDOR_KEY_SECRET = 'bulkhead/compliance/vendor';
export const DEFAULT_TIME_ZONE = 'UTC';
const LICENSE = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;

function knownTimeZone(zone: unknown): boolean {
  if (typeof zone !== 'string' || zone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Issues of the Metrc settings of one integration object. */
export function complianceIssues(path: string, v: Record<string, unknown>): FleetIssue[] {
  const issues: FleetIssue[] = [];
  const check = (key: string, ok: boolean, allowed: string) => {
    if (v[key] !== undefined && !ok) issues.push({ path: `${path}.${key}`, received: v[key], allowed });
  };
  check(
    'licenseNumber',
    typeof v.licenseNumber === 'string' && LICENSE.test(v.licenseNumber),
    'a license number of letters, digits and dashes (at most 64), e.g. C10-0000001-LIC',
  );
  check('timeZone', knownTimeZone(v.timeZone), 'an IANA time zone such as America/Los_Angeles');
  check(
    'vendorKeySecret',
    typeof v.vendorKeySecret === 'string' && SECRET_NAME.test(v.vendorKeySecret),
    'a secret name ([A-Za-z0-9/_+=.@-])',
  );
  check(
    'batchSize',
    Number.isInteger(v.batchSize) &&
      (v.batchSize as number) >= 1 &&
      (v.batchSize as number) <= MAX_BATCH_SIZE,
    `an integer from 1 to ${MAX_BATCH_SIZE} (receipts per POST)`,
  );
  return issues;
}

/** The Metrc settings with their defaults. */
export function complianceDefaults(tenantId: string, i: IntegrationSettings) {
  return {
    licenseNumber: i.licenseNumber ?? tenantId,
    timeZone: i.timeZone ?? DEFAULT_TIME_ZONE,
    vendorKeySecret: i.vendorKeySecret ?? DEFAULT_VENDOR_KEY_SECRET,
    batchSize: i.batchSize ?? MAX_BATCH_SIZE,
  };
}
