import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { LocalService, type ServiceCommand } from './process-registry';

/**
 * Runs fauxqs's Fastify app on 127.0.0.1 only: its own `startFauxqs()` and CLI always listen on
 * 0.0.0.0. It also exits when stdin closes, that is when the parent has died, however it died.
 */
const RUNNER = `
const [appUrl, port] = process.argv.slice(1);
const { buildApp } = await import(appUrl);
const app = buildApp({ logger: false });
await app.listen({ host: '127.0.0.1', port: Number(port) });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface FauxqsServerOptions {
  /** 0 picks a free port on the first start and keeps it across restarts. @default 0 */
  readonly port?: number;
}

/** A real SQS-protocol server (fauxqs, in memory) in a child `node` process. */
export class FauxqsServer extends LocalService {
  constructor(options: FauxqsServerOptions = {}) {
    super('fauxqs', options.port);
  }

  protected async command(port: number): Promise<ServiceCommand> {
    // The parent's NODE_OPTIONS (--inspect, a loader) would fight over ports or slow the child down.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    return {
      command: process.execPath,
      args: ['--input-type=module', '-e', RUNNER, pathToFileURL(fauxqsApp()).href, String(port)],
      env,
    };
  }

  protected async probe(endpoint: string): Promise<void> {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) throw new Error(`GET /health answered ${response.status}`);
  }
}

/** fauxqs is ESM-only with no `require` export, so find its entry file the way Node would find the package. */
function fauxqsApp(): string {
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const pkg = path.join(dir, 'fauxqs', 'package.json');
    if (fs.existsSync(pkg)) {
      const { main } = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { main: string };
      return path.join(dir, 'fauxqs', main);
    }
  }
  throw new Error('The fauxqs package is not installed: run `npm ci`');
}
