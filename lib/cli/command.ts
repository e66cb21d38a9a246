/**
 * How a `bulkhead` command is declared (a {@link CommandSpec}: its words, summary, arguments, options,
 * examples and what it runs) and how the table of them becomes a commander program with `--help` on
 * every command and one exit code rule: 0 ok, 1 refused or failed, 2 bad usage.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import type { Io } from './io';
import { UsageError } from './io';

export interface OptionSpec {
  /** Commander flags: `--time-scale <n>`, `--json`, `--to <cell>`. The value is read as `opts.timeScale`. */
  readonly flags: string;
  readonly description: string;
  /** Turns the raw value into what the command reads; throws {@link InvalidArgumentError} (exit 2) on bad input. */
  readonly parse?: (raw: string) => unknown;
  /** The only values allowed (listed in the help). */
  readonly choices?: readonly string[];
  /** Shown in the help; the command still applies its own default. */
  readonly defaultText?: string;
  /** Missing is bad usage, found before the command reaches any target. */
  readonly required?: boolean;
}

export interface ArgumentSpec {
  /** `<tenant>` (required) or `[cellId]` (optional). */
  readonly name: string;
  readonly description: string;
  readonly choices?: readonly string[];
}

/** What a command runs on: the values commander parsed, where it writes, and what tests replace. */
export interface Invocation<D> {
  /** Positional arguments, in the order of the spec's `args`. */
  readonly args: readonly string[];
  /** Options by camel-cased long name (`--time-scale` → `timeScale`). */
  readonly opts: Readonly<Record<string, unknown>>;
  readonly io: Io;
  readonly deps: D;
}

export interface CommandSpec<D> {
  /** The words after `bulkhead`: `['status']`, `['drill', 'rollback']`. */
  readonly path: readonly [string] | readonly [string, string];
  /** One line, shown in the command list and at the top of its help. */
  readonly summary: string;
  readonly args?: readonly ArgumentSpec[];
  readonly options?: readonly OptionSpec[];
  /** Command lines shown under "Examples:" in the help (without the leading `bulkhead`). */
  readonly examples: readonly string[];
  /** Returns the exit code; throws {@link UsageError} for bad input (exit 2), anything else for a failure (exit 1). */
  readonly run: (call: Invocation<D>) => Promise<number>;
}

/** A word that groups subcommands (`local`, `drill`, `tenants`). */
export interface GroupSpec {
  readonly name: string;
  readonly summary: string;
}

/** Option parsers: a bad value is a usage error (exit 2) naming the option and what it allows. */
export const integerIn =
  (min: number, max: number) =>
  (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    return n;
  };

export const numberIn =
  (min: number, max: number, { minExclusive = false } = {}) =>
  (raw: string): number => {
    const n = Number(raw);
    const low = minExclusive ? n > min : n >= min;
    if (raw.trim() === '' || !Number.isFinite(n) || !low || n > max)
      throw new InvalidArgumentError(`must be a number ${minExclusive ? 'over' : 'from'} ${min} to ${max}`);
    return n;
  };

/** Free text that must say something (a reason that goes into the release log). */
export const nonEmptyText = (raw: string): string => {
  if (raw.trim() === '') throw new InvalidArgumentError('must say why (it goes into the release log)');
  return raw.trim();
};

/** `a,b` → `['a', 'b']` */
export const list = (raw: string): string[] =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The exit codes, for the top-level help (the README has the same table). */
export const EXIT_CODES = `Exit codes:
  0  ok
  1  refused or failed (a halted release, a refused move, a target that could not be reached)
  2  bad usage (unknown command or option, a bad value, a missing argument)`;

function option(spec: OptionSpec): Option {
  const description = spec.defaultText
    ? `${spec.description} (default: ${spec.defaultText})`
    : spec.description;
  const o = new Option(spec.flags, description);
  if (spec.choices) o.choices([...spec.choices]);
  if (spec.parse) o.argParser((raw: string) => spec.parse!(raw));
  if (spec.required) o.makeOptionMandatory();
  return o;
}

/** Errors say which command they come from, on one line, and point at its help. */
function configure(cmd: Command, io: Io, words: string): Command {
  return cmd
    .exitOverride()
    .helpCommand(false)
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
      outputError: (text, write) =>
        write(
          `${words}: ${text
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')} (see '${words} --help')`,
        ),
    });
}

/**
 * A word that only groups commands, run alone or with an unknown command after it: bad usage, on one line
 * (commander would print its whole help on stderr).
 */
function withoutCommand(cmd: Command): Command {
  return cmd
    .usage('<command> [options]')
    .argument('[command...]')
    .action(([word]: string[]) => {
      const known = cmd.commands.map((c) => c.name()).join(', ');
      throw new UsageError(
        `${word === undefined ? 'name a command' : `unknown command '${word}'`}: ${known}; see '${[...ancestry(cmd)].join(' ')} --help'`,
      );
    });
}

function* ancestry(cmd: Command): Generator<string> {
  if (cmd.parent) yield* ancestry(cmd.parent);
  yield cmd.name();
}

const examples = (lines: readonly string[]) =>
  `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ bulkhead ${l}`).join('\n')}`;

/** The commander program for a table of commands; `result.code` receives the exit code of the one that ran. */
export function buildProgram<D>(
  name: string,
  summary: string,
  groups: readonly GroupSpec[],
  commands: readonly CommandSpec<D>[],
  io: Io,
  deps: D,
  result: { code: number },
): Command {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length));
  const every = commands.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`).join('\n');
  const program = configure(new Command(name), io, name)
    .description(summary)
    .addHelpText(
      'after',
      `\nEvery command ('${name} <command> --help': its options and an example):\n${every}\n\n${EXIT_CODES}`,
    );
  const parents = new Map<string, Command>();
  const parentOf = (word: string): Command => {
    const group = groups.find((g) => g.name === word);
    if (!group) throw new Error(`command group '${word}' is not in the groups table`);
    let parent = parents.get(word);
    if (!parent) {
      parent = withoutCommand(
        configure(program.command(word), io, `${name} ${word}`).description(group.summary),
      );
      parents.set(word, parent);
    }
    return parent;
  };
  withoutCommand(program);
  for (const spec of commands) {
    const words = [name, ...spec.path].join(' ');
    const parent = spec.path.length === 2 ? parentOf(spec.path[0]) : program;
    const cmd = configure(parent.command(spec.path.at(-1)!), io, words)
      .description(spec.summary)
      .allowExcessArguments(false)
      .addHelpText('after', examples(spec.examples));
    for (const a of spec.args ?? []) {
      const argument = cmd.createArgument(a.name, a.description);
      if (a.choices) argument.choices([...a.choices]);
      cmd.addArgument(argument);
    }
    for (const o of spec.options ?? []) cmd.addOption(option(o));
    cmd.action(async (...params: unknown[]) => {
      const command = params.at(-1) as Command;
      const args = params.slice(0, -2).filter((a): a is string => typeof a === 'string');
      result.code = await spec.run({ args, opts: command.opts(), io, deps });
    });
  }
  return program;
}

/** Runs `argv` (the words after `bulkhead`) on the program; every outcome becomes an exit code. */
export async function runProgram(
  program: Command,
  argv: readonly string[],
  io: Io,
  result: { code: number },
) {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version asked for are answers; help shown because a subcommand was missing is bad usage.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
    }
    const words = ['bulkhead', ...commandWords(program, argv)].join(' ');
    // The first line is the reason; any further lines are its details (every problem of a fleet file).
    io.err(`${words}: ${(error as Error).message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/** The command words of `argv` that name a command of the program (`drill rollback` of `drill rollback --cell a`). */
function commandWords(program: Command, argv: readonly string[]): string[] {
  const words: string[] = [];
  let cmd = program;
  for (const word of argv) {
    const sub = cmd.commands.find((c) => c.name() === word);
    if (!sub) break;
    words.push(word);
    cmd = sub;
  }
  return words;
}
