/** The sync worker's decisions as plain functions: no I/O, so every rule is testable on its own. */
import type { OrderItem } from '../../lib/contracts/cell-items';
import type { IntegrationConfig } from '../../lib/contracts/integrations';
import type { RateLimit } from '../../lib/domain/token-bucket';

export type ResponseClass = 'synced' | 'rejected' | 'throttled' | 'retry';

/**
 * 2xx (201 new, 200 duplicate of an earlier delivery) is synced. 400/413/422 say this sale will never
 * be accepted as sent, so retrying is pointless. 429 says the API is up but we were early: slow
 * down, without counting it against the breaker. Everything else (401/403: our credentials, 404:
 * our configuration, 408, 5xx) is a problem on the way, not with the sale: retry later.
 */
export function classifyResponse(status: number): ResponseClass {
  if (status >= 200 && status < 300) return 'synced';
  if (status === 400 || status === 413 || status === 422) return 'rejected';
  if (status === 429) return 'throttled';
  return 'retry';
}

/** Longest a record waits before its next attempt: short enough that a drain resumes promptly. */
export const MAX_RETRY_DELAY_SECONDS = 60;

/**
 * Seconds until a record is tried again (SQS visibility), so retries back off instead of waiting out
 * the queue's whole visibility timeout: as long as the API asked (Retry-After) or a token takes, else
 * exponential in the receive count; plus jitter, so records that failed together spread out.
 */
export function retryDelaySeconds(
  receiveCount: number,
  askedSeconds?: number,
  random: () => number = Math.random,
): number {
  const base = askedSeconds ?? Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.max(0, receiveCount - 1));
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.ceil(base + random() * Math.max(1, base / 2)));
}

/** The compliance system's receipts endpoint deduplicates on this, across workers and redeliveries. */
export const complianceIdempotencyKey = (tenantId: string, orderId: string) => `${tenantId}:${orderId}`;

export interface ReceiptBody {
  readonly externalId: string;
  readonly salesDateTime: string;
  readonly items: readonly { sku: string; quantity: number; unitPriceCents: number }[];
  readonly totalCents: number;
}

/** Only the fields the receipts API knows: it refuses unknown ones, and orders may carry newer attributes. */
export function receiptBody(order: OrderItem): ReceiptBody {
  return {
    externalId: order.id,
    salesDateTime: order.createdAt,
    items: order.items.map(({ sku, quantity, unitPriceCents }) => ({ sku, quantity, unitPriceCents })),
    totalCents: order.totalCents,
  };
}

/** Kept short enough for an SQS message attribute and the order item, and for a person to read. */
export const MAX_REASON_LENGTH = 1000;

/** The compliance API's answer in its own words, e.g. `400 invalid: rejected by the state system`. */
export function describeAnswer(status: number, body: string): string {
  let text = body.trim();
  try {
    const json = JSON.parse(body) as { error?: unknown; details?: unknown };
    const parts = [json.error, json.details]
      .filter((part) => part !== undefined && part !== null && part !== '')
      .map((part) => (typeof part === 'string' ? part : JSON.stringify(part)));
    if (parts.length > 0) text = parts.join(': ');
  } catch {
    // Not JSON: the raw text is the best description there is.
  }
  const reason = text === '' ? `${status}` : `${status} ${text}`;
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason;
}

/**
 * The limit the shared bucket enforces: below the integration's own, so that network jitter
 * (two calls spaced exactly right leaving us, arriving closer together) never makes the
 * compliance API count more than its limit. The burst is halved: after a pause (a stalled worker, a
 * slow network), the tokens that piled up go out together with the calls the pause held back, and
 * half the burst leaves room for both.
 */
export function effectiveRateLimit(integration: IntegrationConfig, headroom: number): RateLimit {
  return {
    ratePerSecond: integration.ratePerSecond * headroom,
    burst: Math.max(1, Math.floor(integration.burst / 2)),
  };
}

/** The variable holding a tenant's API key locally, e.g. `COMPLIANCE_API_KEY_TENANT_A` for `tenant-a`. */
export const apiKeyEnvName = (tenantId: string) =>
  `COMPLIANCE_API_KEY_${tenantId.toUpperCase().replace(/-/g, '_')}`;
