/**
 * The fleet file's `drill` section: the sandbox the drill tenant of every cell reports its synthetic sales
 * to. Drills write only as the reserved drill tenant; this keeps its integration off every real one.
 */
import { DRILL_TENANT } from '../contracts/names';

import type { FleetIssue } from './issues';
import { integrationIssues, integrationUrl, normaliseIntegration } from './tenant-integration';
import type { Cell, DrillSettings, FleetConfig } from './types';

const DRILL_KEYS = ['integration'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Issues of `drill`: its shape, its integration's settings, and a host that no real tenant's integration
 * uses — a sandbox on a production host would report the drill's fake sales to the state.
 */
export function drillIssues(
  drill: unknown,
  realIntegrations: readonly { readonly path: string; readonly integration: unknown }[],
): FleetIssue[] {
  if (drill === undefined) return [];
  if (!isObj(drill)) return [{ path: 'drill', received: drill, allowed: 'an object { integration? }' }];
  const issues: FleetIssue[] = Object.keys(drill)
    .filter((k) => !DRILL_KEYS.includes(k))
    .map((k) => ({ path: `drill.${k}`, received: drill[k], allowed: `one of: ${DRILL_KEYS.join(', ')}` }));
  issues.push(...integrationIssues('drill.integration', drill.integration));
  const sandbox = integrationUrl(drill.integration);
  const clash = sandbox && realIntegrations.find((t) => integrationUrl(t.integration)?.host === sandbox.host);
  if (clash) {
    issues.push({
      path: 'drill.integration.baseUrl',
      received: sandbox.href,
      allowed: `a sandbox host, not ${sandbox.host}: ${clash.path} reports real sales there`,
    });
  }
  return issues;
}

/** Each cell's drill settings: the sandbox integration with its defaults filled in (as the drill tenant's). */
export function resolveDrill(config: FleetConfig): Cell['drill'] {
  const drill: DrillSettings | undefined = config.drill;
  if (!drill?.integration) return undefined;
  return { integration: normaliseIntegration(DRILL_TENANT, drill.integration) };
}
