import { type Incident, observe, withRollback } from '../../../lib/domain/incidents';

const down = { kind: 'cell-down', subject: 'use1-a', detail: 'its DynamoDB Local process died' } as const;
const red = { kind: 'integration-red', subject: 'use1-a/greenleaf' } as const;

test('a condition that starts holding opens an incident at that time, and ends when it stops holding', () => {
  let incidents: Incident[] = observe([], [down], 1000);
  expect(incidents).toEqual([{ ...down, startedAt: 1000 }]);
  incidents = observe(incidents, [down], 2000);
  expect(incidents).toEqual([{ ...down, startedAt: 1000 }]);
  incidents = observe(incidents, [], 3000);
  expect(incidents).toEqual([{ ...down, startedAt: 1000, endedAt: 3000 }]);
});

test('the same condition coming back is a new incident; others are tracked on their own', () => {
  let incidents = observe([], [down], 1000);
  incidents = observe(incidents, [red], 2000);
  incidents = observe(incidents, [red, down], 3000);
  expect(incidents).toEqual([
    { ...down, startedAt: 1000, endedAt: 2000 },
    { ...red, startedAt: 2000 },
    { ...down, startedAt: 3000 },
  ]);
});

test('a rollback is an incident over when it is logged, added once however often it is seen', () => {
  const rollback = { subject: 'use1-a', at: 5000, detail: 'alarm: 5xx' };
  let incidents = withRollback([], rollback);
  incidents = withRollback(incidents, rollback);
  incidents = observe(incidents, [], 6000);
  expect(incidents).toEqual([
    { kind: 'rollback', subject: 'use1-a', startedAt: 5000, endedAt: 5000, detail: 'alarm: 5xx' },
  ]);
});

test('only the newest ended incidents are kept, and an open one is never dropped', () => {
  let incidents = observe([], [down], 0);
  for (let t = 1; t <= 10; t++) incidents = withRollback(incidents, { subject: `c${t}`, at: t });
  incidents = observe(incidents, [down], 11, 3);
  expect(incidents.map((i) => i.subject)).toEqual(['use1-a', 'c9', 'c10']);
});
