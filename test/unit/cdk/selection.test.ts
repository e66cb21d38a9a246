import { buildFleet, exampleFleet } from './fixtures';

test('-c cells=a builds only that cell’s stack, plus the router', () => {
  const built = buildFleet(exampleFleet(), ['use1-b']);
  const names = built.app.node.children.map((c) => c.node.id).sort();
  expect(names).toEqual(['Bulkhead-Cell-use1-b', 'Bulkhead-Router']);
});

test('a selection of several cells builds exactly those', () => {
  const built = buildFleet(exampleFleet(), ['usw2-a', 'use1-a']);
  expect(built.cells.map((c) => c.stackName).sort()).toEqual([
    'Bulkhead-Cell-use1-a',
    'Bulkhead-Cell-usw2-a',
  ]);
});

test('the router knows every tenant and cell of the fleet even when one cell is selected', () => {
  const fleet = exampleFleet();
  const built = buildFleet(fleet, ['use1-b']);
  const grants = JSON.stringify(built.template('Bulkhead-Router').toJSON());
  for (const cell of ['use1-a', 'use1-b', 'usw2-a'])
    expect(grants).toContain(`function:bulkhead-${cell}-api:live`);
  expect(Object.keys(built.router.bakedRouting.cells)).toEqual(['use1-a', 'use1-b', 'usw2-a']);
  expect(Object.keys(built.router.bakedRouting.tenants)).toEqual(
    fleet.cells.flatMap((c) => c.tenants.map((t) => t.id)),
  );
  expect(built.router.bakedRouting.tenants['pacific-roots']).toEqual({ cellId: 'usw2-a' });
});
