/** One loopback port for HTTPS and plain HTTP: each request reaches the handler, which learns which. */
import * as http from 'node:http';
import * as https from 'node:https';

import { DualListener } from '../../../../lib/local/iam/dual-listener';
import { localCertificate } from '../../../../lib/local/iam/tls-certificate';

const certificate = localCertificate();

function get(url: string, options: https.RequestOptions): Promise<string> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, options, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve(body));
    });
    request.on('error', reject);
    request.setTimeout(5000, () => request.destroy(new Error(`no answer from ${url}`)));
  });
}

let listener: DualListener;

beforeAll(async () => {
  listener = new DualListener(certificate, (_req, res, secure) => res.end(secure ? 'tls' : 'plain'));
  await listener.start();
});
afterAll(() => listener.stop());

it('answers HTTPS (the local certificate trusted), on a fresh and on a kept-alive connection', async () => {
  const agent = new https.Agent({ ca: certificate.cert, keepAlive: true });
  try {
    expect(await get(listener.url, { agent })).toBe('tls');
    expect(await get(listener.url, { agent })).toBe('tls');
  } finally {
    agent.destroy();
  }
});

it('answers plain HTTP on the same port, as not secure', async () => {
  expect(await get(listener.url.replace(/^https:/, 'http:'), {})).toBe('plain');
});
