import { type BadReleaseEvidence, judgeBadRelease, type TrafficSample } from '../../../../lib/domain/release';

const API = 'bulkhead-a-api';
const sample = (cellId: string, status: number, version?: string): TrafficSample => ({
  cellId,
  status,
  ...(version && { version }),
  at: 0,
});
const whole = (version: string) => [{ version, weight: 1 }];

/** A drill that went as it should: rolled back, back on v2, the canary's failures all on v3. */
const good = (): BadReleaseEvidence => ({
  cellId: 'a',
  result: 'rolled-back',
  previous: { [API]: '2', 'bulkhead-a-sync': '5' },
  apiFunction: API,
  after: [
    { name: API, weights: whole('2') },
    { name: 'bulkhead-a-sync', weights: whole('5') },
  ],
  samples: [
    sample('a', 200, '2'),
    sample('a', 500, '3'),
    sample('a', 200, '3'),
    sample('a', 200, '2'),
    sample('b', 200, '8'),
    sample('c', 200, '1'),
  ],
});

describe('judgeBadRelease', () => {
  it('passes a rollback by the deployer with traffic back on the previous version and failures only on the new one', () => {
    expect(judgeBadRelease(good())).toEqual({
      ok: true,
      requests: 4,
      failures: 1,
      failureShare: 0.25,
      failuresOnPrevious: 0,
      otherCells: { requests: 2, failures: 0 },
      problems: [],
    });
  });

  it('fails when the faulty version was not rolled back by the deployer', () => {
    const verdict = judgeBadRelease({ ...good(), result: 'succeeded' });
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual(['the release was not rolled back automatically (succeeded)']);
  });

  it('fails when an alias is split or on another version than before', () => {
    const verdict = judgeBadRelease({
      ...good(),
      after: [
        {
          name: API,
          weights: [
            { version: '2', weight: 0.9 },
            { version: '3', weight: 0.1 },
          ],
        },
        { name: 'bulkhead-a-sync', weights: whole('6') },
      ],
    });
    expect(verdict.problems).toEqual([
      `${API} is on [{"version":"2","weight":0.9},{"version":"3","weight":0.1}], not 100% on v2`,
      'bulkhead-a-sync is on [{"version":"6","weight":1}], not 100% on v5',
    ]);
  });

  it('fails on failures served by the previous version, and on failures in other cells (no answer counts)', () => {
    const verdict = judgeBadRelease({
      ...good(),
      samples: [...good().samples, sample('a', 503, '2'), sample('b', 0), sample('c', 502, '1')],
    });
    expect(verdict).toMatchObject({
      ok: false,
      requests: 5,
      failures: 2,
      failuresOnPrevious: 1,
      otherCells: { requests: 4, failures: 2 },
      problems: ['1 failures on the previous version', '2 failures in other cells'],
    });
  });

  it('a 4xx is an answer, not a failure; no traffic at all is a share of 0', () => {
    expect(judgeBadRelease({ ...good(), samples: [sample('a', 404, '3')] })).toMatchObject({
      ok: true,
      failures: 0,
    });
    expect(judgeBadRelease({ ...good(), samples: [] })).toMatchObject({ requests: 0, failureShare: 0 });
  });
});
