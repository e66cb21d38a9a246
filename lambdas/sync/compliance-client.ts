import { z } from 'zod';

import type { ReceiptBody } from './decide';

export const RECEIPTS_PATH = '/sales/v2/receipts';

export interface ReceiptRequest {
  readonly baseUrl: string;
  readonly tenantId: string;
  readonly apiKey: string;
  readonly idempotencyKey: string;
  readonly body: ReceiptBody;
  readonly timeoutMs: number;
}

export interface ReceiptResponse {
  readonly status: number;
  readonly text: string;
  /** The compliance system's receipt id, on a 2xx that carries one. */
  readonly receiptId?: string;
  /** Seconds the API asked us to wait (`Retry-After`), on a 429 or 503. */
  readonly retryAfterSeconds?: number;
}

const accepted = z.looseObject({ id: z.string() });

/**
 * Posts one sales receipt. Answers any HTTP status; throws only when no answer came (connection
 * refused or reset, timeout), which the caller treats like a 5xx.
 */
export async function postReceipt(request: ReceiptRequest): Promise<ReceiptResponse> {
  const url = `${request.baseUrl.replace(/\/+$/, '')}${RECEIPTS_PATH}?licenseNumber=${encodeURIComponent(request.tenantId)}`;
  // One signal for the whole exchange: a server that sends headers and then stalls the body times out too.
  const signal = AbortSignal.timeout(request.timeoutMs);
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${request.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': request.idempotencyKey,
    },
    body: JSON.stringify(request.body),
    signal,
  });
  const text = await response.text();
  if (!response.ok) {
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      text,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterSeconds: Math.min(retryAfter, 3600) }),
    };
  }
  let receiptId: string | undefined;
  try {
    receiptId = accepted.safeParse(JSON.parse(text)).data?.id;
  } catch {
    // A 2xx is an acceptance whatever its body says; only the receipt id is lost.
  }
  return { status: response.status, text, ...(receiptId !== undefined && { receiptId }) };
}

/** A short description of why no answer came, for logs and the integration's `lastError`. */
export function describeNetworkError(error: unknown): string {
  // Duck-typed: fetch's errors may come from another realm than this module's `Error`.
  const e = error as { name?: unknown; message?: unknown; cause?: { code?: unknown } } | null | undefined;
  if (e?.name === 'TimeoutError') return 'timed out waiting for the compliance API';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return typeof e?.cause?.code === 'string' ? `${message} (${e.cause.code})` : message;
}
