/**
 * The router's bundle with the Powertools Tracer on, as on Lambda (a daemon address, a trace header),
 * against a stand-in X-Ray daemon (UDP on loopback) and a stand-in cell: the trace records the router's
 * invocation annotated with the tenant and its cell, and the cell receives the trace header, so its own
 * segments join the same trace. In a child process: the X-Ray SDK hooks every promise of its process.
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import * as fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { build } from 'esbuild';

import type { InvokeRequest } from '../../../harness/invoke-bundle-main';
import { until } from '../../../harness/wait';
import { generateApiKey } from '../../../lib/domain/api-keys';
import { BAKED_ROUTES_DEFINE } from '../../../lib/infra/router/router-stack';

const ROOT = path.join(__dirname, '..', '..', '..');
const TRACE_ID = '1-5759e988-bd862e3fe1be46a994272793';
const TRACE_HEADER = `Root=${TRACE_ID};Parent=557abcec3ee5a047;Sampled=1`;

interface Subsegment {
  readonly name: string;
  readonly trace_id?: string;
  readonly parent_id?: string;
  readonly annotations?: Record<string, unknown>;
  readonly aws?: Record<string, unknown>;
}

let dir: string;
let daemon: dgram.Socket;
let cell: http.Server;
const received: Subsegment[] = [];
const cellHeaders: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-tracing-'));
  daemon = dgram.createSocket('udp4');
  // Each datagram: the daemon header line, then one (sub)segment document.
  daemon.on('message', (message) => received.push(JSON.parse(message.toString().split('\n')[1])));
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  cell = http.createServer((req, res) => {
    cellHeaders.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => cell.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  daemon?.close();
  await new Promise((resolve) => cell?.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a routed request is one trace: annotated with tenant and cell, its header passed to the cell', async () => {
  // A cold router with its store unreachable routes a tenant baked into its bundle (no database needed).
  const baked = {
    tenants: { acme: { cellId: 'cell-a' } },
    cells: { 'cell-a': { region: 'us-east-1', account: '1' } },
  };
  const bundle = path.join(dir, 'router.js');
  await build({
    entryPoints: [path.join(ROOT, 'lambdas/router/handler.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: bundle,
    define: { [BAKED_ROUTES_DEFINE]: JSON.stringify(JSON.stringify(baked)) },
    logLevel: 'error',
  });
  const cellUrl = `http://127.0.0.1:${(cell.address() as AddressInfo).port}`;
  const request: InvokeRequest = {
    bundle,
    environment: {
      // What Lambda sets for a function with active tracing.
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: dir,
      _HANDLER: 'index.handler',
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      // The routing store: a port nothing listens on.
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
      ROUTES_TABLE: 'routes',
      REGISTRY_TABLE: 'registry',
      STORE_TIMEOUT_MS: '2000',
      CELL_ENDPOINTS: JSON.stringify({ 'cell-a': { endpoint: cellUrl } }),
      // The cell listens on loopback, as the local platform's do (on AWS only a function URL is forwarded to).
      CELL_ENDPOINTS_ON_LOOPBACK: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
    traceHeader: TRACE_HEADER,
    event: {
      rawPath: '/inventory',
      rawQueryString: '',
      headers: { authorization: `Bearer ${generateApiKey('acme')}` },
      requestContext: { http: { method: 'GET' } },
    },
  };
  const requestFile = path.join(dir, 'request.json');
  fs.writeFileSync(requestFile, JSON.stringify(request));
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'harness/invoke-bundle-main.ts'), requestFile],
    { cwd: ROOT, env, timeout: 60_000 },
  );
  expect(JSON.parse(stdout)).toMatchObject({ statusCode: 200 });

  // The cell got the trace: the same root, under a subsegment of the router's.
  expect(cellHeaders).toHaveLength(1);
  expect(cellHeaders[0]['x-amzn-trace-id']).toMatch(
    new RegExp(`^Root=${TRACE_ID};Parent=[0-9a-f]{16};Sampled=1`),
  );

  // Sent before the child exited; this process may not have read them yet.
  const invocation = await until('the invocation’s subsegment reaches the daemon', 10_000, async () =>
    received.find((s) => s.name === '## index.handler'),
  );
  expect(invocation).toMatchObject({
    trace_id: TRACE_ID,
    parent_id: '557abcec3ee5a047',
    annotations: { Service: 'router', cellId: 'cell-a', tenantId: 'acme' },
  });
  // The routing store's lookup, traced through the captured client (it failed: nothing listens there).
  expect(received).toContainEqual(
    expect.objectContaining({
      name: 'DynamoDB',
      aws: expect.objectContaining({ operation: 'GetItem', table_name: 'routes' }),
    }),
  );
});
