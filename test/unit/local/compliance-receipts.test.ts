import { formatReceipts } from '../../../lib/local/platform/compliance';

test('`local compliance receipts` lists one line per receipt: id, external number, total, lines, voided', () => {
  const text = formatReceipts('greenleaf', {
    licenseNumber: 'C10-1',
    receipts: [
      { id: 1, externalNumber: 'o-1', total: 24, lines: 1, voided: false },
      { id: 2, externalNumber: 'o-1', total: 24, lines: 1, voided: true },
    ],
  });

  const [header, titles, ...rows] = text.split('\n');
  expect(header).toBe('greenleaf (license C10-1): 2 receipts');
  expect(titles.split(/\s+/).filter(Boolean)).toEqual(['id', 'external', 'number', 'total', 'lines']);
  expect(rows.map((r) => r.split(/\s+/).filter(Boolean))).toEqual([
    ['1', 'o-1', '24.00', '1'],
    ['2', 'o-1', '24.00', '1', 'voided'],
  ]);
});

test('a tenant the state system holds nothing for is one line', () => {
  expect(formatReceipts('greenleaf', { licenseNumber: 'C10-1', receipts: [] })).toBe(
    'greenleaf (license C10-1): 0 receipts',
  );
});
