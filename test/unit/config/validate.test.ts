import { cellSecretNames, secretPolicyGroups } from '../../../lib/config/integrations';
import { type FleetConfig, operatorAccountOf } from '../../../lib/config/types';
import {
  CELL_ID_PATTERN,
  FleetValidationError,
  formatIssue,
  MAX_SECRET_POLICIES,
  MAX_TENANTS_PER_CELL,
  resolveFleet,
  RULES,
  TENANT_ID_PATTERN,
  validateFleet,
} from '../../../lib/config/validate';

type Raw = Record<string, unknown>;

/** A valid fleet using every feature: defaults, router, per-cell overrides, both tenant forms. */
function base(): Raw {
  return {
    defaults: {
      account: '111111111111',
      region: 'us-east-1',
      deployment: { type: 'canary', percent: 10, intervalMinutes: 5 },
      bakeMinutes: 10,
    },
    router: { account: '111111111111', region: 'us-east-1' },
    cells: [
      {
        id: 'use1-a',
        wave: 0,
        maxTenants: 3,
        tenants: [
          'alpha',
          {
            id: 'bravo',
            integration: {
              baseUrl: 'https://api.example.com',
              ratePerSecond: 5,
              burst: 2,
              apiKeySecret: 'k/bravo',
            },
          },
        ],
      },
      {
        id: 'usw2-a',
        wave: 1,
        maxTenants: 3,
        region: 'us-west-2',
        deployment: { type: 'linear', percent: 25, intervalMinutes: 2 },
        bakeMinutes: 5,
        tenants: ['charlie'],
      },
    ],
  };
}

const REMOVE = Symbol('remove');

/** One cell of `count` tenants, every one integrated, with 63-character ids, in a 15-character region. */
function fullCell(count: number): Raw {
  return {
    defaults: { account: '111111111111', region: 'us-isof-south-1' },
    cells: [
      {
        id: 'full',
        wave: 0,
        maxTenants: count,
        tenants: Array.from({ length: count }, (_, i) => ({
          id: `t${i}-`.padEnd(63, 'x'),
          integration: { baseUrl: 'https://api.example.com' },
        })),
      },
    ],
  };
}

/** The base fleet with each `path` (e.g. `cells[0].tenants[1].id`) set to a value, or removed. */
function fleetWith(changes: Record<string, unknown>): Raw {
  const fleet = base();
  for (const [path, value] of Object.entries(changes)) {
    const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
    const last = keys.pop() as string;
    let target = fleet;
    for (const key of keys) target = target[key] as Raw;
    if (value === REMOVE) delete target[last];
    else target[last] = value;
  }
  return fleet;
}

const issue = (path: string, received: unknown, allowed: string) => ({
  path,
  received,
  allowed: expect.stringContaining(allowed),
});

const covered = new Set<string>();
/** One `describe` per rule of RULES; the last test checks that none was left out. */
function rule(name: string, body: () => void): void {
  covered.add(name);
  describe(`rule ${name}`, body);
}

test('the valid base fleet has no issue', () => {
  expect(validateFleet(base())).toEqual([]);
  expect(() => resolveFleet(base())).not.toThrow();
});

describe('shape checks', () => {
  test.each([null, 'cells', 42, [], undefined])('root %p is not an object', (root) => {
    expect(validateFleet(root)).toEqual([
      issue('(root)', root, 'an object { defaults?, router?, cells: [...] }'),
    ]);
  });

  test.each([REMOVE, [], 'use1-a', {}])('cells %p is missing, empty or not an array', (cells) => {
    expect(validateFleet(fleetWith({ cells }))).toEqual([
      issue('cells', cells === REMOVE ? undefined : cells, 'a non-empty array of cells'),
    ]);
  });

  test.each(['usw2-a', null, 7, ['usw2-a']])('a cell %p is not an object', (cell) => {
    expect(validateFleet(fleetWith({ 'cells[1]': cell }))).toEqual([
      issue('cells[1]', cell, 'an object { id, wave, maxTenants, tenants, ... }'),
    ]);
  });

  test.each([42, null, true, ['alpha']])('a tenant %p is neither a string nor an object', (tenant) => {
    expect(validateFleet(fleetWith({ 'cells[0].tenants[0]': tenant }))).toEqual([
      issue('cells[0].tenants[0]', tenant, 'a tenant id string or an object { id, integration? }'),
    ]);
  });

  test('defaults not an object: reported, and cells relying on it have no account or region', () => {
    expect(validateFleet(fleetWith({ defaults: 'us-east-1' }))).toEqual([
      issue('defaults', 'us-east-1', 'an object { account?, region?, deployment?, bakeMinutes? }'),
      issue('cells[0].account', undefined, 'a 12-digit AWS account id'),
      issue('cells[1].account', undefined, 'a 12-digit AWS account id'),
      issue('cells[0].region', undefined, 'an AWS region such as us-east-1'),
    ]);
  });
});

rule('knownKeys', () => {
  test("a typo 'maxTenant' in a cell: the unknown key and the missing maxTenants", () => {
    expect(validateFleet(fleetWith({ 'cells[0].maxTenants': REMOVE, 'cells[0].maxTenant': 3 }))).toEqual([
      issue('cells[0].maxTenant', 3, 'one of the known keys of cell: id, wave, maxTenants,'),
      issue('cells[0].maxTenants', undefined, `an integer from 1 to ${MAX_TENANTS_PER_CELL}`),
    ]);
  });

  test("'tenant' at the root", () => {
    expect(validateFleet(fleetWith({ tenant: ['alpha'] }))).toEqual([
      issue(
        '(root).tenant',
        ['alpha'],
        'one of the known keys of root: defaults, router, operatorAccount, alarms, drill, cells',
      ),
    ]);
  });

  test.each([
    ['defaults.acount', 'one of the known keys of defaults: account, region, deployment, bakeMinutes'],
    ['router.regoin', 'one of the known keys of router: account, region'],
    ['cells[0].tenants[1].name', 'one of the known keys of tenant: id, integration'],
  ])('an unknown key %s', (path, allowed) => {
    expect(validateFleet(fleetWith({ [path]: 'x' }))).toEqual([issue(path, 'x', allowed)]);
  });
});

rule('cellIdPattern', () => {
  test.each(['Use1_A', '', 'a'.repeat(32), '-use1', 42, REMOVE])('cell id %p', (id) => {
    expect(validateFleet(fleetWith({ 'cells[0].id': id }))).toEqual([
      issue('cells[0].id', id === REMOVE ? undefined : id, `a string matching ${CELL_ID_PATTERN}`),
    ]);
  });

  test.each(['a', '0', 'a'.repeat(31), 'use1-a-2'])('cell id %p is valid', (id) => {
    expect(validateFleet(fleetWith({ 'cells[0].id': id }))).toEqual([]);
  });
});

rule('cellIdUnique', () => {
  test('two cells with the same id', () => {
    expect(validateFleet(fleetWith({ 'cells[1].id': 'use1-a' }))).toEqual([
      issue('cells[1].id', 'use1-a', 'an id not already used by cells[0]'),
    ]);
  });
});

rule('tenantIdPattern', () => {
  test.each(['a', 'Alpha', 'a'.repeat(64), 'al_pha', '-alpha', ''])('tenant id %p (string form)', (id) => {
    expect(validateFleet(fleetWith({ 'cells[0].tenants[0]': id }))).toEqual([
      issue('cells[0].tenants[0]', id, `a string matching ${TENANT_ID_PATTERN}`),
    ]);
  });

  test.each(['B', 42, REMOVE])('tenant id %p (object form) is reported at .id', (id) => {
    expect(validateFleet(fleetWith({ 'cells[0].tenants[1].id': id }))).toEqual([
      issue(
        'cells[0].tenants[1].id',
        id === REMOVE ? undefined : id,
        `a string matching ${TENANT_ID_PATTERN}`,
      ),
    ]);
  });

  test.each(['ab', 'a'.repeat(63), '9-lives'])('tenant id %p is valid', (id) => {
    expect(validateFleet(fleetWith({ 'cells[0].tenants[0]': id }))).toEqual([]);
  });
});

rule('tenantInOneCell', () => {
  test('a tenant in two cells', () => {
    expect(validateFleet(fleetWith({ 'cells[1].tenants[0]': 'alpha' }))).toEqual([
      issue('cells[1].tenants[0]', 'alpha', 'a tenant not already placed at cells[0].tenants[0]'),
    ]);
  });

  test('a tenant twice in the same cell', () => {
    expect(validateFleet(fleetWith({ 'cells[0].tenants[2]': 'alpha' }))).toEqual([
      issue('cells[0].tenants[2]', 'alpha', 'a tenant not already placed at cells[0].tenants[0]'),
    ]);
  });

  test('the string form and the object form of the same tenant', () => {
    expect(validateFleet(fleetWith({ 'cells[1].tenants[1]': { id: 'bravo' } }))).toEqual([
      issue('cells[1].tenants[1]', 'bravo', 'a tenant not already placed at cells[0].tenants[1]'),
    ]);
  });
});

rule('maxTenants', () => {
  test('more tenants than maxTenants', () => {
    expect(validateFleet(fleetWith({ 'cells[1].tenants': ['charlie', 'delta', 'echo', 'foxtrot'] }))).toEqual(
      [issue('cells[1].tenants', '4 tenants', 'at most maxTenants (3)')],
    );
  });

  test('exactly maxTenants tenants is fine', () => {
    expect(validateFleet(fleetWith({ 'cells[1].tenants': ['charlie', 'delta', 'echo'] }))).toEqual([]);
  });

  test.each([0, -1, 2.5, '3', MAX_TENANTS_PER_CELL + 1, 10000, null, REMOVE])(
    'maxTenants %p is not an integer from 1 to the most a cell can hold',
    (max) => {
      expect(validateFleet(fleetWith({ 'cells[0].maxTenants': max }))).toEqual([
        issue(
          'cells[0].maxTenants',
          max === REMOVE ? undefined : max,
          `an integer from 1 to ${MAX_TENANTS_PER_CELL} (what one cell's stack can hold, all integrated)`,
        ),
      ]);
    },
  );

  test('a cell of 301 tenants is refused, naming the cell and the bound', () => {
    expect(() => resolveFleet(fullCell(MAX_TENANTS_PER_CELL + 1))).toThrow(
      `cells[0].maxTenants: received 301; allowed: an integer from 1 to ${MAX_TENANTS_PER_CELL}`,
    );
  });

  test('a cell at the bound, every tenant integrated, the longest ids, in the longest region: valid', () => {
    const fleet = resolveFleet(fullCell(MAX_TENANTS_PER_CELL));
    const [cell] = fleet.cells;
    expect(cell.tenants.every((t) => t.id.length === 63 && t.integration)).toBe(true);
    expect(secretPolicyGroups(cell, cellSecretNames(cell)).length).toBeLessThanOrEqual(MAX_SECRET_POLICIES);
  });
});

rule('integrationSecrets', () => {
  const withSecrets = (count: number, nameLength: number) => {
    const fleet = fullCell(count);
    const cell = (fleet.cells as Raw[])[0];
    cell.tenants = (cell.tenants as Raw[]).map((t, i) => ({
      ...t,
      integration: { ...(t.integration as Raw), apiKeySecret: `k/${i}-`.padEnd(nameLength, 'x') },
    }));
    return fleet;
  };

  test('secrets that need more IAM managed policies than the worker’s role can have', () => {
    expect(validateFleet(withSecrets(100, 512))).toEqual([
      issue(
        'cells[0].tenants',
        '100 integrated tenants, whose API key secrets need 10 IAM managed policies',
        "secrets that fit the sync worker's 9 policies of 6,144 characters",
      ),
    ]);
  });

  test('the same long names for fewer tenants fit', () => {
    expect(validateFleet(withSecrets(90, 512))).toEqual([]);
  });

  test('tenants sharing one secret count it once', () => {
    const fleet = withSecrets(MAX_TENANTS_PER_CELL, 10);
    for (const t of (fleet.cells as Raw[])[0].tenants as Raw[])
      (t.integration as Raw).apiKeySecret = 'shared';
    expect(validateFleet(fleet)).toEqual([]);
  });
});

rule('tenantsList', () => {
  test.each(['alpha', { alpha: {} }, 3])('tenants %p is not an array', (tenants) => {
    expect(validateFleet(fleetWith({ 'cells[0].tenants': tenants }))).toEqual([
      issue('cells[0].tenants', tenants, 'an array of tenant ids or { id }'),
    ]);
  });

  test('a cell without tenants is fine', () => {
    expect(validateFleet(fleetWith({ 'cells[1].tenants': REMOVE }))).toEqual([]);
  });
});

rule('waveInteger', () => {
  test.each([-1, 0.5, '1', null, REMOVE])('wave %p is not an integer from 0', (wave) => {
    expect(validateFleet(fleetWith({ 'cells[1].wave': wave }))).toEqual([
      issue('cells[1].wave', wave === REMOVE ? undefined : wave, 'an integer from 0'),
    ]);
  });
});

rule('wavesContiguous', () => {
  test('waves with a gap (0, 2)', () => {
    expect(validateFleet(fleetWith({ 'cells[1].wave': 2 }))).toEqual([
      issue('cells[*].wave', [0, 2], 'waves without a gap: wave 1 has no cell'),
    ]);
  });

  test('no wave 0 (1, 2)', () => {
    expect(validateFleet(fleetWith({ 'cells[0].wave': 1, 'cells[1].wave': 2 }))).toEqual([
      issue('cells[*].wave', [1, 2], 'waves starting at 0: wave 0 must hold at least one cell'),
    ]);
  });

  test('a huge wave number gives one issue per gap, quickly', () => {
    expect(validateFleet(fleetWith({ 'cells[1].wave': 1e9 }))).toEqual([
      issue('cells[*].wave', [0, 1e9], 'waves without a gap: waves 1 to 999999999 have no cell'),
    ]);
  });

  test('several cells in one wave is fine', () => {
    expect(validateFleet(fleetWith({ 'cells[1].wave': 0 }))).toEqual([]);
  });
});

rule('account', () => {
  test.each(['12345', '1111111111111', '11111111111a', 111111111111])('a cell account %p', (account) => {
    expect(validateFleet(fleetWith({ 'cells[0].account': account }))).toEqual([
      issue(
        'cells[0].account',
        account,
        'a 12-digit AWS account id as a string (here or in defaults.account)',
      ),
    ]);
  });

  test('defaults.account not 12 digits is reported once, not again for every cell', () => {
    expect(validateFleet(fleetWith({ 'defaults.account': '12345678901' }))).toEqual([
      issue('defaults.account', '12345678901', 'a 12-digit AWS account id as a string'),
    ]);
  });

  test('an account missing everywhere is reported for every cell', () => {
    expect(validateFleet(fleetWith({ 'defaults.account': REMOVE }))).toEqual([
      issue(
        'cells[0].account',
        undefined,
        'a 12-digit AWS account id as a string (here or in defaults.account)',
      ),
      issue(
        'cells[1].account',
        undefined,
        'a 12-digit AWS account id as a string (here or in defaults.account)',
      ),
    ]);
  });

  test('a cell account overriding the defaults is fine', () => {
    expect(validateFleet(fleetWith({ 'cells[1].account': '222222222222' }))).toEqual([]);
  });
});

rule('region', () => {
  test.each(['us-east', 'US-EAST-1', 'us-east-1a', 'useast1'])('a cell region %p', (region) => {
    expect(validateFleet(fleetWith({ 'cells[1].region': region }))).toEqual([
      issue('cells[1].region', region, 'an AWS region such as us-east-1 (here or in defaults.region)'),
    ]);
  });

  test('defaults.region invalid is reported once, not again for cells relying on it', () => {
    expect(validateFleet(fleetWith({ 'defaults.region': 'us-east' }))).toEqual([
      issue('defaults.region', 'us-east', 'an AWS region such as us-east-1'),
    ]);
  });

  test('a region missing everywhere is reported for the cells without one', () => {
    expect(validateFleet(fleetWith({ 'defaults.region': REMOVE }))).toEqual([
      issue('cells[0].region', undefined, 'an AWS region such as us-east-1 (here or in defaults.region)'),
    ]);
  });

  test.each(['us-gov-west-1', 'eu-central-2', 'ap-southeast-1', 'us-isob-east-1'])(
    'region %p is valid',
    (region) => {
      expect(validateFleet(fleetWith({ 'cells[1].region': region }))).toEqual([]);
    },
  );
});

rule('routerEnv', () => {
  test.each([
    ['router.account', '1234', 'a 12-digit AWS account id as a string'],
    ['router.region', 'US-EAST-1', 'an AWS region such as us-east-1'],
    ['router', 'us-east-1', 'an object { account?, region? }'],
  ])('%s %p', (path, value, allowed) => {
    expect(validateFleet(fleetWith({ [path]: value }))).toEqual([issue(path, value, allowed)]);
  });

  test('no router is fine', () => {
    expect(validateFleet(fleetWith({ router: REMOVE }))).toEqual([]);
  });
});

rule('tenantLimits', () => {
  test.each([
    ['router.tenantLimits', 50, 'an object { requestsPerSecond?, concurrentRequests? }'],
    ['router.tenantLimits.requestsPerSecond', 0, 'an integer >= 1'],
    ['router.tenantLimits.concurrentRequests', 2.5, 'an integer >= 1'],
    ['router.tenantLimits.burst', 4, 'one of the known keys of limits'],
    ['router.reservedConcurrency', 0, 'an integer >= 1'],
    ['cells[0].tenants[1].limits.requestsPerSecond', '100', 'an integer >= 1'],
  ])('%s %p', (path, value, allowed) => {
    const raw = fleetWith({ 'router.tenantLimits': {}, 'cells[0].tenants[1].limits': {} });
    const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
    const last = keys.pop() as string;
    let target = raw;
    for (const key of keys) target = target[key] as Raw;
    target[last] = value;
    expect(validateFleet(raw)).toEqual([issue(path, value, allowed)]);
  });

  test("a tenant's own limits take the fleet's default for what they leave out", () => {
    const resolved = resolveFleet(
      fleetWith({
        'router.tenantLimits': { requestsPerSecond: 20 },
        'cells[0].tenants[1].limits': { concurrentRequests: 4 },
      }) as unknown as FleetConfig,
    );
    expect(resolved.router.tenantLimits).toEqual({
      default: { requestsPerSecond: 20, concurrentRequests: 50 },
      tenants: { bravo: { requestsPerSecond: 20, concurrentRequests: 4 } },
    });
    expect(resolved.router.reservedConcurrency).toBe(100);
  });
});

rule('operatorAccount', () => {
  test.each([['1234'], [111111111111], ['11111111111a']])('%p is not an account', (value) => {
    expect(validateFleet(fleetWith({ operatorAccount: value }))).toEqual([
      issue('operatorAccount', value, 'a 12-digit AWS account id as a string'),
    ]);
  });

  test('defaults to the router’s account; a 12-digit account is kept', () => {
    const resolve = (raw: Raw) => resolveFleet(raw as unknown as FleetConfig);
    expect(operatorAccountOf(resolve(base()))).toBe('111111111111');
    expect(operatorAccountOf(resolve(fleetWith({ operatorAccount: '999999999999' })))).toBe('999999999999');
    expect(() => resolve(fleetWith({ operatorAccount: '1234' }))).toThrow(/operatorAccount/);
  });
});

rule('alarms', () => {
  test.each([
    [{ emails: 'oncall@example.com' }, 'alarms.emails', 'oncall@example.com', 'an array of e-mail addresses'],
    [{ emails: ['oncall'] }, 'alarms.emails[0]', 'oncall', 'an e-mail address'],
    [
      { topicArn: 'ops-chat' },
      'alarms.topicArn',
      'ops-chat',
      'an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:ops',
    ],
    ['oncall@example.com', 'alarms', 'oncall@example.com', 'an object { emails?, topicArn? }'],
  ])('alarms %p', (alarms, path, received, allowed) => {
    expect(validateFleet(fleetWith({ alarms }))).toEqual([issue(path, received, allowed)]);
  });

  test('e-mails and a topic ARN are fine, and reach the resolved fleet', () => {
    const alarms = { emails: ['oncall@example.com'], topicArn: 'arn:aws:sns:us-east-1:123456789012:ops' };
    expect(validateFleet(fleetWith({ alarms }))).toEqual([]);
    expect(resolveFleet(fleetWith({ alarms })).alarms).toEqual(alarms);
  });
});

rule('deployment', () => {
  const at = 'cells[0].deployment';
  test.each([
    [{ type: 'blueGreen' }, `${at}.type`, 'blueGreen', 'canary | linear | allAtOnce'],
    [{ type: 'canary', percent: 0, intervalMinutes: 5 }, `${at}.percent`, 0, 'an integer from 1 to 99'],
    [{ type: 'canary', percent: 100, intervalMinutes: 5 }, `${at}.percent`, 100, 'an integer from 1 to 99'],
    [{ type: 'canary', intervalMinutes: 5 }, `${at}.percent`, undefined, 'an integer from 1 to 99'],
    [{ type: 'linear', percent: 60, intervalMinutes: 5 }, `${at}.percent`, 60, 'an integer from 1 to 50'],
    [
      { type: 'linear', percent: 10, intervalMinutes: 0 },
      `${at}.intervalMinutes`,
      0,
      'an integer from 1 to 2880',
    ],
    [
      { type: 'canary', percent: 10, intervalMinutes: 3000 },
      `${at}.intervalMinutes`,
      3000,
      'an integer from 1 to 2880',
    ],
    [{ type: 'allAtOnce', percent: 100 }, `${at}.percent`, 100, 'nothing for type allAtOnce'],
    [{ type: 'allAtOnce', intervalMinutes: 5 }, `${at}.intervalMinutes`, 5, 'nothing for type allAtOnce'],
    ['canary', at, 'canary', 'an object { type, percent?, intervalMinutes? }'],
  ])('%p', (deployment, path, received, allowed) => {
    expect(validateFleet(fleetWith({ [at]: deployment }))).toEqual([issue(path, received, allowed)]);
  });

  test('in defaults', () => {
    expect(validateFleet(fleetWith({ 'defaults.deployment.percent': 100 }))).toEqual([
      issue('defaults.deployment.percent', 100, 'an integer from 1 to 99'),
    ]);
  });

  test('an unknown key inside a deployment', () => {
    expect(
      validateFleet(fleetWith({ [at]: { type: 'canary', percentage: 10, intervalMinutes: 5 } })),
    ).toEqual([
      issue(`${at}.percentage`, 10, 'one of the known keys of deployment: type, percent, intervalMinutes'),
      issue(`${at}.percent`, undefined, 'an integer from 1 to 99'),
    ]);
  });

  test.each([{ type: 'allAtOnce' }, { type: 'linear', percent: 50, intervalMinutes: 2880 }])(
    '%p is valid',
    (d) => {
      expect(validateFleet(fleetWith({ [at]: d }))).toEqual([]);
    },
  );
});

rule('bakeMinutes', () => {
  test.each([
    ['cells[1].bakeMinutes', -1],
    ['cells[1].bakeMinutes', 2.5],
    ['cells[1].bakeMinutes', 1441],
    ['defaults.bakeMinutes', -5],
  ])('%s %p', (path, value) => {
    expect(validateFleet(fleetWith({ [path]: value }))).toEqual([
      issue(path, value, 'an integer from 0 to 1440'),
    ]);
  });

  test('0 is fine', () => {
    expect(validateFleet(fleetWith({ 'cells[1].bakeMinutes': 0 }))).toEqual([]);
  });
});

rule('integration', () => {
  const at = 'cells[0].tenants[1].integration';
  test.each([
    ['baseUrl', 'not a url', 'an http(s) URL'],
    ['baseUrl', 'ftp://api.example.com', 'an http(s) URL'],
    ['baseUrl', REMOVE, 'an http(s) URL'],
    ['ratePerSecond', 0, 'a number above 0, at most 1000'],
    ['ratePerSecond', 1001, 'a number above 0, at most 1000'],
    ['burst', 0, 'an integer from 1 to 1000'],
    ['apiKeySecret', 'my secret', 'a secret name'],
    ['rate', 5, 'one of the known keys of integration: baseUrl, ratePerSecond, burst, apiKeySecret'],
  ])('%s %p', (key, value, allowed) => {
    expect(validateFleet(fleetWith({ [`${at}.${key}`]: value }))).toEqual([
      issue(`${at}.${key}`, value === REMOVE ? undefined : value, allowed),
    ]);
  });

  test('an integration that is not an object (an uncalled helper) is reported, and formats', () => {
    const helper = (ratePerSecond: number) => ({ baseUrl: 'https://api.example.com', ratePerSecond });
    const issues = validateFleet(fleetWith({ [at]: helper }));
    expect(issues).toEqual([
      issue(at, helper, 'an object { baseUrl, ratePerSecond?, burst?, apiKeySecret? }'),
    ]);
    expect(formatIssue(issues[0])).toBe(
      `${at}: received a function; allowed: an object { baseUrl, ratePerSecond?, burst?, apiKeySecret? }`,
    );
  });

  test('fractional ratePerSecond is fine', () => {
    expect(validateFleet(fleetWith({ [`${at}.ratePerSecond`]: 0.5 }))).toEqual([]);
  });
});

rule('tenantIdReserved', () => {
  test.each(['bulkhead-drill', 'bulkhead-smoke'])('a real tenant may not be called %p', (id) => {
    expect(validateFleet(fleetWith({ 'cells[1].tenants[0]': id }))).toEqual([
      issue('cells[1].tenants[0]', id, 'reserved for drills and smoke tests'),
    ]);
  });
});

rule('drill', () => {
  const sandbox = { baseUrl: 'https://sandbox-api.example.com', licenseNumber: 'SBX-1' };

  test('a sandbox on its own host is fine, and every cell gets it as the drill tenant’s integration', () => {
    expect(validateFleet(fleetWith({ drill: { integration: sandbox } }))).toEqual([]);
    const fleet = resolveFleet(fleetWith({ drill: { integration: sandbox } }));
    expect(fleet.cells.map((c) => c.drill?.integration)).toEqual([
      expect.objectContaining({ ...sandbox, apiKeySecret: 'bulkhead/compliance/bulkhead-drill' }),
      expect.objectContaining({ ...sandbox, apiKeySecret: 'bulkhead/compliance/bulkhead-drill' }),
    ]);
  });

  test('without drill, no cell has a drill integration', () => {
    expect(resolveFleet(base()).cells.every((c) => c.drill === undefined)).toBe(true);
  });

  test('a sandbox on a real tenant’s host is refused: the drill would report fake sales to the state', () => {
    const onProduction = { baseUrl: 'https://api.example.com/sandbox' };
    expect(validateFleet(fleetWith({ drill: { integration: onProduction } }))).toEqual([
      issue(
        'drill.integration.baseUrl',
        'https://api.example.com/sandbox',
        'a sandbox host, not api.example.com: cells[0].tenants[1].integration reports real sales there',
      ),
    ]);
  });

  test.each([
    ['drill', 'sandbox', 'an object { integration? }'],
    ['drill.tenant', 'x', 'one of: integration'],
    ['drill.integration.baseUrl', 'nope', 'an http(s) URL'],
  ])('%s %p', (path, value, allowed) => {
    const raw = fleetWith({ drill: { integration: { ...sandbox } } });
    const changed = path === 'drill' ? fleetWith({ drill: value }) : raw;
    if (path === 'drill.tenant') (changed.drill as Raw).tenant = value;
    if (path === 'drill.integration.baseUrl') ((changed.drill as Raw).integration as Raw).baseUrl = value;
    expect(validateFleet(changed)).toEqual([issue(path, value, allowed)]);
  });
});

describe('several problems', () => {
  const broken = () =>
    fleetWith({
      'cells[0].id': 'Use1_A',
      'cells[0].tenants[0]': 'A',
      'cells[1].wave': 2,
      'cells[1].deployment.percent': 60,
      'defaults.region': 'us-east',
      tenant: 'alpha',
    });

  test('are all reported at once', () => {
    const issues = validateFleet(broken());
    expect(issues.map((i) => i.path)).toEqual([
      '(root).tenant',
      'cells[0].id',
      'cells[0].tenants[0]',
      'cells[*].wave',
      'defaults.region',
      'cells[1].deployment.percent',
    ]);
  });

  test('resolveFleet throws FleetValidationError listing each on its own line', () => {
    let error: unknown;
    try {
      resolveFleet(broken(), 'fleet.ts');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FleetValidationError);
    const { message, issues, source } = error as FleetValidationError;
    expect(source).toBe('fleet.ts');
    expect(issues).toHaveLength(6);
    expect(message.split('\n')).toEqual([
      'fleet.ts: 6 problems in the fleet',
      '  - (root).tenant: received "alpha"; allowed: one of the known keys of root: defaults, router, operatorAccount, alarms, drill, cells',
      `  - cells[0].id: received "Use1_A"; allowed: a string matching ${CELL_ID_PATTERN}`,
      `  - cells[0].tenants[0]: received "A"; allowed: a string matching ${TENANT_ID_PATTERN}`,
      '  - cells[*].wave: received [0,2]; allowed: waves without a gap: wave 1 has no cell',
      '  - defaults.region: received "us-east"; allowed: an AWS region such as us-east-1',
      '  - cells[1].deployment.percent: received 60; allowed: an integer from 1 to 50',
    ]);
  });

  test('one problem reads "1 problem"; missing values read "nothing"; odd values still format', () => {
    expect(() => resolveFleet(fleetWith({ 'cells[0].maxTenants': REMOVE }))).toThrow(
      `cells.config: 1 problem in the fleet\n  - cells[0].maxTenants: received nothing; allowed: an integer from 1 to ${MAX_TENANTS_PER_CELL}`,
    );
    expect(() => resolveFleet(fleetWith({ 'cells[0].account': BigInt(111111111111) }))).toThrow(
      'cells[0].account: received 111111111111; allowed: a 12-digit AWS account id',
    );
  });
});

test('every rule of RULES has tests here', () => {
  expect([...covered].sort()).toEqual(Object.keys(RULES).sort());
});
