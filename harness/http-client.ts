/**
 * A small HTTP client over `node:http` for the benchmarks and the reliability suite: it sends paths,
 * methods and headers exactly as given (fetch would normalise `/../` and refuse odd methods), reuses
 * connections, and never throws for a status: a transport failure comes back as `status: 0`.
 */
import * as http from 'node:http';

export interface HttpReply {
  /** 0 when no answer came (connection refused or reset, timeout). */
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  readonly json: unknown;
  readonly ms: number;
  /** Why no answer came. */
  readonly error?: string;
}

export interface HttpRequest {
  readonly method?: string;
  /** The request target, sent as is: `/orders?limit=5`, `/../etc/passwd`. */
  readonly path: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | Buffer;
  /** @default 15000 */
  readonly timeoutMs?: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function send(baseUrl: string, request: HttpRequest): Promise<HttpReply> {
  const started = performance.now();
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    let settled = false;
    const done = (reply: Omit<HttpReply, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...reply, ms: performance.now() - started });
    };
    const fail = (error: Error) =>
      done({ status: 0, headers: {}, text: '', json: undefined, error: error.message });
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: url.hostname,
        port: url.port,
        method: request.method ?? 'GET',
        path: request.path,
        headers: {
          ...(request.body !== undefined && { 'content-length': String(Buffer.byteLength(request.body)) }),
          ...request.headers,
        },
        agent,
      });
    } catch (error) {
      // Node refuses to send some things at all (e.g. a control character in a header): not the server's doing.
      fail(error as Error);
      return;
    }
    req.setTimeout(request.timeoutMs ?? 15_000, () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        done({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) });
      });
    });
    req.end(request.body);
  });
}

/** Closes idle keep-alive connections (so a test's process can exit). */
export function closeConnections(): void {
  agent.destroy();
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
