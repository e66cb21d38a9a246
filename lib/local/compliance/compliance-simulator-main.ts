import { ComplianceSimulator } from './compliance-simulator';

/**
 * Runs the compliance simulator as its own process (the local platform's child):
 * `node --import tsx lib/local/compliance/compliance-simulator-main.ts [--port N]`. Prints one JSON line
 * `{"url": "..."}` once listening, so the parent knows where it is; stops on SIGTERM/SIGINT.
 */
export async function main(argv: readonly string[]): Promise<ComplianceSimulator> {
  const simulator = new ComplianceSimulator({ port: parsePort(argv) });
  const url = await simulator.start();
  const stop = (): void => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    simulator.stop().catch((error: unknown) => {
      process.stderr.write(`compliance simulator: stop failed: ${String(error)}\n`);
      process.exitCode = 1;
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  return simulator;
}

function parsePort(argv: readonly string[]): number {
  const index = argv.indexOf('--port');
  if (index === -1) return 0;
  const value = argv[index + 1];
  const port = Number(value);
  if (value === undefined || !/^\d+$/.test(value) || port > 65535) {
    throw new Error(`--port must be an integer from 0 to 65535, got ${value ?? 'nothing'}`);
  }
  return port;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`compliance simulator: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
