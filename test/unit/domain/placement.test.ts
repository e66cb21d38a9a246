import {
  type CellCapacity,
  chooseCell,
  refuseDeclaredCell,
  refusePlacement,
} from '../../../lib/domain/placement';

const cell = (id: string, more: Partial<CellCapacity> = {}): CellCapacity => ({
  id,
  region: 'us-east-1',
  status: 'active',
  maxTenants: 10,
  tenantCount: 0,
  ...more,
});

describe('chooseCell', () => {
  test('picks the active cell with the most free slots, not the fewest tenants', () => {
    const cells = [
      cell('a', { maxTenants: 10, tenantCount: 2 }),
      cell('b', { maxTenants: 50, tenantCount: 20 }),
    ];
    expect(chooseCell(cells)).toEqual({ ok: true, cellId: 'b' });
  });

  test('breaks ties on free slots by the lowest id, whatever the input order', () => {
    const cells = [
      cell('c', { tenantCount: 4 }),
      cell('a', { tenantCount: 4 }),
      cell('b', { tenantCount: 4 }),
    ];
    expect(chooseCell(cells)).toEqual({ ok: true, cellId: 'a' });
    expect(chooseCell([...cells].reverse())).toEqual({ ok: true, cellId: 'a' });
  });

  test('skips cells that are draining, down or retired even when they have the most room', () => {
    const cells = [
      cell('a', { status: 'draining', tenantCount: 0 }),
      cell('b', { status: 'down', tenantCount: 0 }),
      cell('c', { status: 'retired', tenantCount: 0 }),
      cell('d', { tenantCount: 9 }),
    ];
    expect(chooseCell(cells)).toEqual({ ok: true, cellId: 'd' });
  });

  test('keeps to the region when one is given', () => {
    const cells = [cell('east', { tenantCount: 9 }), cell('west', { region: 'us-west-2', tenantCount: 0 })];
    expect(chooseCell(cells, 'us-east-1')).toEqual({ ok: true, cellId: 'east' });
    expect(chooseCell(cells)).toEqual({ ok: true, cellId: 'west' });
  });

  test('a cell without a declared limit always has room', () => {
    const cells = [cell('a', { tenantCount: 0 }), cell('b', { maxTenants: undefined, tenantCount: 500 })];
    expect(chooseCell(cells)).toEqual({ ok: true, cellId: 'b' });
  });

  test('refuses with no active cell in the region, naming where active cells are', () => {
    const cells = [cell('a'), cell('w', { region: 'us-west-2', status: 'draining' })];
    expect(chooseCell(cells, 'us-west-2')).toEqual({
      ok: false,
      reason: 'no active cell in region us-west-2 (active cells are in us-east-1)',
    });
    expect(chooseCell([])).toEqual({ ok: false, reason: 'no active cell' });
  });

  test('refuses when every active cell is full, with each cell’s usage', () => {
    const cells = [
      cell('b', { maxTenants: 2, tenantCount: 2 }),
      cell('a', { maxTenants: 3, tenantCount: 4 }),
      cell('z', { status: 'draining', tenantCount: 0 }),
    ];
    expect(chooseCell(cells)).toEqual({ ok: false, reason: 'every active cell is full (a 4/3, b 2/2)' });
  });
});

describe('refusePlacement', () => {
  const reserved = new Set(['bulkhead-smoke']);

  test.each([
    ['upper case', 'A-shop', 'invalid tenant id'],
    ['one character', 'x', 'invalid tenant id'],
    ['a leading dash', '-lead', 'invalid tenant id'],
    ['an underscore (the API key separator)', 'has_underscore', 'invalid tenant id'],
    ['64 characters', 'a'.repeat(64), 'invalid tenant id'],
    ['the smoke test tenant', 'bulkhead-smoke', "tenant id 'bulkhead-smoke' is reserved"],
  ])('refuses %s', (_, id, reason) => {
    expect(refusePlacement(id, undefined, reserved)).toContain(reason);
  });

  test('refuses a tenant that already has a route, naming its cell', () => {
    expect(refusePlacement('greenleaf', 'use1-a', reserved)).toBe(
      "tenant 'greenleaf' already exists (on cell use1-a)",
    );
  });

  test('accepts a new, well-formed id', () => {
    expect(refusePlacement('mile-high-2', undefined, reserved)).toBeUndefined();
  });
});

describe('refuseDeclaredCell (tenants seed: the cell the fleet file names)', () => {
  const registry: CellCapacity[] = [
    { id: 'use1-a', region: 'us-east-1', status: 'active', maxTenants: 2, tenantCount: 1 },
    { id: 'use1-b', region: 'us-east-1', status: 'draining', maxTenants: 10, tenantCount: 0 },
    { id: 'use1-c', region: 'us-east-1', status: 'active', maxTenants: 2, tenantCount: 2 },
    { id: 'use1-d', region: 'us-east-1', status: 'active', tenantCount: 500 },
  ];

  test('accepts a registered, active cell with room (or no declared limit)', () => {
    expect(refuseDeclaredCell('use1-a', registry)).toBeUndefined();
    expect(refuseDeclaredCell('use1-d', registry)).toBeUndefined();
  });

  test('refuses a cell that is not deployed, not active, or full, saying which', () => {
    expect(refuseDeclaredCell('use1-z', registry)).toBe(
      'cell use1-z is not in the cell registry: deploy Bulkhead-Cell-use1-z first',
    );
    expect(refuseDeclaredCell('use1-b', registry)).toBe(
      'cell use1-b is draining, not active: it takes no tenants',
    );
    expect(refuseDeclaredCell('use1-c', registry)).toBe('cell use1-c is full (2/2 tenants)');
  });
});
