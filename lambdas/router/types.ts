/** What the router sees of a client request (header names lower-cased; body already decoded). */
export interface RouterRequest {
  readonly method: string;
  /** Path, starting with `/`. */
  readonly path: string;
  /** Raw query string without `?` (may be empty). */
  readonly query?: string;
  readonly headers: Record<string, string | undefined>;
  readonly body?: Buffer;
}

export interface RouterResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A request ready for one cell: target URL, hygienic headers. */
export interface UpstreamRequest {
  readonly cellId: string;
  /** Absolute URL: cell endpoint + path + query. */
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

export type Forward = (request: UpstreamRequest) => Promise<RouterResponse>;

export function jsonResponse(
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): RouterResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}
