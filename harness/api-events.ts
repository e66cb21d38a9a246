import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export interface ApiCall {
  readonly tenant?: string;
  readonly body?: unknown;
  /** A raw body string, sent as is (for malformed JSON). */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
}

/** A Function URL event as the router forwards it to a cell. */
export function apiEvent(method: string, path: string, call: ApiCall = {}): APIGatewayProxyEventV2 {
  const body = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: new URLSearchParams(call.query ?? {}).toString(),
    queryStringParameters: call.query,
    headers: {
      ...(call.tenant && { 'x-bulkhead-tenant': call.tenant }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...call.headers,
    },
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '111111111111',
      apiId: 'local',
      domainName: 'cell.local',
      domainPrefix: 'cell',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
  };
}

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** Calls a handler and parses its JSON answer. */
export async function call(
  handler: ApiHandler,
  method: string,
  path: string,
  c: ApiCall = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are free-form JSON
): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  const res = await handler(apiEvent(method, path, c));
  return {
    status: res.statusCode ?? 0,
    body: res.body ? JSON.parse(res.body) : undefined,
    headers: (res.headers ?? {}) as Record<string, unknown>,
  };
}
