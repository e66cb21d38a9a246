/** Signs an HTTP request with SigV4, as an SDK client would: for the platform's own calls as the operator. */
import { SignatureV4 } from '@smithy/signature-v4';

import { NodeSha256 } from './node-sha256';
import type { SessionCredentials } from './sessions';

export interface RequestToSign {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** The request's headers with `host`, `x-amz-date`, the session token and the `authorization` added. */
export async function signRequest(
  request: RequestToSign,
  credentials: SessionCredentials,
  region: string,
  service = 'lambda',
): Promise<Record<string, string>> {
  const url = new URL(request.url);
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : [prev].flat().concat(v);
  }
  const signer = new SignatureV4({ service, region, credentials, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query,
    headers: { ...request.headers, host: url.host },
    body: request.body,
  });
  return signed.headers as Record<string, string>;
}
