/** An error a client caused or can act on: always answered with its status and a JSON `{ error, details }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${error}`);
    this.name = 'HttpError';
  }
}

export const badRequest = (details: unknown) => new HttpError(400, 'bad_request', details);
export const notFound = (details: unknown) => new HttpError(404, 'not_found', details);
