/**
 * Forwards one request to a cell over node `http`/`https` with keep-alive agents (connections to cells
 * are reused across invocations of a warm router), bounded in time: a cell that cannot be reached gives
 * a fast 503 + Retry-After, a cell that does not answer in time a 504 — never a hang.
 */
import http from 'node:http';
import https from 'node:https';

import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

import { downstreamResponseHeaders } from './headers';
import { type Forward, jsonResponse, type RouterResponse, type UpstreamRequest } from './types';

export const RETRY_AFTER_SECONDS = 5;

export interface ForwardOptions {
  /** Time to establish a new connection. @default 1000 */
  readonly connectTimeoutMs?: number;
  /** Time for the whole exchange, from sending to the last byte of the answer. @default 10000 */
  readonly timeoutMs?: number;
  /** Largest cell answer passed on (a Lambda response is at most 6 MB). @default 6000000 */
  readonly maxResponseBytes?: number;
  /**
   * Sign with SigV4 (service `lambda`): every cell endpoint is a Function URL with AWS_IAM auth, whose
   * caller must be allowed both `lambda:InvokeFunctionUrl` and `lambda:InvokeFunction`. @default false
   */
  readonly sign?: boolean;
  /**
   * The region of a cell, to sign for when its endpoint's host does not name one (a local endpoint is
   * `127.0.0.1`; a Function URL host is `*.lambda-url.<region>.on.aws`). @default none
   */
  readonly regionOf?: (cellId: string) => string | undefined;
  /** Region to sign for when neither the host nor `regionOf` names one. @default AWS_REGION */
  readonly region?: string;
  /** Signing credentials. @default the Node provider chain (the function's role) */
  readonly credentials?: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  /** Agents to use (tests); by default keep-alive agents owned by this forwarder. */
  readonly agents?: { readonly http: http.Agent; readonly https: https.Agent };
}

export const cellUnavailable = (): RouterResponse =>
  jsonResponse(503, { error: 'cell_unavailable' }, { 'retry-after': String(RETRY_AFTER_SECONDS) });
export const cellTimeout = (): RouterResponse => jsonResponse(504, { error: 'cell_timeout' });
const badGateway = (): RouterResponse => jsonResponse(502, { error: 'bad_gateway' });

class ForwardTimeout extends Error {
  constructor(readonly phase: 'connect' | 'total') {
    super(`cell ${phase} timeout`);
  }
}
class ResponseTooLarge extends Error {}

/** `abc.lambda-url.eu-west-1.on.aws` → `eu-west-1`. */
export function regionOfEndpoint(hostname: string): string | undefined {
  return /\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(hostname)?.[1];
}

export function keepAliveAgents(): { http: http.Agent; https: https.Agent } {
  // Idle sockets are dropped after 4 s, before a node server's default 5 s keep-alive timeout closes them.
  const options = { keepAlive: true, maxSockets: 128, timeout: 4000 };
  return { http: new http.Agent(options), https: new https.Agent(options) };
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface Forwarder {
  readonly forward: Forward;
  readonly agents: { readonly http: http.Agent; readonly https: https.Agent };
  /** Closes idle connections (tests, shutdown). */
  destroy(): void;
}

export function createForwarder(options: ForwardOptions = {}): Forwarder {
  const connectTimeoutMs = options.connectTimeoutMs ?? 1000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxResponseBytes = options.maxResponseBytes ?? 6_000_000;
  const agents = options.agents ?? keepAliveAgents();
  const signers = new Map<string, SignatureV4>();
  let credentials = options.credentials;

  const signerFor = (region: string): SignatureV4 => {
    let signer = signers.get(region);
    if (!signer) {
      const creds = (credentials ??= defaultProvider());
      signer = new SignatureV4({ service: 'lambda', region, credentials: creds, sha256: Sha256 });
      signers.set(region, signer);
    }
    return signer;
  };

  const signed = async (url: URL, request: UpstreamRequest): Promise<Record<string, string>> => {
    const region =
      regionOfEndpoint(url.hostname) ??
      options.regionOf?.(request.cellId) ??
      options.region ??
      process.env.AWS_REGION;
    if (!region) throw new Error(`no region to sign for ${url.hostname}`);
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : [prev].flat().concat(v);
    }
    const result = await signerFor(region).sign({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers: { ...request.headers, host: url.host },
      body: request.body,
    });
    return result.headers;
  };

  const once = (url: URL, request: UpstreamRequest, headers: Record<string, string>) =>
    new Promise<RouterResponse>((resolve, reject) => {
      const isHttps = url.protocol === 'https:';
      const body = request.body && request.body.length > 0 ? request.body : undefined;
      const req = (isHttps ? https : http).request(url, {
        method: request.method,
        headers: { ...headers, 'content-length': String(body?.length ?? 0) },
        agent: isHttps ? agents.https : agents.http,
      });
      let connectTimer: NodeJS.Timeout | undefined;
      const totalTimer = setTimeout(() => req.destroy(new ForwardTimeout('total')), timeoutMs);
      const done = () => {
        clearTimeout(totalTimer);
        clearTimeout(connectTimer);
      };
      req.on('socket', (socket) => {
        if (!socket.connecting) return; // a reused keep-alive connection
        connectTimer = setTimeout(() => req.destroy(new ForwardTimeout('connect')), connectTimeoutMs);
        socket.once(isHttps ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      req.on('error', (error) => {
        done();
        reject(Object.assign(error, { reusedSocket: req.reusedSocket }));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) req.destroy(new ResponseTooLarge());
          else chunks.push(chunk);
        });
        res.on('error', (error) => {
          done();
          reject(error);
        });
        res.on('end', () => {
          done();
          resolve({
            status: res.statusCode ?? 502,
            headers: downstreamResponseHeaders(res.headers, request.cellId),
            body: Buffer.concat(chunks),
          });
        });
      });
      req.end(body);
    });

  const forward: Forward = async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return cellUnavailable();
    }
    let headers = request.headers;
    if (options.sign) {
      try {
        headers = await signed(url, request);
      } catch {
        return cellUnavailable();
      }
    }
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await once(url, request, headers);
      } catch (error) {
        // A keep-alive connection the cell closed while idle: the request never reached it; retry once
        // on a fresh connection for methods that are safe to repeat.
        const e = error as NodeJS.ErrnoException & { reusedSocket?: boolean };
        if (attempt === 0 && e.reusedSocket && e.code === 'ECONNRESET' && IDEMPOTENT.has(request.method))
          continue;
        if (error instanceof ForwardTimeout)
          return error.phase === 'connect' ? cellUnavailable() : cellTimeout();
        if (error instanceof ResponseTooLarge) return badGateway();
        // Refused, reset, unreachable, DNS: the cell is not there (for now).
        return cellUnavailable();
      }
    }
  };

  return {
    forward,
    agents,
    destroy: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
