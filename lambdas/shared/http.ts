import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { badRequest, HttpError } from './errors';

/** Largest request body a cell accepts. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Lower-cased header names. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
}

/** The parts of a Function URL / HTTP API v2 event a handler needs, with the body size checked. */
export function toRequest(event: APIGatewayProxyEventV2): Request {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) headers[k.toLowerCase()] = v;
  let body = event.body ?? undefined;
  if (body !== undefined && event.isBase64Encoded) body = Buffer.from(body, 'base64').toString('utf8');
  if (body !== undefined && Buffer.byteLength(body) > MAX_BODY_BYTES) {
    throw new HttpError(413, 'payload_too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  }
  return {
    method: event.requestContext?.http?.method?.toUpperCase() ?? 'GET',
    path: event.rawPath ?? '/',
    query: event.queryStringParameters ?? {},
    headers,
    body,
  };
}

/** Parses a JSON body; an empty or malformed one is a 400, never a 500. */
export function jsonBody(req: Request): unknown {
  if (req.body === undefined || req.body.trim() === '') throw badRequest('a JSON body is required');
  try {
    return JSON.parse(req.body);
  } catch {
    throw badRequest('the body is not valid JSON');
  }
}

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

export function errorResponse(err: HttpError): APIGatewayProxyStructuredResultV2 {
  return json(
    err.status,
    { error: err.error, ...(err.details !== undefined && { details: err.details }) },
    err.headers,
  );
}
