import * as http from 'node:http';

import { listenOnLoopback } from '../services/ports';

import { type Fault, FAULTS } from './faults';
import type { LocalPlatform } from './platform';
import { collectStatus, renderStatusPage } from './status-page';
import type { StatusSource } from './status-sampler';

/** Other commands on this machine reach the platform through this (faults now; releases later). */
export type ControlHandler = (body: Record<string, unknown>) => Promise<unknown>;

function send(res: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(type === 'application/json' ? JSON.stringify(body) : String(body));
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const value: unknown = text ? JSON.parse(text) : {};
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The status page (`/`), its data (`/api/status`) and the control API (`POST /control/...`), on loopback. */
export class ControlServer {
  private server?: http.Server;
  private readonly handlers = new Map<string, ControlHandler>();
  private status?: StatusSource;

  constructor(
    private readonly platform: LocalPlatform,
    private readonly port = 0,
  ) {
    this.handlers.set('fault', async (body) => {
      const fault = body.fault as Fault;
      if (!FAULTS.includes(fault))
        throw new Error(`unknown fault '${String(body.fault)}'; one of ${FAULTS.join(', ')}`);
      return {
        message: await platform.fault(fault, body.cell === undefined ? undefined : String(body.cell)),
      };
    });
    // `bulkhead local compliance receipts <tenant>`: what the state system holds for the tenant.
    this.handlers.set('compliance-receipts', async (body) => {
      if (typeof body.tenant !== 'string' || body.tenant === '') throw new Error('name the tenant');
      return { tenant: body.tenant, ...platform.compliance.receipts(body.tenant) };
    });
  }

  /** The page's charts and incidents (`/api/history`), and the status it last sampled. */
  showStatus(source: StatusSource): void {
    this.status = source;
  }

  /** Adds a control action (`POST /control/<name>`). */
  handle(name: string, handler: ControlHandler): void {
    this.handlers.set(name, handler);
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      this.serve(req, res).catch((err: Error) => send(res, 500, { error: 'internal', details: err.message }));
    });
    const url = await listenOnLoopback(server, this.port);
    this.server = server;
    return url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method === 'GET' && url.pathname === '/') {
      const status = this.status?.latest() ?? (await collectStatus(this.platform));
      return send(res, 200, renderStatusPage(status, this.status?.view()), 'text/html; charset=utf-8');
    }
    if (req.method === 'GET' && url.pathname === '/api/history') {
      if (!this.status) return send(res, 503, { error: 'starting', details: 'no samples yet' });
      return send(res, 200, this.status.view());
    }
    if (req.method === 'GET' && url.pathname === '/api/status')
      return send(res, 200, await collectStatus(this.platform));
    const action = /^\/control\/([a-z-]+)$/.exec(url.pathname)?.[1];
    if (action && this.handlers.has(action)) {
      if (req.method !== 'POST') return send(res, 405, { error: 'method_not_allowed', details: 'use POST' });
      let body: Record<string, unknown>;
      try {
        body = await readJson(req);
      } catch (err) {
        return send(res, 400, { error: 'bad_request', details: (err as Error).message });
      }
      try {
        return send(res, 200, await this.handlers.get(action)!(body));
      } catch (err) {
        return send(res, 409, { error: 'refused', details: (err as Error).message });
      }
    }
    send(res, 404, { error: 'not_found', details: `${req.method} ${url.pathname}` });
  }
}
