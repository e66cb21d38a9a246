import * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';

import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { type FunctionUrlIamCaller, toFunctionUrlEvent } from '../../contracts/api-event';
import { HTTP_API_INTEGRATION_TIMEOUT_MS, LAMBDA_SYNC_PAYLOAD_MAX_BYTES } from '../../contracts/aws-limits';
import { listenOnLoopback } from '../services/ports';

/** Invokes a function with a Function URL event, as Lambda would. */
export type UrlInvoke = (
  event: APIGatewayProxyEventV2,
) => Promise<APIGatewayProxyStructuredResultV2 | string | undefined>;

const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/i;
/** How long a refused connection is kept for its answer to reach the client before it is dropped. */
const LINGER_MS = 250;

/** A refusal the URL answers instead of invoking the function. */
export interface UrlRefusal {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A request an `AWS_IAM` URL let through: who signed it, for the event's `requestContext.authorizer`. */
export interface UrlCaller {
  readonly iam: FunctionUrlIamCaller;
}

/** Checks a request (its raw head and body) before the function sees it: an `AWS_IAM` URL's auth. */
export type UrlAuthorizer = (
  req: http.IncomingMessage,
  body: Buffer,
) => Promise<UrlRefusal | UrlCaller | undefined>;

const isRefusal = (r: UrlRefusal | UrlCaller | undefined): r is UrlRefusal =>
  r !== undefined && 'status' in r;

export interface FunctionUrlServerOptions {
  readonly invoke: UrlInvoke;
  /** @default none: every request is invoked (an auth type of NONE) */
  readonly authorize?: UrlAuthorizer;
  /** @default 0 (any free port) */
  readonly port?: number;
  /**
   * The largest request body, and response body, served: a BUFFERED function URL invokes synchronously,
   * 6 MB each way (FunctionUrlConfig API), which is also what an HTTP API can pass to a Lambda integration.
   * @default LAMBDA_SYNC_PAYLOAD_MAX_BYTES
   */
  readonly maxPayloadBytes?: number;
  /**
   * How long a request may take, from its arrival to its answer, before it is answered and closed: the
   * HTTP API integration timeout (30 s, not increasable). @default HTTP_API_INTEGRATION_TIMEOUT_MS
   */
  readonly requestTimeoutMs?: number;
}

/** Turns an HTTP request into the event a Function URL delivers. */
function eventOf(req: http.IncomingMessage, body: Buffer, caller?: UrlCaller): APIGatewayProxyEventV2 {
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
    ...(caller && { iam: caller.iam }),
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
  private readonly sockets = new Set<net.Socket>();
  private closedBytesRead = 0;

  constructor(private readonly options: FunctionUrlServerOptions) {}

  get url(): string {
    if (!this.address) throw new Error('the function URL server is not started');
    return this.address;
  }

  async start(): Promise<string> {
    const server = http.createServer((req, res) => this.serve(req, res));
    server.keepAliveTimeout = 5000;
    server.on('clientError', answerClientError);
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.closedBytesRead += socket.bytesRead;
      });
    });
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

  /** Bytes read from every connection so far, headers included: what a refusal must keep small. */
  get bytesRead(): number {
    let live = 0;
    for (const socket of this.sockets) live += socket.bytesRead;
    return this.closedBytesRead + live;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const max = this.options.maxPayloadBytes ?? LAMBDA_SYNC_PAYLOAD_MAX_BYTES;
    let answered = false;
    const answer = (write: () => void) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      write();
    };
    const refuse = (status: number) => answer(() => refuseAndClose(req, status));
    let invoking = false;
    // Before the body is complete the client is too slow (408); after, the function is (504, as API Gateway).
    const timer = setTimeout(
      () => refuse(invoking ? 504 : 408),
      this.options.requestTimeoutMs ?? HTTP_API_INTEGRATION_TIMEOUT_MS,
    );
    // Refused before a byte of the body is read, as API Gateway does, authenticated or not.
    if (Number(req.headers['content-length'] ?? 0) > max) {
      refuse(413);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) refuse(413);
      else if (!answered) chunks.push(chunk);
    });
    req.on('end', () => {
      if (answered) return;
      invoking = true;
      const body = Buffer.concat(chunks);
      (this.options.authorize?.(req, body) ?? Promise.resolve(undefined))
        .then(async (outcome) => {
          if (isRefusal(outcome)) {
            return answer(() => res.writeHead(outcome.status, outcome.headers).end(outcome.body));
          }
          const result = await this.options.invoke(eventOf(req, body, outcome));
          // Lambda refuses a response over the synchronous payload limit; the caller sees a 502.
          answer(() => (resultBytes(result) > max ? internalError(res) : writeResult(res, result)));
        })
        // What Lambda answers when a function throws: the caller learns nothing of the error.
        .catch(() => answer(() => internalError(res)));
    });
  }
}

function internalError(res: http.ServerResponse): void {
  if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
  res.end('{"message":"Internal Server Error"}');
}

/** The size of a function's result as Lambda measures it: the JSON it returned. */
function resultBytes(result: APIGatewayProxyStructuredResultV2 | string | undefined): number {
  if (result === undefined) return 0;
  return Buffer.byteLength(typeof result === 'string' ? result : JSON.stringify(result));
}

/**
 * Answers `status` and closes the connection without reading any more of the request: the socket stops
 * reading at once, and is dropped once the answer has had a moment to reach the client.
 */
function refuseAndClose(req: http.IncomingMessage, status: number): void {
  // A flowing request resumes its socket whenever it wants more: both stop.
  req.pause();
  req.removeAllListeners('data');
  const socket = req.socket;
  socket.pause();
  const body = JSON.stringify({ message: http.STATUS_CODES[status] });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}
