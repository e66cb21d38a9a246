/**
 * Verifies a request's Signature Version 4 the way an AWS endpoint does ("Authenticating requests (AWS
 * Signature Version 4)"): the access key id must be a live session's, the session token its own, the
 * credential scope the service and region called, the time within 15 minutes, and the signature — computed
 * again here over the same method, path, query, signed headers and body with the session's secret — the
 * one the caller sent. The canonical request is built by `@smithy/signature-v4`, the signer the SDK itself
 * uses, so both sides agree on encoding and normalisation.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import { SignatureV4 } from '@smithy/signature-v4';

import { NodeSha256 } from './node-sha256';
import type { Session, Sessions } from './sessions';

/** A request as it arrived: the target (path and query) as sent, header names lower-cased, the whole body. */
export interface ReceivedRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type SignatureFailure =
  | 'MissingAuthenticationToken'
  | 'IncompleteSignature'
  | 'InvalidClientTokenId'
  | 'SignatureDoesNotMatch'
  | 'RequestExpired';

export type Verification =
  | { readonly ok: true; readonly session: Session; readonly region: string; readonly service: string }
  | { readonly ok: false; readonly failure: SignatureFailure; readonly message: string };

export interface Expected {
  /** The service's signing name (`dynamodb`, `sqs`, `lambda`). */
  readonly service: string;
  /** The region the endpoint serves; any region when absent. */
  readonly region?: string;
  /** @default Date.now() */
  readonly now?: number;
}

/** "Signature expired" after 15 minutes either way (the SigV4 default for most services). */
const MAX_SKEW_MS = 15 * 60_000;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

const fail = (failure: SignatureFailure, message: string): Verification => ({ ok: false, failure, message });
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

interface Authorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sqs/aws4_request, SignedHeaders=…, Signature=…` */
function parseAuthorization(header: string): Authorization | string {
  if (!header.startsWith('AWS4-HMAC-SHA256 ')) return 'Only AWS4-HMAC-SHA256 signatures are supported.';
  const fields = new Map<string, string>();
  for (const part of header.slice('AWS4-HMAC-SHA256 '.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (
    !credential ||
    credential.length !== 5 ||
    credential[4] !== 'aws4_request' ||
    !signedHeaders ||
    !signature
  )
    return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.";
  const [accessKeyId, date, region, service] = credential;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

const single = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(',') : value;

/** `20240101T000000Z` → epoch ms. */
function amzDate(value: string | undefined): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : undefined;
}

function queryOf(target: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  const q = target.indexOf('?');
  if (q < 0) return query;
  for (const [k, v] of new URLSearchParams(target.slice(q + 1))) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [prev].flat().concat(v);
  }
  return query;
}

/** Checks what can be checked before computing anything: scope, date, session token, body hash. */
function precheck(req: ReceivedRequest, auth: Authorization, session: Session, expected: Expected) {
  if (auth.service !== expected.service)
    return fail(
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: '${expected.service}'.`,
    );
  if (expected.region && auth.region !== expected.region)
    return fail('SignatureDoesNotMatch', 'Credential should be scoped to a valid region.');
  const date = single(req.headers['x-amz-date']);
  const signedAt = amzDate(date);
  if (
    signedAt === undefined ||
    !auth.signedHeaders.includes('host') ||
    !auth.signedHeaders.includes('x-amz-date')
  )
    return fail('IncompleteSignature', 'The request must sign the host and x-amz-date headers.');
  if (!date!.startsWith(auth.date))
    return fail(
      'SignatureDoesNotMatch',
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.',
    );
  const now = expected.now ?? Date.now();
  if (Math.abs(now - signedAt) > MAX_SKEW_MS)
    return fail(
      'RequestExpired',
      `Signature expired: ${date} is not within 15 minutes of the time the request was received.`,
    );
  if (single(req.headers['x-amz-security-token']) !== session.sessionToken)
    return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const claimed = single(req.headers['x-amz-content-sha256']);
  const actual = req.body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(req.body).digest('hex');
  if (claimed !== undefined && claimed !== actual)
    return fail(
      'SignatureDoesNotMatch',
      'The provided x-amz-content-sha256 header does not match what was computed.',
    );
  return { signedAt };
}

/** The signature the caller should have sent, computed over the headers it says it signed. */
async function expectedSignature(
  req: ReceivedRequest,
  auth: Authorization,
  session: Session,
  signedAt: number,
) {
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const value = single(req.headers[name]);
    if (value !== undefined) headers[name] = value;
  }
  const q = req.target.indexOf('?');
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    credentials: session,
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'https:',
      hostname: headers.host ?? '',
      path: q < 0 ? req.target : req.target.slice(0, q),
      query: queryOf(req.target),
      headers,
      body: req.body.length === 0 ? undefined : req.body,
    },
    { signingDate: new Date(signedAt), signableHeaders: new Set(auth.signedHeaders) },
  );
  const authorization = String(signed.headers.authorization ?? '');
  return {
    signature: /Signature=([0-9a-f]+)/.exec(authorization)?.[1] ?? '',
    signedHeaders: /SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? '',
  };
}

const sameHex = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Who signed the request, or why AWS would refuse it before looking at any policy. */
export async function verifySignature(
  req: ReceivedRequest,
  sessions: Sessions,
  expected: Expected,
): Promise<Verification> {
  const header = single(req.headers.authorization);
  if (!header) return fail('MissingAuthenticationToken', 'Request is missing Authentication Token');
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') return fail('IncompleteSignature', auth);
  const session = sessions.find(auth.accessKeyId);
  if (!session) return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  const checked = precheck(req, auth, session, expected);
  if ('ok' in checked) return checked;
  const computed = await expectedSignature(req, auth, session, checked.signedAt);
  if (computed.signedHeaders !== auth.signedHeaders.join(';') || !sameHex(computed.signature, auth.signature))
    return fail('SignatureDoesNotMatch', MISMATCH);
  return { ok: true, session, region: auth.region, service: auth.service };
}
