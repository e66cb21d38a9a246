import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { TENANT_HEADER, toFunctionUrlEvent } from '../lib/contracts/api-event';

export interface ApiCall {
  readonly tenant?: string;
  readonly body?: unknown;
  /** A raw body string, sent as is (for malformed JSON). */
  readonly rawBody?: string;
  /** Set last: a test may override the tenant or the content type. */
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
}

/** A Function URL event as the router forwards it to a cell. */
export function apiEvent(method: string, path: string, call: ApiCall = {}): APIGatewayProxyEventV2 {
  const body = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  const query = new URLSearchParams(call.query ?? {}).toString();
  return toFunctionUrlEvent({
    method,
    url: query ? `${path}?${query}` : path,
    body,
    headers: {
      ...(call.tenant && { [TENANT_HEADER]: call.tenant }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...call.headers,
    },
  });
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
