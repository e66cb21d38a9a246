import * as net from 'node:net';

import { FunctionUrlServer, type UrlInvoke } from '../../../lib/local/lambda/function-url-server';

let server: FunctionUrlServer;
let port: number;

beforeAll(async () => {
  server = new FunctionUrlServer({ invoke: async () => ({ statusCode: 200, body: '{}' }) });
  port = Number(new URL(await server.start()).port);
});

afterAll(() => server.stop());

/**
 * Writes raw bytes and reads until the server closes the connection; `keepOpen` leaves the client's
 * side open, so only the server can end the exchange.
 */
function raw(request: Buffer, options: { port?: number; keepOpen?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options.port ?? port, '127.0.0.1', () =>
      options.keepOpen ? socket.write(request) : socket.end(request),
    );
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

describe('bounded the way API Gateway and a BUFFERED function URL bound a request', () => {
  const MB = 1024 * 1024;
  let bounded: FunctionUrlServer;
  let boundedPort: number;
  let respond: UrlInvoke;

  /** A server with the default limits, or a short integration timeout for the tests of that timeout. */
  async function serve(requestTimeoutMs?: number): Promise<void> {
    bounded = new FunctionUrlServer({ invoke: (event) => respond(event), requestTimeoutMs });
    boundedPort = Number(new URL(await bounded.start()).port);
  }

  beforeEach(() => {
    respond = async () => ({ statusCode: 200, body: '{}' });
  });

  afterEach(() => bounded.stop());

  /**
   * Sends `head`, then body bytes for as long as the server takes them, and resolves with the answer
   * once the server closes the connection. The body never ends on its own.
   */
  function endless(head: string, chunk: (bytes: Buffer) => Buffer = (b) => b): Promise<string> {
    return new Promise((resolve) => {
      const socket = net.connect(boundedPort, '127.0.0.1');
      const block = Buffer.alloc(64 * 1024, 'x');
      let answer = '';
      let open = true;
      const pump = () => {
        while (open && socket.write(chunk(block)));
      };
      socket.on('connect', () => {
        socket.write(head);
        pump();
      });
      socket.on('drain', pump);
      socket.setEncoding('latin1').on('data', (text: string) => (answer += text));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        open = false;
        resolve(answer);
      });
    });
  }

  test('a declared Content-Length over 6 MB gets 413 before any of the body is read', async () => {
    await serve();
    const answer = split(
      await endless(`POST /orders HTTP/1.1\r\nhost: x\r\ncontent-length: ${50 * MB}\r\n\r\n`),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(JSON.parse(answer.body)).toEqual({ message: 'Payload Too Large' });
    // The headers and at most what one read of the socket brought in with them.
    expect(bounded.bytesRead).toBeLessThan(256 * 1024);
  });

  test('a chunked body that never ends is cut off with 413 once past 6 MB, little read beyond it', async () => {
    await serve();
    const answer = split(
      await endless('POST /orders HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n', (block) =>
        Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')]),
      ),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(bounded.bytesRead).toBeGreaterThan(6 * MB);
    expect(bounded.bytesRead).toBeLessThan(6 * MB + 512 * 1024);
  });

  test('a request whose body is not complete within the integration timeout is answered 408 and closed', async () => {
    await serve(50);
    const answer = split(
      await raw(Buffer.from('POST /orders HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n12345'), {
        port: boundedPort,
        keepOpen: true,
      }),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 408 Request Timeout');
  });

  test('a function that does not answer within the integration timeout: 504, and the connection closed', async () => {
    respond = () => new Promise(() => undefined);
    await serve(50);
    const answer = split(
      await raw(Buffer.from('GET /orders HTTP/1.1\r\nhost: x\r\n\r\n'), {
        port: boundedPort,
        keepOpen: true,
      }),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 504 Gateway Timeout');
  });

  test('a response over 6 MB is refused as Lambda refuses it: 502', async () => {
    respond = async () => ({ statusCode: 200, body: 'x'.repeat(6 * MB + 1) });
    await serve();
    const answer = split(
      await raw(Buffer.from('GET /orders HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'), {
        port: boundedPort,
      }),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 502 Bad Gateway');
  });

  test('a body just under the limit is served', async () => {
    await serve();
    const body = Buffer.alloc(6 * MB - 1024, 'x');
    const answer = split(
      await raw(
        Buffer.concat([
          Buffer.from(
            `POST /orders HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n`,
          ),
          body,
        ]),
        { port: boundedPort },
      ),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 200 OK');
  });
});
