import { parseScheduleExpression, ratePeriodMs } from '../../../lib/domain/schedule-expression';

describe('parseScheduleExpression', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(2 hours)', 7_200_000],
    ['rate(1 day)', 86_400_000],
    ['rate(3 days)', 259_200_000],
  ])('reads %s as every %s ms', (expression, periodMs) => {
    expect(parseScheduleExpression(expression)).toEqual({ kind: 'rate', periodMs });
  });

  it.each([
    ['cron(0/10 * * * ? *)', ['0/10', '*', '*', '*', '?', '*']],
    ['cron(0 3 ? * MON-FRI *)', ['0', '3', '?', '*', 'MON-FRI', '*']],
  ])('reads %s as its six fields', (expression, fields) => {
    expect(parseScheduleExpression(expression)).toEqual({ kind: 'cron', fields });
  });

  it.each([
    ['rate(1 minutes)', /use rate\(1 minute\)/],
    ['rate(5 minute)', /use rate\(5 minutes\)/],
    ['rate(0 minutes)', /the rate must be at least 1/],
    ['rate(5 seconds)', /expected rate\(N minutes\|hours\|days\)/],
    ['cron(* * *)', /cron\(\) takes 6 fields .* got 3/],
    ['every 5m', /invalid schedule expression 'every 5m'/],
  ])('refuses %s, as EventBridge does', (expression, reason) => {
    expect(() => parseScheduleExpression(expression)).toThrow(reason);
  });
});

describe('ratePeriodMs', () => {
  it('is the period of a rate() schedule', () => {
    expect(ratePeriodMs('rate(5 minutes)')).toBe(300_000);
  });

  it('refuses a valid cron() schedule: the local platform has no cron clock', () => {
    expect(() => ratePeriodMs('cron(0/5 * * * ? *)')).toThrow(
      'unsupported locally: cron(0/5 * * * ? *) (the local platform runs rate() schedules only)',
    );
  });
});
