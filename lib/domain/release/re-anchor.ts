/**
 * Re-anchoring, the template side. A rollback on AWS moves a `live` alias outside CloudFormation; the
 * stack is then updated with its own deployed template in which that alias names the version it is now
 * on (`FunctionVersion`) and has no `CodeDeployLambdaAliasUpdate` policy, so CloudFormation records the
 * real version without starting a traffic shift (an alias update under the policy would shift from the
 * version CloudFormation last knew, i.e. back onto the rolled-back one). The policy is kept in the
 * alias's `Metadata` (`bulkhead:anchored`), so the anchored alias is still known as a released one; the
 * next `cdk deploy` writes a fresh alias with its policy again.
 */
import type { FunctionReleaseState } from './readiness';

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  UpdatePolicy?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

export interface CellTemplate {
  Resources: Record<string, TemplateResource>;
}

/** Where a re-anchored alias keeps its CodeDeploy update policy (and the version it was rolled back from). */
export const ANCHOR_METADATA = 'bulkhead:anchored';

export interface AliasUpdatePolicy {
  readonly DeploymentGroupName?: { readonly Ref?: string };
}

/** A released function of a cell stack: its `live` alias under CodeDeploy, as the template and stack say. */
export interface ReleasedFunction {
  readonly logicalId: string;
  readonly aliasLogicalId: string;
  /** The function's physical name. */
  readonly name: string;
  /** The CodeDeploy deployment group that shifts its alias. */
  readonly deploymentGroup?: string;
  /** The version CloudFormation has the alias on. */
  readonly recordedVersion?: string;
}

/** The alias's CodeDeploy update policy, or where re-anchoring kept it. */
function policyOf(alias: TemplateResource): AliasUpdatePolicy | undefined {
  const kept = alias.Metadata?.[ANCHOR_METADATA] as { policy?: AliasUpdatePolicy } | undefined;
  return (alias.UpdatePolicy?.CodeDeployLambdaAliasUpdate as AliasUpdatePolicy | undefined) ?? kept?.policy;
}

const versionOfArn = (arn: string | undefined): string | undefined => arn?.split(':').at(-1);

/**
 * The functions a release shifts: every `live` alias with a CodeDeploy policy (or one kept by
 * re-anchoring). `physical` gives a logical id's physical id (a Version's is its ARN).
 */
export function releasedFunctions(
  template: CellTemplate,
  liveAlias: string,
  physical: (logicalId: string | undefined) => string | undefined,
): ReleasedFunction[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Alias' && r.Properties?.Name === liveAlias)
    .map(([aliasLogicalId, r]) => ({ aliasLogicalId, r, policy: policyOf(r) }))
    .filter(({ policy }) => policy !== undefined)
    .map(({ aliasLogicalId, r, policy }): ReleasedFunction => {
      const fnRef = (r.Properties!.FunctionName as { Ref?: string }).Ref!;
      const version = r.Properties!.FunctionVersion as string | { 'Fn::GetAtt'?: [string, string] };
      const groupLogicalId = policy?.DeploymentGroupName?.Ref;
      const recorded =
        typeof version === 'string' ? version : versionOfArn(physical(version['Fn::GetAtt']?.[0]));
      return {
        logicalId: fnRef,
        aliasLogicalId,
        name: physical(fnRef) ?? fnRef,
        ...(groupLogicalId && physical(groupLogicalId) && { deploymentGroup: physical(groupLogicalId) }),
        ...(recorded && { recordedVersion: recorded }),
      };
    });
}

/**
 * The release-health alarms: those a CodeDeploy deployment group rolls back on (the new version's errors,
 * 5xx, latency, throttles). Every other alarm of the stack is operational (dead letters, backlog, an
 * integration down): it pages someone, but it says nothing about the release, so it must not judge one.
 */
export function releaseAlarmIds(template: CellTemplate): Set<string> {
  const ids = new Set<string>();
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::CodeDeploy::DeploymentGroup') continue;
    const config = r.Properties?.AlarmConfiguration as { Alarms?: { Name?: { Ref?: string } }[] } | undefined;
    for (const alarm of config?.Alarms ?? []) if (alarm.Name?.Ref) ids.add(alarm.Name.Ref);
  }
  return ids;
}

/**
 * The deployed template with each moved alias (by function name) pinned to its version, its update
 * policy moved into `Metadata`; `pinned` is empty when CloudFormation already has every version.
 */
export function reanchorTemplate(
  template: CellTemplate,
  functions: readonly ReleasedFunction[],
  versions: Readonly<Record<string, string>>,
): { readonly template: CellTemplate; readonly pinned: readonly string[] } {
  const anchored = structuredClone(template);
  const pinned: string[] = [];
  for (const fn of functions) {
    const version = versions[fn.name];
    if (version === undefined || fn.recordedVersion === version) continue;
    const alias = anchored.Resources[fn.aliasLogicalId];
    alias.Metadata = {
      ...alias.Metadata,
      [ANCHOR_METADATA]: { policy: policyOf(alias), from: fn.recordedVersion ?? null },
    };
    alias.Properties!.FunctionVersion = version;
    delete alias.UpdatePolicy;
    pinned.push(`${fn.name} v${version}`);
  }
  return { template: anchored, pinned };
}

/**
 * Aliases an earlier rollback moved but could not re-anchor: whole on a version other than the one
 * CloudFormation records. Rolling back again only finishes the re-anchor.
 */
export function driftedAliases(functions: readonly FunctionReleaseState[]): {
  readonly from: Readonly<Record<string, string>>;
  readonly to: Readonly<Record<string, string>>;
} {
  const drifted = functions.filter(
    (f) =>
      f.recordedVersion !== undefined && f.weights.length === 1 && f.recordedVersion !== f.weights[0].version,
  );
  return {
    from: Object.fromEntries(drifted.map((f) => [f.name, f.recordedVersion!])),
    to: Object.fromEntries(drifted.map((f) => [f.name, f.weights[0].version])),
  };
}

/** A release log line as far as a rollback target is concerned. */
export interface ReleaseHistoryEntry {
  readonly kind: string;
  readonly cell?: string;
  readonly from?: Readonly<Record<string, string>>;
  readonly to?: Readonly<Record<string, string>>;
}

/** The version the newest logged release of the function onto `live` came from (entries oldest first). */
export function previousInLog(
  entries: readonly ReleaseHistoryEntry[],
  fn: string,
  live: string,
): string | undefined {
  const release = [...entries]
    .reverse()
    .find((e) => e.kind === 'release' && e.to?.[fn] === live && e.from?.[fn]);
  return release?.from?.[fn];
}
