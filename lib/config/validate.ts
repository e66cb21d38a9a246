import { IAM_ROLE_MANAGED_POLICIES_MAX } from '../contracts/aws-limits';
import { DRILL_TENANT, SMOKE_TENANT } from '../contracts/names';

import { drillIssues, resolveDrill } from './drill';
import { secretPolicyGroups } from './integrations';
import { FleetValidationError, type FleetIssue } from './issues';
import { defaultSecretName, integrationIssues, normaliseIntegration } from './tenant-integration';
import {
  type Cell,
  DEFAULT_ROUTER_RESERVED_CONCURRENCY,
  DEFAULT_TENANT_LIMITS,
  type Fleet,
  type FleetConfig,
  type Tenant,
} from './types';

export const CELL_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const ACCOUNT_PATTERN = /^\d{12}$/;
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/;
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const TOPIC_ARN_PATTERN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
export const DEPLOYMENT_TYPES = ['canary', 'linear', 'allAtOnce'] as const;

const DEFAULT_DEPLOYMENT = { type: 'canary', percent: 10, intervalMinutes: 5 } as const;
const DEFAULT_BAKE_MINUTES = 10;
/** CodeDeploy accepts at most two days between traffic-shifting steps. */
const MAX_INTERVAL_MINUTES = 2880;
/**
 * The most tenants a cell can hold with every one of them integrated. Per tenant, the cell stack grows
 * only by the sync worker's right to read that tenant's API key secret: one ARN in an IAM managed
 * policy. With the longest tenant id (63 characters), the default secret name and the longest region
 * and partition, an ARN takes 158 of a policy's 6,144 characters, so 37 fit one policy; the worker's
 * role has 9 managed policies to give them (IAM's 10 a role, less AWSLambdaBasicExecutionRole): 333
 * tenants. 300 leaves room. Everything else stays within its limit at that size: the environment does
 * not grow with tenants (the integrations are a bundled file), the template is some 200 KB (1 MB from
 * S3), the integrations file some 60 KB. Custom `apiKeySecret` names are checked by `integrationSecrets`.
 */
export const MAX_TENANTS_PER_CELL = 300;
/** IAM managed policies the sync worker's role has for its secrets (AWSLambdaBasicExecutionRole takes one). */
export const MAX_SECRET_POLICIES = IAM_ROLE_MANAGED_POLICIES_MAX - 1;

export { defaultSecretName } from './tenant-integration';

export { FleetValidationError, formatIssue, type FleetIssue } from './issues';

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
  root: ['defaults', 'router', 'operatorAccount', 'alarms', 'drill', 'cells'],
  alarms: ['emails', 'topicArn'],
  defaults: ['account', 'region', 'deployment', 'bakeMinutes'],
  router: ['account', 'region', 'tenantLimits', 'reservedConcurrency'],
  limits: ['requestsPerSecond', 'concurrentRequests'],
  cell: ['id', 'wave', 'maxTenants', 'tenants', 'deployment', 'bakeMinutes', 'account', 'region'],
  tenant: ['id', 'integration', 'limits'],
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

function limitIssues(path: string, v: unknown): FleetIssue[] {
  if (v === undefined) return [];
  if (!isObj(v))
    return [{ path, received: v, allowed: 'an object { requestsPerSecond?, concurrentRequests? }' }];
  return [
    ...unknownKeys(path, v, 'limits'),
    ...(['requestsPerSecond', 'concurrentRequests'] as const)
      .filter((k) => v[k] !== undefined && !(isInt(v[k]) && (v[k] as number) >= 1))
      .map((k) => ({ path: `${path}.${k}`, received: v[k], allowed: 'an integer >= 1' })),
  ];
}

function bakeIssues(path: string, v: unknown): FleetIssue[] {
  if (v === undefined || (isInt(v) && v >= 0 && v <= 1440)) return [];
  return [{ path, received: v, allowed: 'an integer from 0 to 1440' }];
}

/** The rules, one per concern, each reporting every offending value. */
export const RULES: Readonly<Record<string, Rule>> = {
  knownKeys: (ctx) => [
    ...unknownKeys('(root)', ctx.root, 'root'),
    ...unknownKeys('defaults', ctx.root.defaults, 'defaults'),
    ...unknownKeys('router', ctx.root.router, 'router'),
    ...unknownKeys('alarms', ctx.root.alarms, 'alarms'),
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
  // Drills and smoke tests write as these: a real tenant of the same id would have its data written and removed.
  tenantIdReserved: (ctx) =>
    ctx.tenants
      .filter((t) => t.id === DRILL_TENANT || t.id === SMOKE_TENANT)
      .map((t) => ({
        path: typeof t.value === 'string' ? t.path : `${t.path}.id`,
        received: t.id,
        allowed: `an id other than ${DRILL_TENANT} and ${SMOKE_TENANT} (reserved for drills and smoke tests)`,
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
      if (!isInt(max) || max < 1 || max > MAX_TENANTS_PER_CELL) {
        return [
          {
            path: `${c.path}.maxTenants`,
            received: max,
            allowed: `an integer from 1 to ${MAX_TENANTS_PER_CELL} (what one cell's stack can hold, all integrated)`,
          },
        ];
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
  tenantLimits: (ctx) => {
    const r = isObj(ctx.root.router) ? ctx.root.router : {};
    const issues = limitIssues('router.tenantLimits', r.tenantLimits);
    if (
      r.reservedConcurrency !== undefined &&
      !(isInt(r.reservedConcurrency) && r.reservedConcurrency >= 1)
    ) {
      issues.push({
        path: 'router.reservedConcurrency',
        received: r.reservedConcurrency,
        allowed: 'an integer >= 1 (Lambda keeps 100 of the account concurrency unreserved)',
      });
    }
    for (const t of ctx.tenants) {
      if (isObj(t.value)) issues.push(...limitIssues(`${t.path}.limits`, t.value.limits));
    }
    return issues;
  },
  operatorAccount: ({ root: { operatorAccount: a } }) =>
    a === undefined || (typeof a === 'string' && ACCOUNT_PATTERN.test(a))
      ? []
      : [{ path: 'operatorAccount', received: a, allowed: 'a 12-digit AWS account id as a string' }],
  alarms: (ctx) => {
    const a = ctx.root.alarms;
    if (a === undefined) return [];
    if (!isObj(a)) return [{ path: 'alarms', received: a, allowed: 'an object { emails?, topicArn? }' }];
    const issues: FleetIssue[] = [];
    const emails = a.emails === undefined ? [] : a.emails;
    if (!Array.isArray(emails)) {
      issues.push({ path: 'alarms.emails', received: a.emails, allowed: 'an array of e-mail addresses' });
    } else {
      emails.forEach((e, i) => {
        if (!(typeof e === 'string' && EMAIL_PATTERN.test(e)))
          issues.push({ path: `alarms.emails[${i}]`, received: e, allowed: 'an e-mail address' });
      });
    }
    if (a.topicArn !== undefined && !(typeof a.topicArn === 'string' && TOPIC_ARN_PATTERN.test(a.topicArn))) {
      issues.push({
        path: 'alarms.topicArn',
        received: a.topicArn,
        allowed: 'an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:ops',
      });
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
  drill: (ctx) =>
    drillIssues(
      ctx.root.drill,
      ctx.tenants.flatMap((t) =>
        isObj(t.value) && t.value.integration !== undefined
          ? [{ path: `${t.path}.integration`, integration: t.value.integration }]
          : [],
      ),
    ),
  integrationSecrets: (ctx) =>
    ctx.cells.flatMap((c, cellIndex): FleetIssue[] => {
      const names = ctx.tenants
        .filter((t) => t.cellIndex === cellIndex && isObj(t.value) && isObj(t.value.integration))
        .map((t) => ((t.value as Obj).integration as Obj).apiKeySecret ?? defaultSecretName(String(t.id)))
        .concat(
          isObj(ctx.root.drill) && isObj(ctx.root.drill.integration) ? [defaultSecretName(DRILL_TENANT)] : [],
        );
      const where = {
        region: String(envField(ctx, c.value, 'region')),
        account: String(envField(ctx, c.value, 'account')),
      };
      const policies = secretPolicyGroups(where, [...new Set(names.map(String))]).length;
      if (policies <= MAX_SECRET_POLICIES) return [];
      return [
        {
          path: `${c.path}.tenants`,
          received: `${names.length} integrated tenants, whose API key secrets need ${policies} IAM managed policies`,
          allowed:
            `secrets that fit the sync worker's ${MAX_SECRET_POLICIES} policies of 6,144 characters ` +
            `(IAM: ${IAM_ROLE_MANAGED_POLICIES_MAX} managed policies a role): fewer integrated tenants or shorter apiKeySecret names`,
        },
      ];
    }),
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
  return integration ? { id, integration: normaliseIntegration(id, integration) } : { id };
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
  const drill = resolveDrill(config);
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
      ...(drill && { drill }),
    };
  });
  const firstCanary = [...cells].sort((a, b) => a.wave - b.wave)[0];
  const fallback = { ...DEFAULT_TENANT_LIMITS, ...config.router?.tenantLimits };
  const own = config.cells.flatMap((c) =>
    (c.tenants ?? []).flatMap((t) =>
      typeof t !== 'string' && t.limits ? [[t.id, { ...fallback, ...t.limits }] as const] : [],
    ),
  );
  return {
    router: {
      account: config.router?.account ?? defaults.account ?? firstCanary.account,
      region: config.router?.region ?? defaults.region ?? firstCanary.region,
      reservedConcurrency: config.router?.reservedConcurrency ?? DEFAULT_ROUTER_RESERVED_CONCURRENCY,
      tenantLimits: { default: fallback, tenants: Object.fromEntries(own) },
    },
    ...(config.operatorAccount && { operatorAccount: config.operatorAccount }),
    cells,
    ...(config.alarms && { alarms: config.alarms }),
  };
}
