/**
 * One execution environment of a local function version: a worker thread running
 * worker-bootstrap.js with the function's own `process.env`, one invocation at a time.
 */
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

import type { FunctionError } from './invocation';

/** The bootstrap every worker runs: a plain CommonJS file, so a worker needs no TypeScript loader. */
const BOOTSTRAP_FILE = path.join(__dirname, 'worker-bootstrap.js');

/** What the bootstrap sends back. */
export type WorkerMessage =
  | { type: 'ready'; moduleMs: number }
  | ({ type: 'init-error' } & FunctionError)
  | { type: 'done'; id: number; payload?: string; error?: FunctionError };

/** What a function version's environments are started with. */
export interface EnvironmentSpec {
  readonly name: string;
  readonly version: string;
  readonly handlerFile: string;
  readonly handlerExport: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly memoryMb?: number;
  readonly runtime?: string;
  readonly region: string;
}

/** The environment variables Lambda sets around the function's own (the reserved ones win). */
export function lambdaEnvironment(spec: EnvironmentSpec): Record<string, string> {
  const { name, version, handlerFile, memoryMb, region } = spec;
  const module = path.basename(handlerFile).replace(/\.(c|m)?js$/, '');
  return {
    // Lambda gives every function credentials; the local services accept any.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    LANG: 'en_US.UTF-8',
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    ...spec.environment,
    // Reserved: a function cannot set these.
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime ?? `nodejs${process.versions.node.split('.')[0]}.x`}`,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: version,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb ?? 128),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/[${version}]`,
    LAMBDA_TASK_ROOT: path.dirname(handlerFile),
    _HANDLER: `${module}.${spec.handlerExport}`,
  };
}

/**
 * Starts a worker on the bootstrap. Returns the Node flags it took: NODE_OPTIONS may hold
 * process-wide flags a worker thread cannot take, which are then dropped (and logged).
 */
export function startWorker(
  spec: EnvironmentSpec,
  env: Readonly<Record<string, string>>,
  execArgv: readonly string[],
  log: (line: string) => void,
): { worker: Worker; execArgv: string[] } {
  const create = (flags: string[]): Worker =>
    new Worker(BOOTSTRAP_FILE, {
      env,
      name: `${spec.name}:${spec.version}`,
      execArgv: flags,
      stdout: true,
      stderr: true,
      ...(spec.memoryMb !== undefined && { resourceLimits: { maxOldGenerationSizeMb: spec.memoryMb } }),
      workerData: {
        handlerFile: spec.handlerFile,
        handlerExport: spec.handlerExport,
        handlerModule: path.basename(spec.handlerFile).replace(/\.(c|m)?js$/, ''),
        functionName: spec.name,
        functionVersion: spec.version,
        memoryMb: spec.memoryMb ?? 128,
        logGroupName: `/aws/lambda/${spec.name}`,
        logStreamName: `local/[${spec.version}]`,
      },
    });
  let worker: Worker;
  let flags = [...execArgv];
  try {
    worker = create(flags);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    log(`NODE_OPTIONS flags ${flags.join(' ')} do not apply to a worker thread: ignored`);
    flags = [];
    worker = create(flags);
  }
  pipeLines(worker.stdout, log);
  pipeLines(worker.stderr, log);
  return { worker, execArgv: flags };
}

/** Sends a stream to `log` line by line. */
function pipeLines(stream: Readable, log: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) log(line);
  });
  stream.on('end', () => {
    if (partial) log(partial);
    partial = '';
  });
}

/** What killed a worker, as the invocation reports it. */
export function crashOf(error: Error & { code?: string }): FunctionError {
  return error.code === 'ERR_WORKER_OUT_OF_MEMORY'
    ? { errorType: 'Runtime.OutOfMemory', errorMessage: error.message }
    : { errorType: error.name || 'Error', errorMessage: error.message };
}
