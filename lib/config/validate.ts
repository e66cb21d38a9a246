import type { Cell, Fleet, FleetConfig, Tenant } from './types';

export const CELL_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const ACCOUNT_PATTERN = /^\d{12}$/;
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/;
export const DEPLOYMENT_TYPES = ['canary', 'linear', 'allAtOnce'] as const;

const DEFAULT_DEPLOYMENT = { type: 'canary', percent: 10, intervalMinutes: 5 } as const;
const DEFAULT_BAKE_MINUTES = 10;
const DEFAULT_RATE_PER_SECOND = 5;
const DEFAULT_BURST = 1;
/** CodeDeploy accepts at most two days between traffic-shifting steps. */
const MAX_INTERVAL_MINUTES = 2880;

/** One thing wrong with a fleet file: where, what was there, and what is allowed. */
export interface FleetIssue {
  readonly path: string;
  readonly received: unknown;
  readonly allowed: string;
}

export function formatIssue(issue: FleetIssue): string {
  return `${issue.path}: received ${describe(issue.received)}; allowed: ${issue.allowed}`;
}

/** Thrown with every issue of a fleet file at once. */
export class FleetValidationError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly FleetIssue[],
  ) {
    super(
      `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the fleet\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join('\n'),
    );
    this.name = 'FleetValidationError';
  }
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON.stringify returns undefined for functions and symbols, and throws for BigInt and cycles.
  if (typeof value === 'function') return 'a function';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

interface RawTenant {
  readonly path: string;
  readonly cellIndex: number;
  readonly id: unknown;
  readonly value: unknown;
}

/** Everything a rule may look at, pre-digested so each rule stays a few lines. */
interface Ctx {
  readonly root: Obj;
  readonly defaults: Obj;
  readonly cells: readonly { readonly path: string; readonly value: Obj }[];
  readonly tenants: readonly RawTenant[];
}

type Rule = (ctx: Ctx) => FleetIssue[];

const KNOWN_KEYS: Record<string, readonly string[]> = {
  root: ['defaults', 'router', 'cells'],
  defaults: ['account', 'region', 'deployment', 'bakeMinutes'],
  router: ['account', 'region'],
  cell: ['id', 'wave', 'maxTenants', 'tenants', 'deployment', 'bakeMinutes', 'account', 'region'],
  tenant: ['id', 'integration'],
  integration: ['baseUrl', 'ratePerSecond', 'burst', 'apiKeySecret'],
  deployment: ['type', 'percent', 'intervalMinutes'],
};

function unknownKeys(path: string, value: unknown, kind: string): FleetIssue[] {
  if (!isObj(value)) return [];
  return Object.keys(value)
    .filter((k) => !KNOWN_KEYS[kind].includes(k))
    .map((k) => ({
      path: `${path}.${k}`,
      received: value[k],
      allowed: `one of the known keys of ${kind}: ${KNOWN_KEYS[kind].join(', ')}`,
    }));
}

/** account/region of a cell, falling back to the defaults; reports the cell's path when missing. */
function envField(ctx: Ctx, cell: Obj, field: 'account' | 'region'): unknown {
  return cell[field] ?? ctx.defaults[field];
}

function deploymentIssues(path: string, d: unknown): FleetIssue[] {
  if (d === undefined) return [];
  if (!isObj(d)) return [{ path, received: d, allowed: 'an object { type, percent?, intervalMinutes? }' }];
  const issues = unknownKeys(path, d, 'deployment');
  if (!DEPLOYMENT_TYPES.includes(d.type as never)) {
    issues.push({ path: `${path}.type`, received: d.type, allowed: DEPLOYMENT_TYPES.join(' | ') });
    return issues;
  }
  if (d.type === 'allAtOnce') {
    for (const k of ['percent', 'intervalMinutes'] as const) {
      if (d[k] !== undefined) {
        issues.push({ path: `${path}.${k}`, received: d[k], allowed: 'nothing for type allAtOnce' });
      }
    }
    return issues;
  }
  const maxPercent = d.type === 'linear' ? 50 : 99;
  if (!isInt(d.percent) || d.percent < 1 || d.percent > maxPercent) {
    issues.push({
      path: `${path}.percent`,
      received: d.percent,
      allowed: `an integer from 1 to ${maxPercent}`,
    });
  }
  if (!isInt(d.intervalMinutes) || d.intervalMinutes < 1 || d.intervalMinutes > MAX_INTERVAL_MINUTES) {
    issues.push({
      path: `${path}.intervalMinutes`,
      received: d.intervalMinutes,
      allowed: `an integer from 1 to ${MAX_INTERVAL_MINUTES}`,
    });
  }
  return issues;
}

function bakeIssues(path: string, v: unknown): FleetIssue[] {
  if (v === undefined || (isInt(v) && v >= 0 && v <= 1440)) return [];
  return [{ path, received: v, allowed: 'an integer from 0 to 1440' }];
}

function integrationIssues(path: string, v: unknown): FleetIssue[] {
  if (v === undefined) return [];
  if (!isObj(v))
    return [{ path, received: v, allowed: 'an object { baseUrl, ratePerSecond?, burst?, apiKeySecret? }' }];
  const issues = unknownKeys(path, v, 'integration');
  let url: URL | undefined;
  try {
    url = typeof v.baseUrl === 'string' ? new URL(v.baseUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || !['http:', 'https:'].includes(url.protocol)) {
    issues.push({ path: `${path}.baseUrl`, received: v.baseUrl, allowed: 'an http(s) URL' });
  }
  if (
    v.ratePerSecond !== undefined &&
    !(typeof v.ratePerSecond === 'number' && v.ratePerSecond > 0 && v.ratePerSecond <= 1000)
  ) {
    issues.push({
      path: `${path}.ratePerSecond`,
      received: v.ratePerSecond,
      allowed: 'a number above 0, at most 1000',
    });
  }
  if (v.burst !== undefined && !(isInt(v.burst) && v.burst >= 1 && v.burst <= 1000)) {
    issues.push({ path: `${path}.burst`, received: v.burst, allowed: 'an integer from 1 to 1000' });
  }
  if (
    v.apiKeySecret !== undefined &&
    !(typeof v.apiKeySecret === 'string' && /^[\w/+=.@-]{1,512}$/.test(v.apiKeySecret))
  ) {
    issues.push({
      path: `${path}.apiKeySecret`,
      received: v.apiKeySecret,
      allowed: 'a secret name ([A-Za-z0-9/_+=.@-])',
    });
  }
  return issues;
}

/** The rules, one per concern, each reporting every offending value. */
export const RULES: Readonly<Record<string, Rule>> = {
  knownKeys: (ctx) => [
    ...unknownKeys('(root)', ctx.root, 'root'),
    ...unknownKeys('defaults', ctx.root.defaults, 'defaults'),
    ...unknownKeys('router', ctx.root.router, 'router'),
    ...ctx.cells.flatMap((c) => unknownKeys(c.path, c.value, 'cell')),
    ...ctx.tenants.flatMap((t) => unknownKeys(t.path, t.value, 'tenant')),
  ],
  cellIdPattern: (ctx) =>
    ctx.cells
      .filter((c) => typeof c.value.id !== 'string' || !CELL_ID_PATTERN.test(c.value.id))
      .map((c) => ({
        path: `${c.path}.id`,
        received: c.value.id,
        allowed: `a string matching ${CELL_ID_PATTERN}`,
      })),
  cellIdUnique: (ctx) => {
    const seen = new Map<unknown, string>();
    const issues: FleetIssue[] = [];
    for (const c of ctx.cells) {
      const first = seen.get(c.value.id);
      if (first)
        issues.push({
          path: `${c.path}.id`,
          received: c.value.id,
          allowed: `an id not already used by ${first}`,
        });
      else seen.set(c.value.id, c.path);
    }
    return issues;
  },
  tenantIdPattern: (ctx) =>
    ctx.tenants
      .filter((t) => typeof t.id !== 'string' || !TENANT_ID_PATTERN.test(t.id))
      .map((t) => ({
        path: typeof t.value === 'string' ? t.path : `${t.path}.id`,
        received: t.id,
        allowed: `a string matching ${TENANT_ID_PATTERN}`,
      })),
  tenantInOneCell: (ctx) => {
    const seen = new Map<unknown, string>();
    const issues: FleetIssue[] = [];
    for (const t of ctx.tenants) {
      const first = seen.get(t.id);
      if (first)
        issues.push({ path: t.path, received: t.id, allowed: `a tenant not already placed at ${first}` });
      else seen.set(t.id, t.path);
    }
    return issues;
  },
  maxTenants: (ctx) =>
    ctx.cells.flatMap((c): FleetIssue[] => {
      const max = c.value.maxTenants;
      if (!isInt(max) || max < 1 || max > 10000) {
        return [{ path: `${c.path}.maxTenants`, received: max, allowed: 'an integer from 1 to 10000' }];
      }
      const count = Array.isArray(c.value.tenants) ? c.value.tenants.length : 0;
      return count > max
        ? [
            {
              path: `${c.path}.tenants`,
              received: `${count} tenants`,
              allowed: `at most maxTenants (${max})`,
            },
          ]
        : [];
    }),
  tenantsList: (ctx) =>
    ctx.cells
      .filter((c) => c.value.tenants !== undefined && !Array.isArray(c.value.tenants))
      .map((c) => ({
        path: `${c.path}.tenants`,
        received: c.value.tenants,
        allowed: 'an array of tenant ids or { id }',
      })),
  waveInteger: (ctx) =>
    ctx.cells
      .filter((c) => !isInt(c.value.wave) || c.value.wave < 0)
      .map((c) => ({ path: `${c.path}.wave`, received: c.value.wave, allowed: 'an integer from 0' })),
  wavesContiguous: (ctx) => {
    const waves = [
      ...new Set(ctx.cells.map((c) => c.value.wave).filter((w): w is number => isInt(w) && w >= 0)),
    ].sort((a, b) => a - b);
    // One issue per gap, not per missing wave: a typo such as `wave: 1e9` must not build a billion issues.
    const issues: FleetIssue[] = [];
    const gap = (allowed: string) => issues.push({ path: 'cells[*].wave', received: waves, allowed });
    let next = 0;
    for (const w of waves) {
      if (next === 0 && w > 0) {
        gap('waves starting at 0: wave 0 must hold at least one cell');
        next = 1;
      }
      if (w === next + 1) gap(`waves without a gap: wave ${next} has no cell`);
      else if (w > next) gap(`waves without a gap: waves ${next} to ${w - 1} have no cell`);
      next = w + 1;
    }
    return issues;
  },
  account: (ctx) => [
    ...(ctx.defaults.account !== undefined &&
    !(typeof ctx.defaults.account === 'string' && ACCOUNT_PATTERN.test(ctx.defaults.account))
      ? [
          {
            path: 'defaults.account',
            received: ctx.defaults.account,
            allowed: 'a 12-digit AWS account id as a string',
          },
        ]
      : []),
    ...ctx.cells
      .filter((c) => {
        const v = envField(ctx, c.value, 'account');
        return c.value.account !== undefined || ctx.defaults.account === undefined
          ? !(typeof v === 'string' && ACCOUNT_PATTERN.test(v))
          : false;
      })
      .map((c) => ({
        path: `${c.path}.account`,
        received: c.value.account,
        allowed: 'a 12-digit AWS account id as a string (here or in defaults.account)',
      })),
  ],
  region: (ctx) => [
    ...(ctx.defaults.region !== undefined &&
    !(typeof ctx.defaults.region === 'string' && REGION_PATTERN.test(ctx.defaults.region))
      ? [
          {
            path: 'defaults.region',
            received: ctx.defaults.region,
            allowed: 'an AWS region such as us-east-1',
          },
        ]
      : []),
    ...ctx.cells
      .filter((c) => {
        const v = envField(ctx, c.value, 'region');
        return c.value.region !== undefined || ctx.defaults.region === undefined
          ? !(typeof v === 'string' && REGION_PATTERN.test(v))
          : false;
      })
      .map((c) => ({
        path: `${c.path}.region`,
        received: c.value.region,
        allowed: 'an AWS region such as us-east-1 (here or in defaults.region)',
      })),
  ],
  routerEnv: (ctx) => {
    const r = ctx.root.router;
    if (r === undefined) return [];
    if (!isObj(r)) return [{ path: 'router', received: r, allowed: 'an object { account?, region? }' }];
    const issues: FleetIssue[] = [];
    if (r.account !== undefined && !(typeof r.account === 'string' && ACCOUNT_PATTERN.test(r.account))) {
      issues.push({
        path: 'router.account',
        received: r.account,
        allowed: 'a 12-digit AWS account id as a string',
      });
    }
    if (r.region !== undefined && !(typeof r.region === 'string' && REGION_PATTERN.test(r.region))) {
      issues.push({ path: 'router.region', received: r.region, allowed: 'an AWS region such as us-east-1' });
    }
    return issues;
  },
  deployment: (ctx) => [
    ...deploymentIssues('defaults.deployment', ctx.defaults.deployment),
    ...ctx.cells.flatMap((c) => deploymentIssues(`${c.path}.deployment`, c.value.deployment)),
  ],
  bakeMinutes: (ctx) => [
    ...bakeIssues('defaults.bakeMinutes', ctx.defaults.bakeMinutes),
    ...ctx.cells.flatMap((c) => bakeIssues(`${c.path}.bakeMinutes`, c.value.bakeMinutes)),
  ],
  integration: (ctx) =>
    ctx.tenants.flatMap((t) =>
      isObj(t.value) ? integrationIssues(`${t.path}.integration`, t.value.integration) : [],
    ),
};

/** Every issue of a raw fleet object, in file order of the rules. Empty when the fleet is valid. */
export function validateFleet(raw: unknown): FleetIssue[] {
  if (!isObj(raw))
    return [{ path: '(root)', received: raw, allowed: 'an object { defaults?, router?, cells: [...] }' }];
  if (!Array.isArray(raw.cells) || raw.cells.length === 0) {
    return [{ path: 'cells', received: raw.cells, allowed: 'a non-empty array of cells' }];
  }
  const shapeIssues: FleetIssue[] = [];
  if (raw.defaults !== undefined && !isObj(raw.defaults)) {
    shapeIssues.push({
      path: 'defaults',
      received: raw.defaults,
      allowed: 'an object { account?, region?, deployment?, bakeMinutes? }',
    });
  }
  const cells: { path: string; value: Obj }[] = [];
  raw.cells.forEach((value: unknown, i: number) => {
    if (isObj(value)) cells.push({ path: `cells[${i}]`, value });
    else
      shapeIssues.push({
        path: `cells[${i}]`,
        received: value,
        allowed: 'an object { id, wave, maxTenants, tenants, ... }',
      });
  });
  const tenants: RawTenant[] = [];
  cells.forEach((c, cellIndex) => {
    if (!Array.isArray(c.value.tenants)) return;
    c.value.tenants.forEach((value: unknown, j: number) => {
      const path = `${c.path}.tenants[${j}]`;
      if (typeof value === 'string' || isObj(value)) {
        tenants.push({ path, cellIndex, value, id: typeof value === 'string' ? value : value.id });
      } else {
        shapeIssues.push({
          path,
          received: value,
          allowed: 'a tenant id string or an object { id, integration? }',
        });
      }
    });
  });
  const ctx: Ctx = { root: raw, defaults: isObj(raw.defaults) ? raw.defaults : {}, cells, tenants };
  return [...shapeIssues, ...Object.values(RULES).flatMap((rule) => rule(ctx))];
}

function normaliseTenant(
  entry: FleetConfig['cells'][number]['tenants'] extends readonly (infer T)[] | undefined ? T : never,
): Tenant {
  if (typeof entry === 'string') return { id: entry };
  const { id, integration } = entry;
  if (!integration) return { id };
  return {
    id,
    integration: {
      baseUrl: integration.baseUrl,
      ratePerSecond: integration.ratePerSecond ?? DEFAULT_RATE_PER_SECOND,
      burst: integration.burst ?? DEFAULT_BURST,
      apiKeySecret: integration.apiKeySecret ?? `bulkhead/compliance/${id}`,
    },
  };
}

/**
 * Validates a raw fleet object and returns it with defaults merged, or throws a
 * {@link FleetValidationError} listing every problem.
 */
export function resolveFleet(raw: unknown, source = 'cells.config'): Fleet {
  const issues = validateFleet(raw);
  if (issues.length > 0) throw new FleetValidationError(source, issues);
  const config = raw as FleetConfig;
  const defaults = config.defaults ?? {};
  const cells: Cell[] = config.cells.map((c) => {
    const d = c.deployment ?? defaults.deployment ?? DEFAULT_DEPLOYMENT;
    return {
      id: c.id,
      wave: c.wave,
      maxTenants: c.maxTenants,
      tenants: (c.tenants ?? []).map(normaliseTenant),
      deployment: {
        type: d.type,
        percent: d.type === 'allAtOnce' ? 100 : (d.percent as number),
        intervalMinutes: d.type === 'allAtOnce' ? 0 : (d.intervalMinutes as number),
      },
      bakeMinutes: c.bakeMinutes ?? defaults.bakeMinutes ?? DEFAULT_BAKE_MINUTES,
      account: (c.account ?? defaults.account) as string,
      region: (c.region ?? defaults.region) as string,
    };
  });
  const firstCanary = [...cells].sort((a, b) => a.wave - b.wave)[0];
  return {
    router: {
      account: config.router?.account ?? defaults.account ?? firstCanary.account,
      region: config.router?.region ?? defaults.region ?? firstCanary.region,
    },
    cells,
  };
}
