/**
 * Loads a handler bundle as Lambda would (environment first, then the module) and invokes it once:
 * `node --import tsx harness/invoke-bundle-main.ts <request.json>`, where the file holds an
 * {@link InvokeRequest}; prints the handler's result as one JSON line. A process of its own, so what a
 * bundle installs when it loads (the X-Ray SDK's async hooks, patched `http`) stays out of the tests.
 */
import * as fs from 'node:fs';

export interface InvokeRequest {
  /** The bundle's absolute path. */
  readonly bundle: string;
  readonly environment: Record<string, string>;
  /** `_X_AMZN_TRACE_ID` during the invocation (Lambda sets it per invocation, after the module loaded). */
  readonly traceHeader?: string;
  readonly event: unknown;
}

type Handler = (event: unknown) => Promise<unknown>;

async function main(): Promise<void> {
  const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as InvokeRequest;
  Object.assign(process.env, request.environment);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { handler } = require(request.bundle) as { handler: Handler };
  if (request.traceHeader) process.env._X_AMZN_TRACE_ID = request.traceHeader;
  process.stdout.write(`${JSON.stringify(await handler(request.event))}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`invocation failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
