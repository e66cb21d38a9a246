/**
 * Calls to one facility's sales receipts at Metrc. Every call answers with how it ended and the verdict
 * of the unknown-outcome table (`lib/domain/compliance/outcome.ts`); it throws only for a bug. Rate
 * limiting is the caller's: one token per call, taken right before it.
 */
import {
  METRC_ACTIVE_RECEIPTS_PATH,
  METRC_MAX_PAGE_SIZE,
  METRC_RECEIPTS_PATH,
  metrcAuthorization,
  MetrcIds,
  MetrcPage,
  MetrcReceipt,
  type MetrcReceiptInput,
} from '../../lib/contracts/metrc';
import {
  type CallEnd,
  errorText,
  retryAfterSeconds,
  verdictOf,
  type Verdict,
} from '../../lib/domain/compliance/outcome';

export interface MetrcCredentials {
  readonly vendorKey: string;
  readonly userKey: string;
}

export interface MetrcFacility {
  readonly baseUrl: string;
  readonly licenseNumber: string;
  readonly credentials: MetrcCredentials;
  /** One signal for the whole exchange: a server that sends headers and then stalls the body times out too. */
  readonly timeoutMs: number;
}

export interface Answer<T> {
  readonly end: CallEnd;
  readonly verdict: Verdict;
  /** The answer's body (parsed JSON, or its text), when one came. */
  readonly body?: unknown;
  /** Seconds the API asked us to wait (`Retry-After`). */
  readonly retryAfterSeconds?: number;
  /** The answer in words: `429 Too Many Requests`, `no answer: timed out`. */
  readonly description: string;
  /** The answer's content, on a 2xx whose body read as expected. */
  readonly value?: T;
}

/** How a failed fetch ended: `refused` only when the connection was never made (nothing was sent). */
export function noAnswerCause(error: unknown): Extract<CallEnd, { kind: 'no-answer' }>['cause'] {
  // Duck-typed: fetch's errors may come from another realm than this module's `Error`.
  const e = error as { name?: unknown; cause?: { code?: unknown; name?: unknown } } | null | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timeout';
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) return 'refused';
  if (['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code)) return 'reset';
  return 'other';
}

function describeFailure(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown; cause?: { code?: unknown } } | null | undefined;
  if (e?.name === 'TimeoutError') return 'timed out waiting for the state system';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.cause?.code === 'string' ? `${message} (${e.cause.code})` : message;
}

const MAX_DESCRIPTION = 1000;

export class MetrcClient {
  constructor(
    private readonly facility: MetrcFacility,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records receipts; `value` is their ids, in the order posted. */
  postReceipts(receipts: readonly MetrcReceiptInput[]): Promise<Answer<number[]>> {
    return this.call('POST', METRC_RECEIPTS_PATH, {}, receipts, (body) => MetrcIds.parse(body).Ids);
  }

  /** One page (from 1) of the active receipts last modified in `[start, end]` (at most 24 h). */
  activePage(start: number, end: number, page: number): Promise<Answer<MetrcPage>> {
    const query = {
      lastModifiedStart: new Date(start).toISOString(),
      lastModifiedEnd: new Date(end).toISOString(),
      pageNumber: String(page),
      pageSize: String(METRC_MAX_PAGE_SIZE),
    };
    return this.call('GET', METRC_ACTIVE_RECEIPTS_PATH, query, undefined, (body) => MetrcPage.parse(body));
  }

  /** One receipt by id; a 401 also means "not this facility's" (Metrc answers so for an unknown id). */
  receipt(id: number): Promise<Answer<MetrcReceipt>> {
    return this.call('GET', `${METRC_RECEIPTS_PATH}/${id}`, {}, undefined, (body) =>
      MetrcReceipt.parse(body),
    );
  }

  /** Voids (archives) a receipt: idempotent. */
  void(id: number): Promise<Answer<null>> {
    return this.call('DELETE', `${METRC_RECEIPTS_PATH}/${id}`, {}, undefined, () => null);
  }

  private async call<T>(
    method: string,
    path: string,
    query: Record<string, string>,
    payload: unknown,
    read: (body: unknown) => T,
  ): Promise<Answer<T>> {
    const { baseUrl, licenseNumber, credentials, timeoutMs } = this.facility;
    const params = new URLSearchParams({ licenseNumber, ...query });
    const url = `${baseUrl.replace(/\/+$/, '')}${path}?${params.toString()}`;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(url, {
        method,
        headers: {
          authorization: metrcAuthorization(credentials.vendorKey, credentials.userKey),
          ...(payload !== undefined && { 'content-type': 'application/json' }),
        },
        ...(payload !== undefined && { body: JSON.stringify(payload) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      const end: CallEnd = { kind: 'no-answer', cause: noAnswerCause(error) };
      return { end, verdict: verdictOf(end), description: `no answer: ${describeFailure(error)}` };
    }
    let body: unknown = text;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: the text is the body.
    }
    const end: CallEnd = { kind: 'answer', status };
    const verdict = verdictOf(end);
    const words = errorText(body);
    const description = (words ? `${status} ${words}` : String(status)).slice(0, MAX_DESCRIPTION);
    const answer = {
      end,
      verdict,
      body,
      description,
      ...(retryAfterSeconds(retryAfter, this.now()) !== undefined && {
        retryAfterSeconds: retryAfterSeconds(retryAfter, this.now()),
      }),
    };
    if (verdict.committed !== 'yes') return answer;
    try {
      return { ...answer, value: read(body) };
    } catch {
      // A 2xx is what happened whatever its body says; only its content is lost (for a POST: the ids).
      return answer;
    }
  }
}
