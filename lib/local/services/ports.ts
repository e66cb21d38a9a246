import * as net from 'node:net';

const LOOPBACK = '127.0.0.1';

/** A port that was free on the loopback interface a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether something could listen on `port` on the loopback interface now. A listener on the
 * wildcard address (as DynamoDB Local's is) also makes this false.
 */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

/** Starts `server` listening on `port` of the loopback interface (0: any free one); resolves with its URL. */
export function listenOnLoopback(server: net.Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, LOOPBACK, () => {
      server.off('error', reject);
      resolve(`http://${LOOPBACK}:${(server.address() as net.AddressInfo).port}`);
    });
  });
}
