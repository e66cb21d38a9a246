import { describeProgress, describeTimeScale } from '../../../lib/release/format';

test('a bake says how long it waits, for what, and until when', () => {
  const until = Date.UTC(2026, 11, 2, 1, 2, 3);
  expect(describeProgress({ type: 'bake-started', wave: 1, ms: 120_000, until })).toBe(
    'wave 1: baking 120.0 s while watching its alarms (done at about 01:02:03)',
  );
});

test('the time scale in effect is said in words an operator can act on', () => {
  expect(describeTimeScale('local', 1)).toMatch(/^time scale 1: real time.*--time-scale 60/);
  expect(describeTimeScale('local', 60)).toBe(
    'time scale 60: a minute of canary, interval or bake takes 1.00 s',
  );
  expect(describeTimeScale('aws', 60)).toMatch(/^real time/);
});
