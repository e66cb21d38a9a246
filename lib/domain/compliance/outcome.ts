/**
 * What one call to the state system did, decided from what came back. Metrc's POST is "not required to be
 * idempotent" (its REST docs): an answer lost after the receipt was committed, then a blind retry, is a
 * second sale in the state's records. So every answer is either definite (we know whether the receipt
 * exists) or unknown (it may exist: look it up before posting again).
 */

/** How a call ended, as the HTTP client saw it. */
export type CallEnd =
  | { readonly kind: 'answer'; readonly status: number }
  /**
   * No answer. `refused`: the connection was never made (nothing was sent). `reset`, `timeout`, `other`:
   * the request may have reached the server, which may have acted on it.
   */
  | { readonly kind: 'no-answer'; readonly cause: 'refused' | 'reset' | 'timeout' | 'other' };

export type Verdict =
  /** 2xx: done. */
  | { readonly committed: 'yes'; readonly breaker: 'success' }
  /** 400/413/422: refused as sent, nothing recorded; never retry it unchanged. */
  | { readonly committed: 'no'; readonly invalid: true; readonly breaker: 'success' }
  /**
   * Nothing recorded, try again later. `throttled` (429: limits are checked before any work, and say the
   * API is up), `refused` (401/403/404/405: our keys or configuration), `unreachable` (no connection).
   */
  | {
      readonly committed: 'no';
      readonly invalid: false;
      readonly reason: 'throttled' | 'refused' | 'unreachable';
      readonly breaker: 'neutral' | 'failure';
    }
  /** It may or may not be recorded (a 5xx or 408 from the server or a proxy, a reset, a timeout). */
  | { readonly committed: 'unknown'; readonly breaker: 'failure' };

/** The unknown-outcome decision table. */
export function verdictOf(end: CallEnd): Verdict {
  if (end.kind === 'no-answer') {
    return end.cause === 'refused'
      ? { committed: 'no', invalid: false, reason: 'unreachable', breaker: 'failure' }
      : { committed: 'unknown', breaker: 'failure' };
  }
  const { status } = end;
  if (status >= 200 && status < 300) return { committed: 'yes', breaker: 'success' };
  if (status === 400 || status === 413 || status === 422) {
    return { committed: 'no', invalid: true, breaker: 'success' };
  }
  if (status === 429) return { committed: 'no', invalid: false, reason: 'throttled', breaker: 'neutral' };
  // 401 is also Metrc's answer to missing permissions and to a receipt of another facility.
  if (status === 401 || status === 403 || status === 404 || status === 405) {
    return { committed: 'no', invalid: false, reason: 'refused', breaker: 'failure' };
  }
  // 408, every 5xx (a proxy's 502/504 may come after the server committed) and anything unexpected.
  return { committed: 'unknown', breaker: 'failure' };
}

/** A validation error of one element of the posted array: `row` is its 0-based index. */
export interface RowError {
  readonly row: number;
  readonly message: string;
}

/**
 * The rows a 400 names. Metrc's error bodies are not uniform (an array of `{row, message}`, an array of
 * strings or `{message}`, or one `{Message}` object: see metrc.md §5); only the first names rows.
 */
export function rowErrors(body: unknown): RowError[] | undefined {
  if (!Array.isArray(body) || body.length === 0) return undefined;
  const rows: RowError[] = [];
  for (const entry of body) {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const { row, message } = entry as { row?: unknown; message?: unknown };
    if (typeof row !== 'number' || !Number.isInteger(row) || row < 0) return undefined;
    rows.push({ row, message: typeof message === 'string' ? message : JSON.stringify(message) });
  }
  return rows;
}

/** The text of an error body in any of Metrc's shapes, for a log line or an order's reject reason. */
export function errorText(body: unknown): string {
  if (typeof body === 'string') return body;
  if (Array.isArray(body)) {
    return body
      .map((entry) => {
        if (typeof entry === 'string') return entry;
        const e = entry as { row?: unknown; message?: unknown; Message?: unknown } | null;
        const message = e?.message ?? e?.Message;
        const text = typeof message === 'string' ? message : JSON.stringify(entry);
        return typeof e?.row === 'number' ? `row ${e.row}: ${text}` : text;
      })
      .join('; ');
  }
  if (typeof body === 'object' && body !== null) {
    const { Message, message, error, details } = body as Record<string, unknown>;
    const parts = [Message ?? message ?? error, details].filter((p) => p !== undefined && p !== null);
    if (parts.length > 0) return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(': ');
  }
  return JSON.stringify(body) ?? '';
}

/**
 * `Retry-After` in seconds, in either form HTTP allows (seconds or an HTTP date; Metrc's is not
 * documented), capped; undefined when absent or unreadable, so the caller backs off on its own.
 */
export function retryAfterSeconds(header: string | null | undefined, now: number): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  const seconds = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : (Date.parse(trimmed) - now) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) return undefined;
  return Math.min(3600, Math.max(1, Math.ceil(seconds)));
}
