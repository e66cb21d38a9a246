import * as net from 'node:net';

import { FunctionUrlServer } from '../../../lib/local/lambda/function-url-server';

let server: FunctionUrlServer;
let port: number;

beforeAll(async () => {
  server = new FunctionUrlServer({ invoke: async () => ({ statusCode: 200, body: '{}' }) });
  port = Number(new URL(await server.start()).port);
});

afterAll(() => server.stop());

/** Writes raw bytes and reads until the server closes the connection. */
function raw(request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const split = (answer: string) => {
  const [head, body] = answer.split('\r\n\r\n');
  return { statusLine: head.split('\r\n')[0], head, body };
};

test('a request line Node refuses (raw UTF-8 in the path) gets a JSON 400, not a bare one', async () => {
  const answer = split(await raw(Buffer.from('GET /é HTTP/1.1\r\nhost: x\r\n\r\n', 'utf8')));
  expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
  expect(answer.head).toMatch(/content-type: application\/json/i);
  expect(JSON.parse(answer.body)).toEqual({ message: 'Bad Request' });
});

test('headers over the 16 KiB limit get a JSON 431', async () => {
  const answer = split(
    await raw(Buffer.from(`GET / HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 'latin1')),
  );
  expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
  expect(JSON.parse(answer.body)).toEqual({ message: 'Request Header Fields Too Large' });
});

test('well-formed requests are unaffected', async () => {
  const answer = split(await raw(Buffer.from('GET /x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')));
  expect(answer.statusLine).toBe('HTTP/1.1 200 OK');
});
