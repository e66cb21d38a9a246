import {
  errorText,
  retryAfterSeconds,
  rowErrors,
  verdictOf,
  type CallEnd,
} from '../../../../lib/domain/compliance/outcome';

const answer = (status: number): CallEnd => ({ kind: 'answer', status });

describe('the unknown-outcome decision table', () => {
  it.each([
    [answer(200), 'yes'],
    [answer(201), 'yes'],
    [answer(400), 'no'],
    [answer(413), 'no'],
    [answer(422), 'no'],
    [answer(429), 'no'],
    [answer(401), 'no'],
    [answer(403), 'no'],
    [answer(404), 'no'],
    [answer(405), 'no'],
    [{ kind: 'no-answer', cause: 'refused' } as const, 'no'],
    // The request may have reached the state system, which may have committed it.
    [answer(408), 'unknown'],
    [answer(500), 'unknown'],
    [answer(502), 'unknown'],
    [answer(503), 'unknown'],
    [answer(504), 'unknown'],
    [answer(302), 'unknown'],
    [{ kind: 'no-answer', cause: 'reset' } as const, 'unknown'],
    [{ kind: 'no-answer', cause: 'timeout' } as const, 'unknown'],
    [{ kind: 'no-answer', cause: 'other' } as const, 'unknown'],
  ])('%j: committed %s', (end, committed) => {
    expect(verdictOf(end).committed).toBe(committed);
  });

  it('counts a 429 against neither side of the breaker, an invalid receipt as a success of the API', () => {
    expect(verdictOf(answer(429))).toEqual({
      committed: 'no',
      invalid: false,
      reason: 'throttled',
      breaker: 'neutral',
    });
    expect(verdictOf(answer(400))).toMatchObject({ invalid: true, breaker: 'success' });
    expect(verdictOf(answer(503)).breaker).toBe('failure');
    expect(verdictOf({ kind: 'no-answer', cause: 'refused' })).toMatchObject({
      reason: 'unreachable',
      breaker: 'failure',
    });
  });

  it("reads the rows of Metrc's 400 body, and only of the shape that names rows", () => {
    expect(rowErrors([{ row: 1, message: 'bad label' }])).toEqual([{ row: 1, message: 'bad label' }]);
    expect(rowErrors(['bad label'])).toBeUndefined();
    expect(rowErrors({ Message: 'bad' })).toBeUndefined();
    expect(rowErrors([{ row: -1, message: 'x' }])).toBeUndefined();
  });

  it("describes an error body in any of Metrc's shapes", () => {
    expect(errorText([{ row: 0, message: 'bad label' }, 'second'])).toBe('row 0: bad label; second');
    expect(errorText({ Message: 'Unauthorized' })).toBe('Unauthorized');
    expect(errorText('<html>Bad Gateway</html>')).toBe('<html>Bad Gateway</html>');
  });

  it('reads Retry-After in seconds or as a date, capped, and ignores what it cannot read', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterSeconds('3', now)).toBe(3);
    expect(retryAfterSeconds('0.2', now)).toBe(1);
    expect(retryAfterSeconds('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10);
    expect(retryAfterSeconds('99999', now)).toBe(3600);
    expect(retryAfterSeconds('soon', now)).toBeUndefined();
    expect(retryAfterSeconds(null, now)).toBeUndefined();
  });
});
