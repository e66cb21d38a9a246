import type { DeploymentView } from '../../../lib/local/codedeploy/deployment';
import type { VersionMetrics } from '../../../lib/local/lambda/runtime-alias';
import { type AliasReading, StatusHistory } from '../../../lib/local/platform/status-history';

/** An alias whose cumulative counters and weights the test sets. */
function alias() {
  const counts = new Map<string, { invocations: number; errors: number; p99: number }>();
  let weights = [{ version: '1', weight: 1 }];
  const reading: AliasReading = {
    weights: () => weights,
    metricsOf: (version): VersionMetrics => {
      const c = counts.get(version) ?? { invocations: 0, errors: 0, p99: 0 };
      return {
        version,
        invocations: c.invocations,
        errors: c.errors,
        window: { invocations: c.invocations, errors: c.errors, errorRate: 0, p50Ms: 0, p99Ms: c.p99 },
      };
    },
  };
  return {
    reading,
    set: (version: string, invocations: number, errors: number, p99 = 12) =>
      counts.set(version, { invocations, errors, p99 }),
    weigh: (w: typeof weights) => (weights = w),
  };
}

const deployment = (
  timings: DeploymentView['timings'],
  extra: Partial<DeploymentView> = {},
): DeploymentView => ({
  id: 'ld-1',
  cellId: 'use1-a',
  release: 'r7',
  status: 'InProgress',
  events: [],
  eventCount: 0,
  functions: [],
  timings,
  ...extra,
});

test('each sample has requests/s, error % and p99 per version over the interval, and the weights', () => {
  const a = alias();
  const history = new StatusHistory();
  a.set('1', 100, 0);
  history.sample({ at: 0, cells: [{ id: 'use1-a', alias: a.reading }], deployments: [], log: [] });
  a.set('1', 140, 0);
  a.set('2', 10, 5, 80);
  a.weigh([
    { version: '1', weight: 0.9 },
    { version: '2', weight: 0.1 },
  ]);
  history.sample({ at: 2000, cells: [{ id: 'use1-a', alias: a.reading }], deployments: [], log: [] });
  a.set('2', 30, 5, 80);
  history.sample({ at: 4000, cells: [{ id: 'use1-a', alias: a.reading }], deployments: [], log: [] });
  const samples = history.view(4000).cells['use1-a'];
  expect(samples.map((s) => s.at)).toEqual([0, 2000, 4000]);
  expect(samples[1].versions).toEqual([
    { version: '1', rps: 20, errorPct: 0, p99Ms: 12, weightPct: 90 },
    // First seen in this sample: no interval yet, so no rate.
    { version: '2', rps: 0, errorPct: null, p99Ms: 80, weightPct: 10 },
  ]);
  expect(samples[2].versions[1]).toEqual({ version: '2', rps: 10, errorPct: 0, p99Ms: 80, weightPct: 10 });
});

test('samples older than the window are let go', () => {
  const a = alias();
  const history = new StatusHistory(10_000);
  for (const at of [0, 5000, 10_000, 15_000])
    history.sample({ at, cells: [{ id: 'use1-a', alias: a.reading }], deployments: [], log: [] });
  expect(history.view(15_000).cells['use1-a'].map((s) => s.at)).toEqual([5000, 10_000, 15_000]);
});

test("a deployment's start, rollback and end are markers; its rollback and a logged one are incidents", () => {
  const history = new StatusHistory();
  const rolledBack = deployment(
    { createdAt: 1000, shiftStartedAt: 1500, rolledBackAt: 3000, endedAt: 3100 },
    { status: 'Stopped', result: 'rolled-back', reason: '5xx over 5%' },
  );
  const log = [{ at: new Date(5000).toISOString(), kind: 'rollback', summary: 'operator', cell: 'use1-b' }];
  history.sample({ at: 4000, cells: [], deployments: [rolledBack], log });
  history.sample({ at: 6000, cells: [], deployments: [rolledBack], log });
  const view = history.view(6000);
  expect(view.markers).toEqual([
    { at: 1000, cell: 'use1-a', kind: 'release', label: 'release r7' },
    { at: 3000, cell: 'use1-a', kind: 'rollback', label: 'rollback of r7' },
    { at: 3100, cell: 'use1-a', kind: 'end', label: 'r7 rolled-back' },
    { at: 5000, cell: 'use1-b', kind: 'rollback', label: 'rollback' },
  ]);
  expect(view.incidents).toEqual([
    { kind: 'rollback', subject: 'use1-b', startedAt: 5000, endedAt: 5000, detail: 'operator' },
    { kind: 'rollback', subject: 'use1-a', startedAt: 3000, endedAt: 3000, detail: 'r7: 5xx over 5%' },
  ]);
});

test('a cell down, an integration red and the routing store down are incidents from when to when', () => {
  const history = new StatusHistory();
  const status = (integration: string, routingStore: 'up' | 'down') => ({
    generatedAt: '',
    router: '',
    routingStore,
    compliance: 'none',
    iamEnforced: true,
    events: [],
    cells: [
      {
        id: 'use1-a',
        wave: 0,
        region: 'us-east-1',
        processes: 'up' as const,
        health: 'healthy' as const,
        release: null,
        versions: [],
        queueDepth: 0,
        dlqDepth: 0,
        tenants: [
          {
            id: 'greenleaf',
            status: 'active',
            integration,
            pending: 3,
            lastReconciledAt: null,
            reconciliation: null,
            discrepancies: null,
          },
        ],
      },
    ],
  });
  const cells = (down?: string) => [{ id: 'use1-b', ...(down && { down }) }];
  history.sample({
    at: 1000,
    cells: cells('its DynamoDB Local process died'),
    deployments: [],
    log: [],
    status: status('red', 'down'),
  });
  history.sample({ at: 2000, cells: cells(), deployments: [], log: [], status: status('green', 'down') });
  history.sample({ at: 3000, cells: cells(), deployments: [], log: [], status: status('green', 'up') });
  expect(history.view(3000).incidents).toEqual(
    [
      {
        kind: 'cell-down',
        subject: 'use1-b',
        startedAt: 1000,
        endedAt: 2000,
        detail: 'its DynamoDB Local process died',
      },
      { kind: 'integration-red', subject: 'use1-a/greenleaf', startedAt: 1000, endedAt: 2000 },
      {
        kind: 'fail-static',
        subject: 'router',
        startedAt: 1000,
        endedAt: 3000,
        detail: 'routing store down: the router serves the routes it knows',
      },
    ].reverse(),
  );
});

test("a drill's rollback is a marker on the charts, not an incident", () => {
  const history = new StatusHistory();
  const at = new Date(5000).toISOString();
  const log = [
    { at, kind: 'rollback', summary: 'rollback drill of release r7', cell: 'use1-a', drill: 'rollback' },
  ];
  history.sample({ at: 6000, cells: [], deployments: [], log });
  expect(history.view(6000).markers).toEqual([
    { at: 5000, cell: 'use1-a', kind: 'rollback', label: 'rollback drill: rollback' },
  ]);
  expect(history.view(6000).incidents).toEqual([]);
});
