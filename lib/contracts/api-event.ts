/**
 * Requests to a cell's tenant API as the Function URL event (payload format 2.0) a function receives:
 * built once here for every caller. The release tooling sends a version requests directly (smoke tests,
 * drills; on AWS through Lambda `Invoke`, locally through the platform), the local Function URL server
 * turns HTTP requests into them, and the tests call handlers with them.
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

/** One HTTP request, in the parts a Function URL event is made of. */
export interface FunctionUrlRequest {
  readonly method: string;
  /** Path and optional query string, as requested: `/orders?status=PENDING`. */
  readonly url: string;
  /** By name; a `cookie` header becomes the event's `cookies`, as a Function URL splits it out. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as text, or as base64 with `isBase64Encoded`. */
  readonly body?: string;
  /** @default false */
  readonly isBase64Encoded?: boolean;
  /** @default 'HTTP/1.1' */
  readonly protocol?: string;
  /** @default '127.0.0.1' */
  readonly sourceIp?: string;
  /** The caller an `AWS_IAM` URL authenticated: its `requestContext.authorizer.iam`. */
  readonly iam?: FunctionUrlIamCaller;
}

/**
 * Who called an `AWS_IAM` function URL, as Lambda puts it in the event (`requestContext.authorizer.iam`,
 * "Lambda function URL request and response payloads"): set by Lambda from the verified signature, so a
 * function can trust it where it cannot trust a header.
 */
export interface FunctionUrlIamCaller {
  readonly accessKey: string;
  readonly accountId: string;
  readonly callerId: string;
  readonly cognitoIdentity: null;
  readonly principalOrgId: string | null;
  /** `arn:aws:sts::111122223333:assumed-role/name/session` for a role session. */
  readonly userArn: string;
  readonly userId: string;
}

/** The Function URL event (payload format 2.0) of an HTTP request. */
export function toFunctionUrlEvent(req: FunctionUrlRequest): APIGatewayProxyEventV2 {
  const url = new URL(req.url, 'http://cell.local');
  const { cookie, ...headers } = req.headers;
  // A repeated query parameter arrives as one, its values joined with commas.
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const domainName = headers.host ?? 'cell.local';
  const urlId = domainName.split('.')[0];
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookie && { cookies: cookie.split(/;\s*/) }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    body: req.body,
    isBase64Encoded: req.isBase64Encoded ?? false,
    requestContext: {
      // What a Function URL reports for a caller it does not know by account.
      accountId: req.iam?.accountId ?? 'anonymous',
      ...(req.iam && { authorizer: { iam: req.iam } }),
      apiId: urlId,
      domainName,
      domainPrefix: urlId,
      http: {
        method: req.method,
        path: url.pathname,
        protocol: req.protocol ?? 'HTTP/1.1',
        sourceIp: req.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: `${now.toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

/** The event of a request to the tenant API as the router forwards it: the tenant and the cell secret set. */
export function functionUrlEvent(req: ApiRequest, cellSecret?: string): APIGatewayProxyEventV2 {
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  return toFunctionUrlEvent({
    method: req.method,
    url: req.path,
    body,
    headers: {
      ...req.headers,
      ...(req.tenant && { [TENANT_HEADER]: req.tenant }),
      ...(cellSecret && { [CELL_SECRET_HEADER]: cellSecret }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
  });
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
