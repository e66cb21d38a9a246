/**
 * Every alarm of every stack watches a metric that something emits: one of the handlers' custom metrics
 * (`lib/contracts/metrics.ts`, the list the handlers name their metrics from and that
 * `test/unit/lambdas/emitted-metrics.test.ts` holds their output to) with exactly its dimension set, or a
 * built-in metric of Lambda, API Gateway, SQS or DynamoDB with one of the dimension sets the service
 * publishes. CloudWatch matches a metric by namespace, name and its full set of dimensions: an alarm that
 * differs in any of them watches nothing and never fires.
 */
import { EMITTED_METRICS, SERVICES } from '../../../lib/contracts/metrics';

import { buildFleet } from './fixtures';

interface WatchedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, unknown>>;
}

type Json = Record<string, unknown>;

/** What the services publish by themselves: metric names and the dimension sets they come with. */
const BUILT_IN: Readonly<Record<string, { names: readonly string[]; dimensionSets: readonly string[][] }>> = {
  'AWS/Lambda': {
    names: ['Invocations', 'Errors', 'Throttles', 'Duration', 'ConcurrentExecutions'],
    dimensionSets: [
      ['FunctionName'],
      ['FunctionName', 'Resource'],
      ['FunctionName', 'Resource', 'ExecutedVersion'],
    ],
  },
  'AWS/ApiGateway': {
    names: ['4xx', '5xx', 'Count', 'Latency', 'IntegrationLatency'],
    dimensionSets: [['ApiId'], ['ApiId', 'Stage']],
  },
  'AWS/SQS': {
    names: ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'NumberOfMessagesSent'],
    dimensionSets: [['QueueName']],
  },
  'AWS/DynamoDB': {
    names: ['ThrottledRequests', 'SystemErrors', 'UserErrors', 'SuccessfulRequestLatency'],
    dimensionSets: [['TableName'], ['TableName', 'Operation']],
  },
};

const sameSet = (a: readonly string[], b: readonly string[]) => [...a].sort().join() === [...b].sort().join();

/** The metrics an alarm reads: its own, or those of its metric math. */
function watched(alarm: Json): WatchedMetric[] {
  const dims = (list: unknown) =>
    Object.fromEntries(((list as { Name: string; Value: unknown }[]) ?? []).map((d) => [d.Name, d.Value]));
  if (alarm.MetricName) {
    return [
      {
        namespace: String(alarm.Namespace),
        name: String(alarm.MetricName),
        dimensions: dims(alarm.Dimensions),
      },
    ];
  }
  return ((alarm.Metrics as { MetricStat?: { Metric: Json } }[]) ?? []).flatMap((q) =>
    q.MetricStat
      ? [
          {
            namespace: String(q.MetricStat.Metric.Namespace),
            name: String(q.MetricStat.Metric.MetricName),
            dimensions: dims(q.MetricStat.Metric.Dimensions),
          },
        ]
      : [],
  );
}

/** Why nothing emits this metric, or undefined when something does. */
function notEmitted(m: WatchedMetric): string | undefined {
  const names = Object.keys(m.dimensions);
  const builtIn = BUILT_IN[m.namespace];
  if (builtIn) {
    if (!builtIn.names.includes(m.name)) return `${m.namespace} publishes no metric ${m.name}`;
    return builtIn.dimensionSets.some((set) => sameSet(set, names))
      ? undefined
      : `${m.namespace} ${m.name} has no dimension set [${names.join(', ')}]`;
  }
  const custom = EMITTED_METRICS.find(
    (e) => e.namespace === m.namespace && e.name === m.name && sameSet(e.dimensions, names),
  );
  if (!custom) return `no handler emits ${m.namespace} ${m.name} with dimensions [${names.join(', ')}]`;
  const service = m.dimensions.service;
  return service === undefined || Object.values<unknown>(SERVICES).includes(service)
    ? undefined
    : `no handler emits as service ${JSON.stringify(service)}`;
}

function problems(
  templates: Record<string, { Resources: Record<string, { Type: string; Properties: Json }> }>,
) {
  return Object.entries(templates).flatMap(([stack, t]) =>
    Object.entries(t.Resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .flatMap(([id, r]) => {
        const metrics = watched(r.Properties);
        if (metrics.length === 0) return [`${stack}/${id}: watches no metric`];
        return metrics.flatMap((m) => {
          const why = notEmitted(m);
          return why ? [`${stack}/${id}: ${why}`] : [];
        });
      }),
  );
}

let templates: Parameters<typeof problems>[0];

beforeAll(() => {
  const assembly = buildFleet().app.synth();
  templates = Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template]));
});

test('every alarm of every stack watches a metric that is emitted, with the dimensions it is emitted with', () => {
  const alarms = Object.values(templates).flatMap((t) =>
    Object.values(t.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm'),
  );
  expect(alarms.length).toBeGreaterThan(40);
  expect(problems(templates)).toEqual([]);
});

test('the check is live: the old fail-static alarm (Bulkhead/Router FailStatic, no dimensions) is caught', () => {
  const planted = {
    Planted: {
      Resources: {
        FailStaticAlarm: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            Namespace: 'Bulkhead/Router',
            MetricName: 'FailStatic',
            Statistic: 'Sum',
            Threshold: 1,
          },
        },
        NoDimensions: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: { Namespace: 'Bulkhead', MetricName: 'router.failStatic', Threshold: 1 },
        },
        WrongService: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            Namespace: 'Bulkhead',
            MetricName: 'router.failStatic',
            Dimensions: [{ Name: 'service', Value: 'Router' }],
          },
        },
      },
    },
  };
  expect(problems(planted)).toEqual([
    'Planted/FailStaticAlarm: no handler emits Bulkhead/Router FailStatic with dimensions []',
    'Planted/NoDimensions: no handler emits Bulkhead router.failStatic with dimensions []',
    'Planted/WrongService: no handler emits as service "Router"',
  ]);
});
