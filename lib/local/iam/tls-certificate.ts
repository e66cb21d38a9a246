/**
 * A self-signed certificate for the local AWS endpoints (127.0.0.1 and localhost), made with `node:crypto`
 * alone: an ECDSA P-256 key, and an X.509 v3 certificate (RFC 5280) encoded here in DER. The functions
 * trust it as their CA (`NODE_EXTRA_CA_CERTS`), as a Lambda function trusts Amazon's; nothing else does.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface LocalCertificate {
  /** PEM. */
  readonly cert: string;
  /** PEM (PKCS#8). */
  readonly key: string;
}

/** A DER TLV: tag, definite length, contents. */
function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const length =
    body.length < 0x80
      ? Buffer.from([body.length])
      : body.length < 0x100
        ? Buffer.from([0x81, body.length])
        : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const sequence = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, content: Buffer) => tlv(0xa0 + n, content);

function integer(value: Buffer): Buffer {
  // A positive INTEGER: a leading 1 bit would make it negative.
  return tlv(0x02, value[0] & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime `YYMMDDHHMMSSZ` (dates before 2050). */
function utcTime(date: Date): Buffer {
  const iso = date.toISOString();
  const text =
    iso.slice(2, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19);
  return tlv(0x17, Buffer.from(`${text}Z`, 'ascii'));
}

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

function extensions(): Buffer {
  const basicConstraints = sequence(oid('2.5.29.19'), bool(true), octets(sequence(bool(true))));
  // keyUsage: digitalSignature (bit 0) and keyCertSign (bit 5).
  const keyUsage = sequence(oid('2.5.29.15'), bool(true), octets(tlv(0x03, Buffer.from([0x02, 0x84]))));
  const altNames = sequence(
    oid('2.5.29.17'),
    octets(sequence(tlv(0x87, Buffer.from([127, 0, 0, 1])), tlv(0x82, Buffer.from('localhost', 'ascii')))),
  );
  return explicit(3, sequence(basicConstraints, keyUsage, altNames));
}

const pem = (label: string, der: Buffer): string =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END ${label}-----\n`;

/** A new key and certificate, valid from a day ago for `days` days. */
export function localCertificate(now = new Date(), days = 30): LocalCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const name = sequence(set(sequence(oid('2.5.4.3'), utf8('Bulkhead local AWS endpoints'))));
  const from = new Date(now.getTime() - 86_400_000);
  const until = new Date(now.getTime() + days * 86_400_000);
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    ECDSA_WITH_SHA256,
    name,
    sequence(utcTime(from), utcTime(until)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions(),
  );
  const signature = sign('sha256', tbs, privateKey);
  const cert = sequence(tbs, ECDSA_WITH_SHA256, bits(signature));
  return {
    cert: pem('CERTIFICATE', cert),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
