/**
 * The simulator's HTTP side: a loopback server whose routes answer with an {@link Outcome} (a JSON
 * reply, a connection reset, or a hang), and the body readers its routes share.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { z } from 'zod';

import { listenOnLoopback } from '../services/ports';

export type Outcome =
  | {
      readonly kind: 'reply';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'reset' }
  | { readonly kind: 'hang' };

export const RESET: Outcome = { kind: 'reset' };
export const HANG: Outcome = { kind: 'hang' };
export const reply = (status: number, body: unknown, headers?: Record<string, string>): Outcome => ({
  kind: 'reply',
  status,
  body,
  headers,
});
export const invalid = (details: unknown): Outcome => reply(400, { error: 'invalid', details });

export const MAX_BODY_BYTES = 256 * 1024;
export const tooLarge = (): Outcome => reply(413, { error: `body larger than ${MAX_BODY_BYTES} bytes` });

/**
 * Reads the whole body even past the limit (discarding the excess): answering before the client has
 * finished sending would reset its connection, and it would never see the 413.
 */
export function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.once('end', () => resolve(size > MAX_BODY_BYTES ? 'too-large' : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => reject(new Error('request closed before its body was complete')));
  });
}

export function parseJson(raw: Buffer): { readonly json: unknown } | { readonly outcome: Outcome } {
  try {
    return { json: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { outcome: invalid('body is not valid JSON') };
  }
}

export async function readJson<T>(
  req: IncomingMessage,
  schema: z.ZodType<T>,
): Promise<{ readonly value: T } | { readonly outcome: Outcome }> {
  const raw = await readBody(req);
  if (raw === 'too-large') return { outcome: tooLarge() };
  const parsed = parseJson(raw);
  if ('outcome' in parsed) return parsed;
  const checked = schema.safeParse(parsed.json);
  return checked.success ? { value: checked.data } : { outcome: invalid(z.prettifyError(checked.error)) };
}

/** Serves `route`'s outcomes on loopback; `stop()` closes every socket, hung ones included. */
export class OutcomeServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly route: (req: IncomingMessage) => Promise<Outcome> | Outcome) {}

  get listening(): boolean {
    return this.server !== undefined;
  }

  /** Resolves with the base URL, e.g. `http://127.0.0.1:PORT`. */
  async start(port: number): Promise<string> {
    const server = createServer((req, res) => void this.answer(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    try {
      return await listenOnLoopback(server, port);
    } catch (error) {
      this.server = undefined;
      throw error;
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.route(req);
    } catch {
      // Mostly a client gone mid-body, whose socket is destroyed below; otherwise a bug.
      outcome = reply(500, { error: 'internal error' });
    }
    if (res.destroyed || req.socket.destroyed) return;
    switch (outcome.kind) {
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        return;
      case 'reply':
        res.writeHead(outcome.status, { 'content-type': 'application/json', ...outcome.headers });
        res.end(JSON.stringify(outcome.body));
        return;
    }
  }
}
