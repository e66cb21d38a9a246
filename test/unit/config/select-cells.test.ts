import { resolveFleet } from '../../../lib/config/validate';
import { CellSelectionError, selectCells } from '../../../lib/infra/bulkhead-app';

const fleet = resolveFleet({
  defaults: { account: '111111111111', region: 'us-east-1' },
  cells: [
    { id: 'use1-a', wave: 0, maxTenants: 5 },
    { id: 'use1-b', wave: 1, maxTenants: 5 },
    { id: 'usw2-a', wave: 2, maxTenants: 5, region: 'us-west-2' },
  ],
});

describe('selectCells', () => {
  test('without a selection, returns every cell', () => {
    expect(selectCells(fleet)).toBe(fleet.cells);
  });

  test('with a selection, returns only the named cells, in fleet order', () => {
    expect(selectCells(fleet, ['usw2-a']).map((c) => c.id)).toEqual(['usw2-a']);
    expect(selectCells(fleet, ['usw2-a', 'use1-a']).map((c) => c.id)).toEqual(['use1-a', 'usw2-a']);
  });

  test('an unknown id throws CellSelectionError naming it and listing the known cells', () => {
    expect(() => selectCells(fleet, ['use1-a', 'euw1-a'])).toThrow(CellSelectionError);
    expect(() => selectCells(fleet, ['use1-a', 'euw1-a'])).toThrow(
      '-c cells: unknown cell euw1-a; the fleet has use1-a, use1-b, usw2-a',
    );
    expect(() => selectCells(fleet, ['x1', 'x2'])).toThrow(
      '-c cells: unknown cells x1, x2; the fleet has use1-a, use1-b, usw2-a',
    );
  });
});
