import { HttpError, notFound } from '../shared/errors';
import type { Request } from '../shared/http';

/** What a route handler returns: a status and a JSON body (plus optional headers). */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export type RouteHandler = (req: Request, params: Record<string, string>) => Promise<Reply>;

export interface Route {
  readonly pattern: string;
  readonly methods: Readonly<Record<string, RouteHandler>>;
}

/** Matches `/a/{x}` style patterns; a parameter matches one path segment. */
function match(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    if (w.startsWith('{') && w.endsWith('}')) {
      if (got[i] === '') return undefined;
      params[w.slice(1, -1)] = got[i];
    } else if (w !== got[i]) return undefined;
  }
  return params;
}

/** Finds the handler for a request: unknown path → 404, known path with another method → 405. */
export function resolve(
  routes: readonly Route[],
  req: Request,
): { handler: RouteHandler; params: Record<string, string> } {
  const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
  for (const route of routes) {
    const params = match(route.pattern, path);
    if (!params) continue;
    const handler = route.methods[req.method];
    if (!handler) {
      const allow = Object.keys(route.methods).join(', ');
      throw new HttpError(
        405,
        'method_not_allowed',
        `${req.method} is not allowed on ${route.pattern}; allowed: ${allow}`,
        {
          allow,
        },
      );
    }
    return { handler, params };
  }
  throw notFound(`no route for ${req.method} ${req.path.slice(0, 200)}`);
}
