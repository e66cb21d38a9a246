/**
 * What stops a deployment of a function on AWS, read from its template: the alarms of the CodeDeploy
 * deployment group named in its alias's `UpdatePolicy`. CodeDeploy stops and rolls back a deployment
 * when any alarm of its group's `AlarmConfiguration` is in ALARM (CodeDeploy: "Monitoring deployments
 * with CloudWatch alarms"), so a function's latency limit is its group's p99 `Duration` alarm, and a
 * group with no such alarm (or with `Enabled: false`) is never stopped for latency. The local canary
 * judges by the same limits, so the reconciler, built to run for up to a minute, is not rolled back or
 * shown in alarm for taking three seconds.
 */
import type { ReleaseLimits } from './model';
import type { PropertyReader } from './property-reader';
import { refOf, type StackTemplate } from './stack-template';

const GROUP = 'AWS::CodeDeploy::DeploymentGroup';
const ALARM = 'AWS::CloudWatch::Alarm';

/** The alarms of `group` that watch the p99 `Duration` of a Lambda function, with their thresholds. */
function p99Thresholds(template: StackTemplate, r: PropertyReader, group: string, at: string): number[] {
  const config = template.props(group).AlarmConfiguration;
  if (config === undefined) return [];
  const c = r.object(config, `${at} → ${group}.AlarmConfiguration`);
  if (c.Enabled === false || c.Alarms === undefined) return [];
  return r.array(c.Alarms, `${group}.AlarmConfiguration.Alarms`).flatMap((entry, i) => {
    const where = `${group}.AlarmConfiguration.Alarms[${i}].Name`;
    const alarm = refOf(r.object(entry, where).Name);
    if (alarm === undefined || template.resources[alarm]?.Type !== ALARM) {
      return r.fail(where, `must reference an ${ALARM} of this stack`);
    }
    const p = template.props(alarm);
    const watchesP99 =
      p.Namespace === 'AWS/Lambda' && p.MetricName === 'Duration' && p.ExtendedStatistic === 'p99';
    return watchesP99 ? [r.number(p.Threshold, `${alarm}.Threshold`)] : [];
  });
}

/**
 * The limits of the deployment group an alias's `UpdatePolicy` names (`DeploymentGroupName: {Ref}`).
 * Of several p99 alarms the lowest stops the deployment first.
 */
export function releaseLimitsOf(
  template: StackTemplate,
  r: PropertyReader,
  deploymentGroupName: unknown,
  at: string,
): ReleaseLimits {
  const group = refOf(deploymentGroupName);
  if (group === undefined || template.resources[group]?.Type !== GROUP) {
    return r.fail(at, `must reference an ${GROUP} of this stack`);
  }
  const p99 = p99Thresholds(template, r, group, at);
  return p99.length > 0 ? { p99DurationMs: Math.min(...p99) } : {};
}
