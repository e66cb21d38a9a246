import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { FleetFileError, loadFleet } from '../../../lib/config/load';
import type { FleetConfig } from '../../../lib/config/types';
import { FleetValidationError, resolveFleet } from '../../../lib/config/validate';

const ACCOUNT = '111111111111';
const OTHER_ACCOUNT = '222222222222';

function fleet(config: FleetConfig) {
  return resolveFleet(config);
}

describe('resolveFleet', () => {
  test('merges the defaults into every cell', () => {
    const { cells } = fleet({
      defaults: {
        account: ACCOUNT,
        region: 'eu-west-1',
        deployment: { type: 'linear', percent: 20, intervalMinutes: 3 },
        bakeMinutes: 7,
      },
      cells: [{ id: 'euw1-a', wave: 0, maxTenants: 5 }],
    });
    expect(cells).toEqual([
      {
        id: 'euw1-a',
        wave: 0,
        maxTenants: 5,
        tenants: [],
        deployment: { type: 'linear', percent: 20, intervalMinutes: 3 },
        bakeMinutes: 7,
        account: ACCOUNT,
        region: 'eu-west-1',
      },
    ]);
  });

  test('a per-cell setting wins over the defaults', () => {
    const { cells } = fleet({
      defaults: {
        account: ACCOUNT,
        region: 'eu-west-1',
        deployment: { type: 'linear', percent: 20, intervalMinutes: 3 },
        bakeMinutes: 7,
      },
      cells: [
        {
          id: 'use2-a',
          wave: 0,
          maxTenants: 5,
          account: OTHER_ACCOUNT,
          region: 'us-east-2',
          deployment: { type: 'canary', percent: 5, intervalMinutes: 15 },
          bakeMinutes: 0,
        },
      ],
    });
    expect(cells[0]).toMatchObject({
      account: OTHER_ACCOUNT,
      region: 'us-east-2',
      deployment: { type: 'canary', percent: 5, intervalMinutes: 15 },
      bakeMinutes: 0,
    });
  });

  test('without deployment or bakeMinutes anywhere, the built-in defaults apply', () => {
    const { cells } = fleet({
      cells: [{ id: 'use1-a', wave: 0, maxTenants: 5, account: ACCOUNT, region: 'us-east-1' }],
    });
    expect(cells[0].deployment).toEqual({ type: 'canary', percent: 10, intervalMinutes: 5 });
    expect(cells[0].bakeMinutes).toBe(10);
  });

  test('normalises tenants: a string becomes { id }, an object keeps only what it has', () => {
    const { cells } = fleet({
      defaults: { account: ACCOUNT, region: 'us-east-1' },
      cells: [{ id: 'use1-a', wave: 0, maxTenants: 5, tenants: ['alpha', { id: 'bravo' }] }],
    });
    expect(cells[0].tenants).toStrictEqual([{ id: 'alpha' }, { id: 'bravo' }]);
  });

  test('fills in the integration defaults, and keeps explicit values', () => {
    const { cells } = fleet({
      defaults: { account: ACCOUNT, region: 'us-east-1' },
      cells: [
        {
          id: 'use1-a',
          wave: 0,
          maxTenants: 5,
          tenants: [
            { id: 'alpha', integration: { baseUrl: 'https://api.example.com' } },
            {
              id: 'bravo',
              integration: {
                baseUrl: 'http://localhost:4010',
                ratePerSecond: 2.5,
                burst: 4,
                apiKeySecret: 'custom/key',
              },
            },
          ],
        },
      ],
    });
    expect(cells[0].tenants).toStrictEqual([
      {
        id: 'alpha',
        integration: {
          baseUrl: 'https://api.example.com',
          ratePerSecond: 5,
          burst: 1,
          apiKeySecret: 'bulkhead/compliance/alpha',
          licenseNumber: 'alpha',
          timeZone: 'UTC',
          vendorKeySecret: 'bulkhead/compliance/vendor',
          batchSize: 10,
        },
      },
      {
        id: 'bravo',
        integration: {
          baseUrl: 'http://localhost:4010',
          ratePerSecond: 2.5,
          burst: 4,
          apiKeySecret: 'custom/key',
          licenseNumber: 'bravo',
          timeZone: 'UTC',
          vendorKeySecret: 'bulkhead/compliance/vendor',
          batchSize: 10,
        },
      },
    ]);
  });

  test('allAtOnce becomes percent 100, interval 0, from a cell or from the defaults', () => {
    const { cells } = fleet({
      defaults: { account: ACCOUNT, region: 'us-east-1', deployment: { type: 'allAtOnce' } },
      cells: [
        { id: 'use1-a', wave: 0, maxTenants: 5 },
        { id: 'use1-b', wave: 1, maxTenants: 5, deployment: { type: 'allAtOnce' } },
      ],
    });
    for (const cell of cells) {
      expect(cell.deployment).toEqual({ type: 'allAtOnce', percent: 100, intervalMinutes: 0 });
    }
  });

  describe('router env', () => {
    const cells: FleetConfig['cells'] = [
      { id: 'usw2-b', wave: 1, maxTenants: 5, account: OTHER_ACCOUNT, region: 'us-west-2' },
      { id: 'euw1-a', wave: 0, maxTenants: 5, account: ACCOUNT, region: 'eu-west-1' },
      { id: 'use1-a', wave: 0, maxTenants: 5, account: OTHER_ACCOUNT, region: 'us-east-1' },
    ];

    test("defaults to the defaults' account and region", () => {
      const { router } = fleet({ defaults: { account: ACCOUNT, region: 'eu-central-1' }, cells });
      expect(router).toMatchObject({ account: ACCOUNT, region: 'eu-central-1' });
    });

    test("without defaults, to the first wave-0 cell's account and region", () => {
      expect(fleet({ cells }).router).toMatchObject({ account: ACCOUNT, region: 'eu-west-1' });
    });

    test('an explicit router wins, field by field', () => {
      expect(fleet({ router: { region: 'ap-south-1' }, cells }).router).toMatchObject({
        account: ACCOUNT,
        region: 'ap-south-1',
      });
      expect(fleet({ router: { account: OTHER_ACCOUNT, region: 'ap-south-1' }, cells }).router).toMatchObject(
        {
          account: OTHER_ACCOUNT,
          region: 'ap-south-1',
        },
      );
    });
  });
});

describe('loadFleet', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-fleet-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the example cells.config.ts: 3 cells in 2 regions across waves 0, 1, 2 with 8 to 10 tenants', () => {
    const { cells, router } = loadFleet(path.join(__dirname, '..', '..', '..', 'cells.config.ts'));
    expect(cells).toHaveLength(3);
    expect(new Set(cells.map((c) => c.region)).size).toBe(2);
    expect([...new Set(cells.map((c) => c.wave))].sort()).toEqual([0, 1, 2]);
    const tenants = cells.flatMap((c) => c.tenants);
    expect(tenants.length).toBeGreaterThanOrEqual(8);
    expect(tenants.length).toBeLessThanOrEqual(10);
    expect(router).toMatchObject({ account: '111111111111', region: 'us-east-1' });
  });

  test('a missing file throws FleetFileError naming the path', () => {
    const missing = path.join(dir, 'nope.config.ts');
    expect(() => loadFleet(missing)).toThrow(FleetFileError);
    expect(() => loadFleet(missing)).toThrow(`fleet file not found: ${missing}`);
  });

  test('a .json fleet file works', () => {
    const file = path.join(dir, 'fleet.json');
    const config: FleetConfig = {
      defaults: { account: ACCOUNT, region: 'us-east-1' },
      cells: [{ id: 'use1-a', wave: 0, maxTenants: 2, tenants: ['alpha'] }],
    };
    fs.writeFileSync(file, JSON.stringify(config));
    const { cells } = loadFleet(file);
    expect(cells.map((c) => [c.id, c.account, c.region, c.tenants])).toEqual([
      ['use1-a', ACCOUNT, 'us-east-1', [{ id: 'alpha' }]],
    ]);
  });

  test('a .json file that does not parse throws FleetFileError', () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, '{ "cells": [');
    expect(() => loadFleet(file)).toThrow(FleetFileError);
    expect(() => loadFleet(file)).toThrow(`fleet file ${file} could not be loaded`);
  });

  test('an invalid .json fleet throws FleetValidationError with the file as source', () => {
    const file = path.join(dir, 'invalid.json');
    fs.writeFileSync(file, JSON.stringify({ cells: [{ id: 'Use1_A', wave: 0, maxTenants: 2 }] }));
    let error: unknown;
    try {
      loadFleet(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FleetValidationError);
    expect((error as FleetValidationError).source).toBe(path.relative(process.cwd(), file));
    expect((error as FleetValidationError).issues.map((i) => i.path)).toEqual([
      'cells[0].id',
      'cells[0].account',
      'cells[0].region',
    ]);
  });
});
