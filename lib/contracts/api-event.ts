/**
 * A request to a cell's tenant API as the Function URL event (payload 2.0) the router's forward turns
 * into: what the release tooling sends a given version directly (smoke tests, drills), on AWS through
 * Lambda `Invoke` and locally through the platform.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export interface ApiRequest {
  readonly method: string;
  /** Path and optional query: `/orders?status=PENDING`. */
  readonly path: string;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** The authenticated tenant (`x-bulkhead-tenant`). */
  readonly tenant?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ApiResponse {
  /** 0 when the function failed instead of answering (a crash, a timeout). */
  readonly statusCode: number;
  readonly body: unknown;
  /** The version that ran the request. */
  readonly executedVersion?: string;
  /** The function error, when it failed instead of answering. */
  readonly error?: string;
}

export const TENANT_HEADER = 'x-bulkhead-tenant';
export const CELL_SECRET_HEADER = 'x-bulkhead-cell-secret';

export function functionUrlEvent(req: ApiRequest, cellSecret?: string): APIGatewayProxyEventV2 {
  const url = new URL(req.path, 'http://cell.local');
  const query = Object.fromEntries(url.searchParams);
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: {
      ...req.headers,
      ...(req.tenant && { [TENANT_HEADER]: req.tenant }),
      ...(cellSecret && { [CELL_SECRET_HEADER]: cellSecret }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: 'bulkhead',
      apiId: 'bulkhead',
      domainName: 'cell.local',
      domainPrefix: 'cell',
      http: {
        method: req.method,
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: 'bulkhead-release',
      },
      requestId: `release-${now.toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

/** A function's answer to a Function URL event, as status and parsed JSON body. */
export function toApiResponse(result: unknown, executedVersion?: string): ApiResponse {
  const r = (result ?? {}) as { statusCode?: unknown; body?: unknown };
  let body: unknown = r.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // Not JSON: keep the text.
    }
  }
  return {
    statusCode: typeof r.statusCode === 'number' ? r.statusCode : 200,
    body,
    ...(executedVersion !== undefined && { executedVersion }),
  };
}
