import * as http from 'node:http';
import type { Duplex } from 'node:stream';

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { toFunctionUrlEvent } from '../../contracts/api-event';
import { listenOnLoopback } from '../services/ports';

/** Invokes a function with a Function URL event, as Lambda would. */
export type UrlInvoke = (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2 | string | undefined>;

/** Lambda's own limit on a Function URL request body. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/i;

export interface FunctionUrlServerOptions {
  readonly invoke: UrlInvoke;
  /** @default 0 (any free port) */
  readonly port?: number;
}

/** Turns an HTTP request into the event a Function URL delivers. */
function eventOf(req: http.IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const text = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? '');
  return toFunctionUrlEvent({
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers,
    body: body.length === 0 ? undefined : text ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: !text,
    protocol: `HTTP/${req.httpVersion}`,
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
  });
}

/** Writes a function's result back the way a Function URL does (a bare string is a 200 JSON body). */
function writeResult(
  res: http.ServerResponse,
  result: APIGatewayProxyStructuredResultV2 | string | undefined,
): void {
  if (result === undefined || typeof result === 'string') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(result ?? '');
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body =
    result.body === undefined
      ? ''
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : result.body;
  res.writeHead(result.statusCode ?? 200, headers).end(body);
}

/**
 * A request Node's HTTP parser refuses (raw non-ASCII bytes in the request line, headers over 16 KiB, a
 * broken request line) gets a JSON error like every other answer, not Node's bare `400 Bad Request`.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
  const body = JSON.stringify({ message: http.STATUS_CODES[status] });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** An HTTP endpoint in front of a function, with a Function URL's event shape and limits. */
export class FunctionUrlServer {
  private server?: http.Server;
  private address?: string;

  constructor(private readonly options: FunctionUrlServerOptions) {}

  get url(): string {
    if (!this.address) throw new Error('the function URL server is not started');
    return this.address;
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => this.serve(req, res));
    server.keepAliveTimeout = 5000;
    server.on('clientError', answerClientError);
    this.address = await listenOnLoopback(server, this.options.port ?? 0);
    this.server = server;
    return this.address;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) {
        res
          .writeHead(413, { 'content-type': 'application/json' })
          .end('{"message":"Request Entity Too Large"}');
        return;
      }
      this.options
        .invoke(eventOf(req, Buffer.concat(chunks)))
        .then((result) => writeResult(res, result))
        .catch(() => {
          // What Lambda answers when a function throws: the caller learns nothing of the error.
          if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
          res.end('{"message":"Internal Server Error"}');
        });
    });
  }
}
