/**
 * Runs before every file of the jest `unit` project (`setupFilesAfterEnv` in jest.config.js). Unit tests
 * run where Java and Chromium are absent, so one that starts DynamoDB Local, fauxqs or a browser fails at
 * once, saying what it started and where such a test belongs, instead of passing only on a full machine.
 * Other child processes (node running a CLI or a simulator) are left alone.
 */
import childProcess from 'node:child_process';
import * as path from 'node:path';

/** What a command line would start that the unit project does without, if anything. */
function refusedService(command: string, args: readonly unknown[] = []): string | undefined {
  const line = [command, ...args].join(' ');
  const program = path.basename(command);
  if (program === 'java' || /DynamoDBLocal/.test(line)) return 'Java (DynamoDB Local)';
  if (/fauxqs/.test(line)) return 'fauxqs';
  if (/chrom(e|ium)|headless_shell/i.test(program)) return 'Chromium';
  return undefined;
}

class UnitIsolationError extends Error {
  constructor(what: string, line: string) {
    super(
      `a unit test started ${what} (\`${line.slice(0, 160)}\`): the unit project runs without Java and ` +
        'Chromium; a test that needs DynamoDB Local or fauxqs belongs in test/integration, one that needs ' +
        'Chromium in test/e2e',
    );
    this.name = 'UnitIsolationError';
  }
}

function refuse(command: string, args: readonly unknown[]): void {
  const what = refusedService(command, args);
  if (what) throw new UnitIsolationError(what, [command, ...args].join(' '));
}

type Launcher = (command: string, ...rest: unknown[]) => unknown;
/** Launchers that take a file and an argument list. */
const FILE_LAUNCHERS = ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork'] as const;
/** Launchers that take one shell command line. */
const SHELL_LAUNCHERS = ['exec', 'execSync'] as const;

/**
 * Wraps the `child_process` launchers and returns what undoes it: the module object is shared by every
 * test file a jest worker runs, the other projects' files too in a multi-project run.
 */
function guardChildProcesses(): () => void {
  const launchers = childProcess as unknown as Record<string, Launcher>;
  const originals = new Map<string, Launcher>();
  const wrap = (name: string, check: (command: string, rest: unknown[]) => void) => {
    const original = launchers[name];
    originals.set(name, original);
    launchers[name] = function (this: unknown, command: string, ...rest: unknown[]) {
      check(command, rest);
      return original.call(this, command, ...rest);
    };
  };
  for (const name of FILE_LAUNCHERS) {
    wrap(name, (file, [args]) => refuse(file, Array.isArray(args) ? args : []));
  }
  for (const name of SHELL_LAUNCHERS) {
    wrap(name, (line) => {
      const [program = '', ...args] = line.trim().split(/\s+/);
      refuse(program, args);
    });
  }
  return () => originals.forEach((original, name) => (launchers[name] = original));
}

afterAll(guardChildProcesses());
