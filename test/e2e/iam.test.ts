/**
 * IAM enforcement end to end (issue 11): the local platform started from a synthesized assembly in which
 * one permission was taken away serves everything else and refuses exactly the calls that need it, with
 * an explanation in the log of the stack that refused; a cross-account cell is reachable only because its
 * function URL's resource policy says so (the router it names is let in, an administrator of the router's
 * account is not); the cell registration runs at start-up as the cell's own registrar role, and stops the
 * start when that role cannot use the registry's key or when the cell would write another cell's row.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { signRequest } from '../../lib/local/iam/sign-request';
import type { PlatformState } from '../../lib/local/platform/platform-state';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const execFileAsync = promisify(execFile);

const ROUTER_ACCOUNT = '111111111111';
const OTHER_ACCOUNT = '222222222222';
const integration = { baseUrl: 'https://compliance.example.com', ratePerSecond: 20, burst: 5 };
const FLEET = {
  defaults: { account: ROUTER_ACCOUNT, region: 'us-east-1' },
  cells: [
    {
      id: 'iam-a',
      wave: 0,
      maxTenants: 10,
      tenants: [
        { id: 'alpha', integration },
        'bravo',
        // Its rate limit at the router is low enough for a handful of requests to pass it.
        { id: 'delta', limits: { requestsPerSecond: 2 } },
      ],
    },
    { id: 'iam-b', wave: 1, maxTenants: 10, account: OTHER_ACCOUNT, tenants: ['charlie'] },
  ],
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-iam-'));
const fleetFile = path.join(tmp, 'fleet.json');
const assembly = path.join(tmp, 'assembly');
fs.writeFileSync(fleetFile, JSON.stringify(FLEET, null, 2));

type Json = Record<string, unknown>;
interface Resource {
  Type: string;
  Properties: Json;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: unknown;
}

/** A copy of the synthesized assembly, with `plant` applied to some of its templates. */
function plantedCopy(name: string, plant: Record<string, (resources: Record<string, Resource>) => void>) {
  const dir = path.join(tmp, name);
  fs.cpSync(assembly, dir, { recursive: true });
  for (const [stack, change] of Object.entries(plant)) {
    const file = path.join(dir, `${stack}.template.json`);
    const template = JSON.parse(fs.readFileSync(file, 'utf8')) as { Resources: Record<string, Resource> };
    change(template.Resources);
    fs.writeFileSync(file, JSON.stringify(template));
  }
  return dir;
}

/** The statements of the `AWS::IAM::Policy` attached to the role whose logical id starts with `rolePrefix`. */
function roleStatements(resources: Record<string, Resource>, rolePrefix: string): Statement[] {
  const policy = Object.values(resources).find(
    (r) =>
      r.Type === 'AWS::IAM::Policy' &&
      (r.Properties.Roles as { Ref: string }[]).some((role) => role.Ref.startsWith(rolePrefix)),
  );
  if (!policy) throw new Error(`no policy is attached to a role ${rolePrefix}*`);
  return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

/** Takes `action` out of every statement of the role's policy; returns how many statements had it. */
function removeAction(resources: Record<string, Resource>, rolePrefix: string, action: string): number {
  const statements = roleStatements(resources, rolePrefix);
  let removed = 0;
  for (const s of statements) {
    const actions = [s.Action].flat();
    if (!actions.includes(action)) continue;
    removed += 1;
    s.Action = actions.filter((a) => a !== action);
  }
  const kept = statements.filter((s) => [s.Action].flat().length > 0);
  statements.splice(0, statements.length, ...kept);
  return removed;
}

/**
 * `bulkhead local up` of an already synthesized assembly (the platform's `assemblyDir`), in a child
 * process as the CLI runs it: resolves with the ready state, or rejects with the reason the start failed.
 */
const START_SCRIPT = `
require('tsx/cjs');
const fs = require('node:fs');
const { LocalPlatform } = require('./lib/local/platform/platform.ts');
const [assemblyDir, home, configFile, readyFile] = process.argv.slice(1);
const platform = new LocalPlatform({ root: process.cwd(), home, configFile, assemblyDir, routerPort: 0, timeScale: 60 });
process.once('SIGTERM', () => platform.stop().then(() => process.exit(0)));
platform.start().then(
  () => fs.writeFileSync(readyFile, JSON.stringify(platform.current)),
  (error) => platform.stop().then(() => { console.error('START FAILED: ' + error.message); process.exit(3); }),
);`;

interface Started {
  readonly state: PlatformState;
  stop(): Promise<void>;
}

function startFrom(dir: string, home: string): Promise<Started> {
  const readyFile = path.join(home, 'ready.json');
  fs.mkdirSync(home, { recursive: true });
  const child = spawn(process.execPath, ['-e', START_SCRIPT, dir, home, fleetFile, readyFile], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-50_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (fs.existsSync(readyFile)) {
        clearInterval(poll);
        resolve({ state: JSON.parse(fs.readFileSync(readyFile, 'utf8')) as PlatformState, stop });
      } else if (child.exitCode !== null) {
        clearInterval(poll);
        const failed = /START FAILED: (.*)/.exec(stderr);
        reject(new Error(failed ? failed[1] : `the platform exited before it was ready:\n${stderr}`));
      }
    }, 250);
  });
}

/** A function INIT over Lambda's 10 s on this shared, loaded machine is load, not this test's subject. */
async function startRetrying(dir: string, home: string): Promise<Started> {
  try {
    return await startFrom(dir, home);
  } catch (error) {
    if (!(error as Error).message.includes('Sandbox.Timedout')) throw error;
    fs.rmSync(home, { recursive: true, force: true });
    return startFrom(dir, home);
  }
}

/** The lines of a stack's log (`<home>/logs/<cell or router>.log`) that report a refused call. */
const denials = (home: string, stack: string): string[] =>
  fs
    .readFileSync(path.join(home, 'logs', `${stack}.log`), 'utf8')
    .split('\n')
    .filter((line) => /\t(AccessDenied|Forbidden):/.test(line));

async function call(state: PlatformState, tenant: string, method: string, pathname: string, body?: Json) {
  const res = await fetch(`${state.router}${pathname}`, {
    method,
    headers: {
      authorization: `Bearer ${state.tenants[tenant].apiKey}`,
      ...(body && { 'content-type': 'application/json' }),
    },
    ...(body && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, text };
}

/** Stocks a sku and orders one: the statuses of both answers. */
async function stockAndOrder(state: PlatformState, tenant: string): Promise<[number, number]> {
  const sku = `sku-${tenant}`;
  const put = await call(state, tenant, 'PUT', `/inventory/${sku}`, { quantity: 5, priceCents: 100 });
  const order = await call(state, tenant, 'POST', '/orders', { items: [{ sku, quantity: 1 }] });
  return [put.status, order.status];
}

beforeAll(async () => {
  await execFileAsync(
    process.execPath,
    [path.join(ROOT, 'scripts', 'synth.js'), '-o', assembly, '-c', `config=${fleetFile}`, '-c', 'nag=false'],
    { cwd: ROOT, timeout: 240_000 },
  );
}, 300_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('an assembly in which the API of cell iam-a lost sqs:SendMessage', () => {
  const home = path.join(tmp, 'home');
  let platform: Started | undefined;
  let state: PlatformState;

  beforeAll(async () => {
    const dir = plantedCopy('lost-one-action', {
      'Bulkhead-Cell-iam-a': (resources) =>
        expect(removeAction(resources, 'ApiServiceRole', 'sqs:SendMessage')).toBe(1),
    });
    platform = await startRetrying(dir, home);
    state = platform.state;
  }, 400_000);

  afterAll(() => platform?.stop());

  test('every tenant whose calls need nothing taken away is served, the cross-account cell iam-b included', async () => {
    expect(state.cells['iam-b'].account).toBe(OTHER_ACCOUNT);
    for (const tenant of ['bravo', 'charlie']) expect(await stockAndOrder(state, tenant)).toEqual([200, 201]);
    expect(denials(home, 'iam-b')).toEqual([]);
  });

  test('the router counts each tenant’s requests in its own table, as its role allows: past its limit, 429', async () => {
    // Six side by side at a time until one is refused (at 2 a second, the first six nearly always): counters
    // the router's role could not write would let every one through (the limits fail open), and be logged
    // as refused here.
    const answers: { status: number; text: string }[] = [];
    for (let batch = 0; batch < 10 && !answers.some((a) => a.status === 429); batch++) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 6 }, () => call(state, 'delta', 'GET', '/inventory/none')),
        )),
      );
    }
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(JSON.parse(limited[0].text)).toEqual({ error: 'tenant_rate_limited' });
    // Those let through reached the cell, which has no such item.
    const passed = answers.filter((a) => a.status !== 429).map((a) => a.status);
    expect(passed).toEqual(passed.map(() => 404));
    expect(denials(home, 'router')).toEqual([]);
  });

  test('the integrated tenant’s order is accepted, and only its sync message is refused, explained in the cell’s log', async () => {
    expect(await stockAndOrder(state, 'alpha')).toEqual([200, 201]);
    const lines = denials(home, 'iam-a');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /AccessDenied: role Bulkhead-Cell-iam-a-ApiServiceRole\S* is not allowed sqs:SendMessage on arn:aws:sqs:us-east-1:111111111111:\S+: no identity-based policy .* allows sqs:SendMessage .*; add sqs:SendMessage on \S+ to Bulkhead-Cell-iam-a\/\S*DefaultPolicy/,
    );
  });

  test('the cross-account cell iam-b is reachable only as its resource policy says: the router, not even an administrator of the router’s account', async () => {
    const url = `${state.cells['iam-b'].endpoint}/inventory`;
    const admin = state.iam!.operators![ROUTER_ACCOUNT];
    const headers = await signRequest(
      { method: 'GET', url, headers: { 'x-bulkhead-tenant': 'charlie' } },
      admin,
      'us-east-1',
    );
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(15_000) });
    expect(res.status).toBe(403);
    const alias = `arn:aws:lambda:us-east-1:${OTHER_ACCOUNT}:function:bulkhead-iam-b-api:live`;
    const lines = denials(home, 'iam-b');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `AccessDenied: role bulkhead-local-operator of account ${ROUTER_ACCOUNT} is not allowed lambda:InvokeFunctionUrl on ${alias}`,
    );
    expect(lines[0]).toContain(`the resource policy of ${alias} does not allow`);
  });

  test('an administrator of the cell’s own account, whom IAM lets through the URL, cannot act as a tenant; it may read /health', async () => {
    const cell = state.cells['iam-b'];
    const admin = state.iam!.operators![OTHER_ACCOUNT];
    const asAdmin = async (pathname: string, headers: Record<string, string> = {}) => {
      const url = `${cell.endpoint}${pathname}`;
      const signed = await signRequest({ method: 'GET', url, headers }, admin, cell.region!);
      const res = await fetch(url, { headers: signed, signal: AbortSignal.timeout(15_000) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    expect(await asAdmin('/inventory', { 'x-bulkhead-tenant': 'charlie' })).toEqual({
      status: 403,
      body: { error: 'forbidden', details: 'requests must come through the Bulkhead router' },
    });
    expect((await asAdmin('/health')).status).toBe(200);
    // The router, whose session Lambda names in the event, still serves that tenant.
    expect(await stockAndOrder(state, 'charlie')).toEqual([200, 201]);
  });
});

describe('an assembly in which the registrar role lost its rights on the registry’s key', () => {
  test('the start stops at the first cell registration, naming the resource, the call and the reason', async () => {
    const dir = plantedCopy('registrar-without-kms', {
      'Bulkhead-Router': (resources) => {
        const statements = roleStatements(resources, 'CellRegistrarRoleiama');
        const kept = statements.filter((s) => ![s.Action].flat().some((a) => a.startsWith('kms:')));
        expect(kept).toHaveLength(statements.length - 1);
        statements.splice(0, statements.length, ...kept);
      },
    });
    const home = path.join(tmp, 'registrar-home');
    const error = await startRetrying(dir, home).then(
      (p) => p.stop().then(() => undefined),
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      /^Bulkhead-Cell-iam-a\/Registration\S* \(Custom::AWS\) failed: DynamoDB\.UpdateItem as arn:aws:sts::111111111111:assumed-role\/bulkhead-registrar-iam-a\/\S+ in Bulkhead-Router: AccessDeniedException: .*kms:Decrypt/,
    );
    const [line, ...more] = denials(home, 'router');
    expect(more).toEqual([]);
    expect(line).toContain('AccessDenied: role bulkhead-registrar-iam-a is not allowed kms:Decrypt');
    expect(line).toContain('uses this customer managed key');
  }, 400_000);
});

describe('an assembly in which cell iam-a’s registration writes cell iam-b’s row', () => {
  test('the registry refuses it: a cell’s registrar may update its own row only (dynamodb:LeadingKeys)', async () => {
    const dir = plantedCopy('registration-of-another-cell', {
      'Bulkhead-Cell-iam-a': (resources) => {
        const [registration] = Object.values(resources).filter((r) => r.Type === 'Custom::AWS');
        const before = JSON.stringify(registration.Properties);
        const own = JSON.stringify('"cellId":{"S":"iam-a"}').slice(1, -1);
        const other = JSON.stringify('"cellId":{"S":"iam-b"}').slice(1, -1);
        registration.Properties = JSON.parse(before.split(own).join(other)) as Json;
        expect(JSON.stringify(registration.Properties)).not.toBe(before);
      },
    });
    const home = path.join(tmp, 'registration-home');
    const error = await startRetrying(dir, home).then(
      (p) => p.stop().then(() => undefined),
      (e: Error) => e,
    );
    expect(error?.message).toMatch(
      /^Bulkhead-Cell-iam-a\/Registration\S* \(Custom::AWS\) failed: DynamoDB\.UpdateItem as arn:aws:sts::111111111111:assumed-role\/bulkhead-registrar-iam-a\/\S+ in Bulkhead-Router: AccessDeniedException: /,
    );
    const [line, ...more] = denials(home, 'router');
    expect(more).toEqual([]);
    expect(line).toContain('AccessDenied: role bulkhead-registrar-iam-a is not allowed dynamodb:UpdateItem');
  }, 400_000);
});
