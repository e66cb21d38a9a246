/** What invokes a function: SQS event source mappings, scheduled rules and Function URLs. */
import { ratePeriodMs } from '../../domain/schedule-expression';

import type { InvokeTargets } from './functions';
import type { LocalEventSource, LocalFunctionUrl, LocalSchedule } from './model';
import type { CfnProperties, PropertyReader, PropertyRules } from './property-reader';
import { getAttOf, type StackTemplate } from './stack-template';

const EVENT_SOURCE_PROPERTIES: PropertyRules = {
  accepted: [
    'EventSourceArn',
    'FunctionName',
    'BatchSize',
    'Enabled',
    'FunctionResponseTypes',
    'ScalingConfig',
    'MaximumBatchingWindowInSeconds',
  ],
  ignored: { Tags: 'metadata' },
};
const RULE_PROPERTIES: PropertyRules = {
  accepted: ['ScheduleExpression', 'State', 'Targets'],
  ignored: {
    Description: 'documentation',
    Name: 'the local schedule is named by its logical id',
    Tags: 'metadata',
  },
};
const URL_PROPERTIES: PropertyRules = {
  accepted: ['TargetFunctionArn', 'Qualifier', 'AuthType', 'InvokeMode'],
};

function reportsBatchItemFailures(r: PropertyReader, props: CfnProperties): boolean {
  if (props.FunctionResponseTypes === undefined) return false;
  const types = r.array(props.FunctionResponseTypes, 'FunctionResponseTypes').map((t, i) => {
    const type = r.string(t, `FunctionResponseTypes[${i}]`);
    if (type !== 'ReportBatchItemFailures')
      r.fail(`FunctionResponseTypes[${i}]`, `"${type}" is not supported`);
    return type;
  });
  return types.includes('ReportBatchItemFailures');
}

function maximumConcurrencyOf(r: PropertyReader, props: CfnProperties): number | undefined {
  if (props.ScalingConfig === undefined) return undefined;
  const scaling = r.object(props.ScalingConfig, 'ScalingConfig');
  r.onlyKnown(scaling, 'ScalingConfig', { accepted: ['MaximumConcurrency'] });
  if (scaling.MaximumConcurrency === undefined) return undefined;
  return r.integer(scaling.MaximumConcurrency, 'ScalingConfig.MaximumConcurrency', 2);
}

export function modelEventSources(template: StackTemplate, targets: InvokeTargets): LocalEventSource[] {
  const type = 'AWS::Lambda::EventSourceMapping';
  return template.modelEach(
    type,
    EVENT_SOURCE_PROPERTIES,
    (r: PropertyReader, props: CfnProperties, logicalId: string) => {
      const source = getAttOf(r.required(props, 'EventSourceArn'));
      if (!source || source[1] !== 'Arn' || !template.isModelled(source[0], 'AWS::SQS::Queue')) {
        r.fail(
          'EventSourceArn',
          'must be the Arn of an SQS queue of this stack (other event sources are not supported)',
        );
      }
      const target = targets.targetOf(r, r.required(props, 'FunctionName'), 'FunctionName');
      const reportBatchItemFailures = reportsBatchItemFailures(r, props);
      const maximumConcurrency = maximumConcurrencyOf(r, props);
      return {
        logicalId,
        queueLogicalId: source[0],
        target,
        enabled: props.Enabled === undefined ? true : r.boolean(props.Enabled, 'Enabled'),
        batchSize: props.BatchSize === undefined ? 10 : r.integer(props.BatchSize, 'BatchSize', 1),
        ...(maximumConcurrency !== undefined && { maximumConcurrency }),
        reportBatchItemFailures,
        ...(props.MaximumBatchingWindowInSeconds !== undefined && {
          maximumBatchingWindowSeconds: r.integer(
            props.MaximumBatchingWindowInSeconds,
            'MaximumBatchingWindowInSeconds',
            0,
          ),
        }),
      };
    },
  );
}

/** A rule target's constant `Input`: JSON text, parsed. */
function inputOf(r: PropertyReader, value: unknown, at: string): unknown {
  try {
    return JSON.parse(r.string(value, at));
  } catch {
    return r.fail(at, 'must be a JSON string');
  }
}

/** A scheduled rule: one schedule per target. */
export function modelSchedules(template: StackTemplate, targets: InvokeTargets): LocalSchedule[] {
  return template
    .modelEach(
      'AWS::Events::Rule',
      RULE_PROPERTIES,
      (r: PropertyReader, props: CfnProperties, logicalId: string) => {
        const expression = r.string(r.required(props, 'ScheduleExpression'), 'ScheduleExpression');
        let everyMs = 0;
        try {
          everyMs = ratePeriodMs(expression);
        } catch (error) {
          r.fail('ScheduleExpression', (error as Error).message);
        }
        const state = props.State === undefined ? 'ENABLED' : r.string(props.State, 'State');
        if (state !== 'ENABLED' && state !== 'DISABLED') r.fail('State', `"${state}" is not supported`);
        const ruleTargets = r.array(r.required(props, 'Targets'), 'Targets');
        if (ruleTargets.length === 0) r.fail('Targets', 'must have a target');
        return ruleTargets.map((item, i): LocalSchedule => {
          const at = `Targets[${i}]`;
          const t = r.object(item, at);
          r.onlyKnown(t, at, { accepted: ['Arn', 'Id', 'Input'] });
          const input = t.Input === undefined ? undefined : inputOf(r, t.Input, `${at}.Input`);
          return {
            logicalId,
            targetId: r.string(r.required(t, 'Id', at), `${at}.Id`),
            expression,
            everyMs,
            enabled: state === 'ENABLED',
            target: targets.targetOf(r, r.required(t, 'Arn', at), `${at}.Arn`),
            ...(t.Input !== undefined && { input }),
          };
        });
      },
    )
    .flat();
}

export function modelUrls(template: StackTemplate, targets: InvokeTargets): LocalFunctionUrl[] {
  return template.modelEach(
    'AWS::Lambda::Url',
    URL_PROPERTIES,
    (r: PropertyReader, props: CfnProperties, logicalId: string) => {
      let target = targets.targetOf(r, r.required(props, 'TargetFunctionArn'), 'TargetFunctionArn');
      if (props.Qualifier !== undefined) {
        const qualifier = r.string(props.Qualifier, 'Qualifier');
        if (target.alias !== undefined && target.alias !== qualifier) {
          r.fail('Qualifier', `"${qualifier}" contradicts TargetFunctionArn’s alias "${target.alias}"`);
        }
        target = targets.qualified(r, 'Qualifier', target.functionLogicalId, qualifier);
      }
      const authType = r.string(r.required(props, 'AuthType'), 'AuthType');
      if (authType !== 'AWS_IAM' && authType !== 'NONE') r.fail('AuthType', `"${authType}" is not supported`);
      if (props.InvokeMode !== undefined && props.InvokeMode !== 'BUFFERED') {
        r.fail('InvokeMode', `${JSON.stringify(props.InvokeMode)} is not supported (only BUFFERED)`);
      }
      return { logicalId, target, authType };
    },
  );
}
