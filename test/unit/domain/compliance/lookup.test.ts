import { matchReceipts, nextStep, windows } from '../../../../lib/domain/compliance/lookup';

const policy = { settleMs: 5000, skewMs: 1000 };
const HOUR = 3600 * 1000;

describe('lookup before repost', () => {
  it('posts an order that has no unknown attempt', () => {
    expect(nextStep({}, 10_000, policy)).toEqual({ kind: 'post' });
  });

  it('looks an order up before posting it again after an unknown attempt, from the attempt less the skew', () => {
    expect(nextStep({ attemptedAt: 10_000 }, 20_000, policy)).toEqual({ kind: 'lookup', since: 9000 });
  });

  it('waits until the unknown attempt has settled: the state system may still be committing it', () => {
    expect(nextStep({ attemptedAt: 10_000 }, 12_000, policy)).toEqual({
      kind: 'wait',
      untilMs: 15_000,
      why: 'settling',
    });
  });

  it('waits while another worker holds the order, whatever else it carries', () => {
    expect(nextStep({ attemptedAt: 1, claimUntil: 30_000 }, 20_000, policy)).toEqual({
      kind: 'wait',
      untilMs: 30_000,
      why: 'claimed',
    });
    expect(nextStep({ claimUntil: 19_000 }, 20_000, policy)).toEqual({ kind: 'post' });
  });

  it('settles a found order with the first receipt recorded, and lets the absent ones be posted', () => {
    const result = matchReceipts(
      ['o-1', 'o-2', 'o-3'],
      [
        { Id: 9, ExternalReceiptNumber: 'o-1' },
        { Id: 7, ExternalReceiptNumber: 'o-1' },
        { Id: 8, ExternalReceiptNumber: 'o-3' },
        { Id: 10, ExternalReceiptNumber: null },
        { Id: 11, ExternalReceiptNumber: 'someone-else' },
      ],
    );
    expect([...result.found].map(([id, r]) => [id, r.Id])).toEqual([
      ['o-1', 7],
      ['o-3', 8],
    ]);
    expect(result.absent).toEqual(['o-2']);
  });

  it("cuts a lookup into the state system's 24-hour filter windows, oldest first", () => {
    expect(windows(0, 50 * HOUR)).toEqual([
      { start: 0, end: 24 * HOUR },
      { start: 24 * HOUR, end: 48 * HOUR },
      { start: 48 * HOUR, end: 50 * HOUR },
    ]);
    expect(windows(5, 5)).toEqual([{ start: 5, end: 5 }]);
  });
});
