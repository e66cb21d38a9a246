import { IAM_MANAGED_POLICY_MAX_CHARS } from '../contracts/aws-limits';
import type { IntegrationSettingsInput } from '../contracts/integrations';
import { DRILL_TENANT } from '../contracts/names';

import type { Cell, IntegrationSettings } from './types';

/**
 * The cell's integrated tenants with their settings, the drill tenant's sandbox among them: what its
 * functions read from `INTEGRATIONS_FILE`.
 */
export function cellIntegrations(cell: Cell): Record<string, IntegrationSettingsInput> {
  return Object.fromEntries(integratedTenants(cell));
}

/** `[tenant id, its integration]` of the cell's integrated tenants, then the drill tenant when it has a sandbox. */
export function integratedTenants(cell: Cell): [string, Required<IntegrationSettings>][] {
  return [
    ...cell.tenants.flatMap((t): [string, Required<IntegrationSettings>][] =>
      t.integration ? [[t.id, t.integration]] : [],
    ),
    ...(cell.drill
      ? [[DRILL_TENANT, cell.drill.integration] as [string, Required<IntegrationSettings>]]
      : []),
  ];
}

/** Secrets Manager appends a random six-character suffix to a secret's ARN; `-??????` matches exactly that. */
export function secretArnPattern(
  where: { readonly partition: string; readonly region: string; readonly account: string },
  secretName: string,
): string {
  return `arn:${where.partition}:secretsmanager:${where.region}:${where.account}:secret:${secretName}-??????`;
}

/** `{"Version":"2012-10-17","Statement":[{"Action":"secretsmanager:GetSecretValue","Effect":"Allow","Resource":[]}]}`, and room to spare. */
const POLICY_DOCUMENT_OVERHEAD = 200;
/** The longest partition name ("aws-us-gov"): the stack's partition is only known at deploy time. */
const LONGEST_PARTITION = 'aws-us-gov';

/**
 * The key secrets the cell's sync worker and reconciler read: each integrated tenant's user key (or fewer,
 * when shared) and the integrators' vendor keys.
 */
export function cellSecretNames(cell: Cell): string[] {
  return [
    ...new Set(
      Object.values(cellIntegrations(cell)).flatMap((i) => [
        i.apiKeySecret,
        ...(i.vendorKeySecret ? [i.vendorKeySecret] : []),
      ]),
    ),
  ];
}

/**
 * Secret names in groups that each fit one IAM managed policy (6,144 characters), every ARN counted
 * at its longest: one statement cannot be split across policies, so the statements are cut to size here.
 */
export function secretPolicyGroups(
  where: { readonly region: string; readonly account: string },
  secretNames: readonly string[],
): string[][] {
  const budget = IAM_MANAGED_POLICY_MAX_CHARS - POLICY_DOCUMENT_OVERHEAD;
  const longest = { ...where, partition: LONGEST_PARTITION };
  const groups: string[][] = [];
  let used = budget;
  for (const name of secretNames) {
    // Quotes and a comma around each ARN in the Resource list.
    const size = secretArnPattern(longest, name).length + 3;
    if (used + size > budget) {
      groups.push([]);
      used = 0;
    }
    groups[groups.length - 1].push(name);
    used += size;
  }
  return groups;
}
