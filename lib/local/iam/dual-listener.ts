/**
 * One loopback port that answers both HTTPS and plain HTTP, as an AWS endpoint does (`https://sqs…` and
 * `http://sqs…` reach the same service): the first byte of a connection says which (0x16 opens a TLS
 * handshake). Each handler learns whether its request came over TLS, which is what `aws:SecureTransport`
 * reports.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';

import { listenOnLoopback } from '../services/ports';

import type { LocalCertificate } from './tls-certificate';

export type SecureAwareHandler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  secure: boolean,
) => void;

const TLS_HANDSHAKE = 0x16;

export class DualListener {
  private front?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private port: number;

  constructor(
    private readonly certificate: LocalCertificate,
    private readonly handler: SecureAwareHandler,
    port = 0,
  ) {
    this.port = port;
  }

  /** `https://127.0.0.1:<port>` (the same port speaks plain HTTP too). */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<string> {
    const plain = http.createServer((req, res) => this.handler(req, res, false));
    const secure = https.createServer(this.certificate, (req, res) => this.handler(req, res, true));
    for (const server of [plain, secure]) server.keepAliveTimeout = 5000;
    const front = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      socket.once('readable', () => {
        const first = socket.read(1) as Buffer | null;
        if (!first) {
          socket.destroy();
          return;
        }
        socket.unshift(first);
        (first[0] === TLS_HANDSHAKE ? secure : plain).emit('connection', socket);
      });
    });
    const address = await listenOnLoopback(front, this.port);
    this.port = Number(new URL(address).port);
    this.front = front;
    return this.url;
  }

  async stop(): Promise<void> {
    const front = this.front;
    if (!front) return;
    this.front = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => front.close(() => resolve()));
  }
}
