/**
 * Header hygiene at the router: what a client may pass to a cell, and what a cell may pass back.
 */
import { CELL_SECRET_HEADER, CLAIMED_TENANT_HEADER, KEY_HASH_HEADER, TENANT_HEADER } from '../shared/tenant';

export type HeaderValue = string | string[] | number | undefined;
export type Headers = Record<string, string>;

/** The cell this answer came from, added to every response that went through a cell. */
export const CELL_HEADER = 'x-bulkhead-cell';

/** Hop-by-hop (RFC 9110 §7.6.1) plus `host` and `content-length`, which are set for the next hop. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
]);

/** Headers only the router may set: the trusted tenant, the cell secret, anything `x-bulkhead-*`. */
const ROUTER_OWNED_PREFIX = 'x-bulkhead-';

function isHopByHop(name: string, connectionTokens: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || connectionTokens.has(name);
}

/** Header names listed in `Connection` are hop-by-hop too. */
function connectionTokens(headers: Record<string, HeaderValue>): Set<string> {
  const tokens = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'connection' || value === undefined) continue;
    for (const v of [value].flat()) {
      for (const t of String(v).split(',')) if (t.trim()) tokens.add(t.trim().toLowerCase());
    }
  }
  return tokens;
}

function join(value: Exclude<HeaderValue, undefined>): string {
  return Array.isArray(value) ? value.join(', ') : String(value);
}

export type UpstreamIdentity = (
  | {
      /** The authenticated tenant (never taken from the client). */
      readonly tenantId: string;
      readonly claim?: never;
    }
  | {
      readonly tenantId?: never;
      /**
       * Fail static, cold: the tenant the key claims and the hash of the presented key, for the cell to
       * verify; no trusted tenant header is sent (see `KEY_HASH_HEADER`).
       */
      readonly claim: { readonly tenantId: string; readonly keyHash: string };
    }
) & {
  /** The cell's shared secret (local target); absent on AWS, where SigV4 proves the caller. */
  readonly cellSecret?: string;
};

/**
 * The headers sent to the cell: the client's, minus hop-by-hop headers, `authorization` (the tenant's
 * API key stays at the router; on AWS the slot carries the SigV4 signature), AWS signing headers and
 * every client-sent `x-bulkhead-*` header (no spoofing); plus the trusted tenant header (or, for a key
 * the cell must verify, the claimed tenant and the key's hash) and, when configured, the cell secret.
 * Names are lower-cased.
 */
export function upstreamRequestHeaders(
  client: Record<string, HeaderValue>,
  identity: UpstreamIdentity,
): Headers {
  const tokens = connectionTokens(client);
  const out: Headers = {};
  for (const [rawName, value] of Object.entries(client)) {
    const name = rawName.toLowerCase();
    if (value === undefined || isHopByHop(name, tokens)) continue;
    if (name === 'authorization' || name.startsWith(ROUTER_OWNED_PREFIX) || name.startsWith('x-amz-'))
      continue;
    out[name] = out[name] === undefined ? join(value) : `${out[name]}, ${join(value)}`;
  }
  if (identity.claim) {
    out[CLAIMED_TENANT_HEADER] = identity.claim.tenantId;
    out[KEY_HASH_HEADER] = identity.claim.keyHash;
  } else {
    out[TENANT_HEADER] = identity.tenantId;
  }
  if (identity.cellSecret !== undefined) out[CELL_SECRET_HEADER] = identity.cellSecret;
  return out;
}

/** The cell's response headers for the client: minus hop-by-hop and the cell secret, plus `x-bulkhead-cell`. */
export function downstreamResponseHeaders(cell: Record<string, HeaderValue>, cellId: string): Headers {
  const tokens = connectionTokens(cell);
  const out: Headers = {};
  for (const [rawName, value] of Object.entries(cell)) {
    const name = rawName.toLowerCase();
    if (value === undefined || isHopByHop(name, tokens) || name === CELL_SECRET_HEADER) continue;
    // Several Set-Cookie values must not be comma-joined; keep the first (the cells set none today).
    if (name === 'set-cookie') {
      out[name] = Array.isArray(value) ? (value[0] ?? '') : String(value);
      continue;
    }
    out[name] = join(value);
  }
  out[CELL_HEADER] = cellId;
  return out;
}
