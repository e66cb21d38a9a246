/**
 * A stack's AWS endpoint: where its functions' SDK clients send DynamoDB, SQS and Lambda API calls. Each
 * call is authenticated (SigV4, with the calling session's own secret), mapped to the IAM actions and
 * resources it needs (`serviceAccess`, plus the KMS uses its resource's key implies), authorized against
 * the identity, resource and key policies of the fleet, and only then passed to DynamoDB Local or fauxqs
 * (or answered, for the Lambda API). A refusal gets the answer AWS gives, and one line in the stack's log.
 */
import * as http from 'node:http';

import {
  accessRequests,
  globalContextKeys,
  serviceAccess,
  type ServiceCall,
  type ServiceResources,
  UnsupportedOperationError,
} from '../../domain/iam';

import type { IamDirectory } from './directory';
import { DualListener } from './dual-listener';
import {
  accessDeniedReply,
  type ErrorReply,
  type Protocol,
  signatureFailureReply,
  unknownOperationReply,
} from './service-errors';
import type { Sessions } from './sessions';
import { type ReceivedRequest, verifySignature } from './sigv4';
import type { LocalCertificate } from './tls-certificate';

/** A function URL as `GetFunctionUrlConfig` describes it. */
export interface FunctionUrlConfig {
  readonly FunctionUrl: string;
  readonly FunctionArn: string;
  readonly AuthType: string;
}

export interface AwsEndpointOptions {
  /** Whose endpoint (a stack name), for the log. */
  readonly name: string;
  readonly region: string;
  readonly resources: ServiceResources;
  readonly sessions: Sessions;
  readonly directory: IamDirectory;
  readonly certificate: LocalCertificate;
  /** Where DynamoDB Local and fauxqs listen now (`http://127.0.0.1:<port>`). */
  readonly backends: { readonly dynamodb: () => string; readonly sqs: () => string };
  /** The fleet's function URLs, by qualified function ARN (the Lambda API answers from it). */
  readonly functionUrl: (functionArn: string) => FunctionUrlConfig | undefined;
  /** One line per refused call. */
  readonly log: (line: string) => void;
  /** @default 0 (any free port; kept across restarts) */
  readonly port?: number;
}

/** The largest body read (DynamoDB's BatchWriteItem may send 16 MB). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const SERVICE_OF: Readonly<Record<string, Protocol>> = { DynamoDB_20120810: 'dynamodb', AmazonSQS: 'sqs' };
const LAMBDA_URL_CONFIG = /^\/2021-10-31\/functions\/([^/?]+)\/url(?:\?|$)/;

interface Routed {
  readonly protocol: Protocol;
  readonly operation: string;
}

function route(req: http.IncomingMessage): Routed | undefined {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    const [prefix, operation] = target.split('.');
    const protocol = SERVICE_OF[prefix];
    return protocol && operation ? { protocol, operation } : undefined;
  }
  if (req.method === 'GET' && LAMBDA_URL_CONFIG.test(req.url ?? ''))
    return { protocol: 'lambda', operation: 'GetFunctionUrlConfig' };
  return undefined;
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function reply(
  res: http.ServerResponse,
  r: ErrorReply | { status: number; headers: Record<string, string>; body: string },
) {
  res.writeHead(r.status, { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) }).end(r.body);
}

/** The input of a call: the JSON body, or the Lambda REST path and query parameters. */
function inputOf(
  routed: Routed,
  req: http.IncomingMessage,
  body: Buffer,
): Record<string, unknown> | undefined {
  if (routed.protocol === 'lambda') {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, name] = LAMBDA_URL_CONFIG.exec(url.pathname + '?') ?? [];
    return {
      FunctionName: decodeURIComponent(name ?? ''),
      Qualifier: url.searchParams.get('Qualifier') ?? undefined,
    };
  }
  try {
    const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class AwsEndpoint {
  private readonly listener: DualListener;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly options: AwsEndpointOptions) {
    this.listener = new DualListener(
      options.certificate,
      (req, res, secure) => {
        this.serve(req, res, secure).catch(() => res.destroy());
      },
      options.port,
    );
  }

  get url(): string {
    return this.listener.url;
  }

  start(): Promise<string> {
    return this.listener.start();
  }

  async stop(): Promise<void> {
    await this.listener.stop();
    this.agent.destroy();
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse, secure: boolean): Promise<void> {
    const routed = route(req);
    const body = await readBody(req);
    if (!routed)
      return reply(
        res,
        unknownOperationReply(
          'dynamodb',
          `${req.method} ${req.url} is not an operation this endpoint serves`,
        ),
      );
    if (!body)
      return reply(res, {
        status: 413,
        headers: { 'content-type': 'application/json' },
        body: '{"message":"Request Entity Too Large"}',
      });
    const received: ReceivedRequest = {
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      headers: req.headers,
      body,
    };
    const verified = await verifySignature(received, this.options.sessions, {
      service: routed.protocol,
      ...(routed.protocol !== 'lambda' && { region: this.options.region }),
    });
    if (!verified.ok)
      return reply(res, signatureFailureReply(routed.protocol, verified.failure, verified.message));
    const input = inputOf(routed, req, body);
    if (!input)
      return reply(res, unknownOperationReply(routed.protocol, 'the request body is not a JSON object'));
    const call: ServiceCall = {
      service: routed.protocol,
      operation: routed.operation,
      input,
      region: verified.region,
    };
    let access;
    try {
      access = serviceAccess(call, this.options.resources);
    } catch (error) {
      if (error instanceof UnsupportedOperationError)
        return reply(res, unknownOperationReply(routed.protocol, error.message));
      throw error;
    }
    const principal = verified.session.principal;
    const context = globalContextKeys(principal, { secureTransport: secure, region: verified.region });
    const denial = this.options.directory.firstDenial(accessRequests(principal, access, context));
    if (denial) {
      this.options.log(`${new Date().toISOString()}\t${this.options.name}\t${denial.explanation}`);
      return reply(res, accessDeniedReply(routed.protocol, denial.message, denial.impliedBy !== undefined));
    }
    if (routed.protocol === 'lambda') return this.lambda(res, access[0].resource);
    this.forward(
      req,
      res,
      body,
      routed.protocol === 'dynamodb' ? this.options.backends.dynamodb() : this.options.backends.sqs(),
    );
  }

  private lambda(res: http.ServerResponse, functionArn: string): void {
    const config = this.options.functionUrl(functionArn);
    if (!config) return reply(res, unknownOperationReply('lambda', `Function URL not found: ${functionArn}`));
    const body = JSON.stringify({
      ...config,
      InvokeMode: 'BUFFERED',
      CreationTime: new Date(0).toISOString(),
    });
    reply(res, { status: 200, headers: { 'content-type': 'application/json' }, body });
  }

  /** Passes the call on; a backend that does not answer drops the connection, as an unreachable one would. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, backend: string): void {
    const target = new URL(backend);
    // The body was read whole: it goes on with a length, never chunked.
    const headers: http.OutgoingHttpHeaders = {
      ...req.headers,
      host: target.host,
      'content-length': String(body.length),
    };
    delete headers['transfer-encoding'];
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    upstream.end(body);
  }
}
