/**
 * One cell's tenant API (the real handler) behind a Function URL server, in its own process because
 * the handler reads its environment once, at load. Run with `node --import tsx` and the cell's
 * environment; prints `{"url": ...}` as one JSON line once it listens, and exits on SIGTERM.
 */
import { handler } from '../lambdas/api/handler';
import { FunctionUrlServer } from '../lib/local/lambda/function-url-server';

const server = new FunctionUrlServer({ invoke: (event) => handler(event) });

process.on('SIGTERM', () => {
  void server.stop().finally(() => process.exit(0));
});

server.start().then(
  (url) => process.stdout.write(`${JSON.stringify({ url })}\n`),
  (error: Error) => {
    process.stderr.write(`cell server did not start: ${error.message}\n`);
    process.exit(1);
  },
);
