/**
 * A cell of 40 integrated tenants (issue 11): its environment was about 6.4 KB with the integrations in it,
 * over Lambda's 4 KB, so it could not deploy. Synthesized once, then run as that exact artifact with
 * `bulkhead local up --assembly`, it starts, serves and syncs; nothing of the platform listens beyond
 * loopback, and the router refuses an oversize body.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import {
  connectionRefused,
  descendants,
  externalAddresses,
  isLoopback,
  listenersOn,
  listeningAddresses,
} from '../../harness/processes';
import { until } from '../../harness/wait';
import { LAMBDA_ENVIRONMENT_MAX_BYTES } from '../../lib/contracts/aws-limits';
import { deployedEnvironmentBytes } from '../../lib/infra/environment-size';
import type { PlatformState } from '../../lib/local/platform/platform-state';

jest.setTimeout(120_000);

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'bulkhead.js');
const TENANTS = Array.from({ length: 40 }, (_, i) => `dispensary-${String(i).padStart(2, '0')}`);
const FLEET = {
  defaults: { account: '111111111111', region: 'us-east-1' },
  cells: [
    {
      id: 'big',
      wave: 0,
      maxTenants: 40,
      tenants: TENANTS.map((id) => ({
        id,
        integration: { baseUrl: 'https://sandbox-api-ca.metrc.com', ratePerSecond: 20, burst: 5 },
      })),
    },
  ],
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-e2e-limits-'));
const fleetFile = path.join(tmp, 'fleet.json');
const assembly = path.join(tmp, 'cdk.out');
const home = path.join(tmp, 'home');
const readyFile = path.join(tmp, 'ready.json');
fs.writeFileSync(fleetFile, JSON.stringify(FLEET));

let platform: ChildProcess | undefined;
let exited: Promise<unknown>;
let output = '';
let state: PlatformState;

async function call(tenant: string, method: string, pathname: string, body?: unknown) {
  const res = await fetch(`${state.router}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${state.tenants[tenant].apiKey}`, 'content-type': 'application/json' },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  // The synth a pipeline runs; its validations include Lambda's 4 KB environment.
  await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'scripts', 'synth.js'), '-o', assembly, '-c', `config=${fleetFile}`, '-c', 'nag=false'],
    { cwd: ROOT, timeout: 180_000 },
  );
  const child = spawn(
    process.execPath,
    [CLI, 'local', 'up', '--assembly', assembly, '--config', fleetFile, '--port', '0'].concat([
      '--ready-file',
      readyFile,
      '--time-scale',
      '60',
      '--home',
      home,
    ]),
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  platform = child;
  const keep = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  exited = new Promise((resolve) => child.once('exit', resolve));
  state = await until('the platform to write its ready file', 180_000, async () => {
    if (child.exitCode !== null) throw new Error(`the platform exited before it was ready:\n${output}`);
    if (!fs.existsSync(readyFile)) return undefined;
    return JSON.parse(fs.readFileSync(readyFile, 'utf8')) as PlatformState;
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n--- platform output ---\n${output}`);
  });
}, 400_000);

afterAll(async () => {
  if (platform && platform.exitCode === null && platform.signalCode === null) {
    platform.kill('SIGTERM');
    await exited;
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the 40-tenant cell synthesizes with every function environment well under 4 KB', () => {
  const template = JSON.parse(
    fs.readFileSync(path.join(assembly, 'Bulkhead-Cell-big.template.json'), 'utf8'),
  ) as {
    Resources: Record<string, { Type: string; Properties: { Environment?: { Variables: object } } }>;
  };
  const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
  expect(functions.length).toBeGreaterThanOrEqual(4);
  for (const fn of functions) {
    const variables = (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    const bytes = deployedEnvironmentBytes(variables, (id) => template.Resources[id]?.Type, 'us-east-1');
    expect(bytes).toBeLessThan(LAMBDA_ENVIRONMENT_MAX_BYTES);
  }
});

test('`local up --assembly` runs that assembly as it is: no synth of its own', () => {
  expect(output).toContain(`running the cloud assembly in ${assembly} as it is (no synth)`);
  expect(fs.existsSync(path.join(home, 'cdk.out'))).toBe(false);
  expect(Object.keys(state.tenants).sort()).toEqual(TENANTS);
});

test('every one of the 40 tenants is served, and the last one’s order syncs to the compliance API', async () => {
  for (const tenant of TENANTS) {
    const put = await call(tenant, 'PUT', '/inventory/og-kush', { quantity: 10, priceCents: 2500 });
    expect([tenant, put.status]).toEqual([tenant, 200]);
  }
  const tenant = TENANTS[TENANTS.length - 1];
  const order = await call(tenant, 'POST', '/orders', { items: [{ sku: 'og-kush', quantity: 1 }] });
  expect(order).toMatchObject({ status: 201, body: { syncStatus: 'PENDING' } });
  await until(`${tenant}'s order to be SYNCED`, 60_000, async () => {
    const read = await call(tenant, 'GET', `/orders/${String(order.body.id)}`);
    return read.body.syncStatus === 'SYNCED' ? true : undefined;
  });
});

test('no socket of the platform or of any process it started listens beyond loopback', async () => {
  // The router, the control server, the status page, the simulator, the routing store, and each cell's
  // function URL, DynamoDB Local and fauxqs: whatever listens on their ports is loopback only.
  const cells = Object.values(state.cells);
  const urls = [
    state.router,
    state.control,
    state.statusPage,
    state.compliance.url,
    state.routingStore.endpoint,
    ...cells.flatMap((cell) => [cell.endpoint, cell.dynamodb, cell.sqs]),
  ];
  const ports = [...new Set(urls.map((url) => Number(new URL(url).port)))];
  expect(ports.length).toBeGreaterThanOrEqual(6);
  for (const port of ports) {
    const addresses = listenersOn(port);
    expect([port, addresses.length > 0]).toEqual([port, true]);
    expect(addresses.filter((a) => !isLoopback(a.host))).toEqual([]);
    for (const host of externalAddresses()) {
      expect([host, port, await connectionRefused(host, port)]).toEqual([host, port, true]);
    }
  }
  // Nor any other socket of its processes, where this machine lets us read them.
  const pids = [platform!.pid!, ...descendants(platform!.pid!).map((p) => p.pid)];
  const addresses = pids.flatMap((pid) => listeningAddresses(pid).map((a) => ({ pid, ...a })));
  expect(addresses.filter((a) => !isLoopback(a.host))).toEqual([]);
});

test('the router refuses a declared oversize body with 413, before any of it is sent', async () => {
  const { port } = new URL(state.router);
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () =>
      socket.write(`POST /orders HTTP/1.1\r\nhost: x\r\ncontent-length: ${50 * 1024 * 1024}\r\n\r\n`),
    );
    let text = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
  expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
});
