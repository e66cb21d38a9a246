import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Fleet } from './types';
import { resolveFleet } from './validate';

/** Thrown when a fleet file cannot be read at all (missing, or fails to load). */
export class FleetFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetFileError';
  }
}

/** `line:column` (both from 1) of character `index` of `text`. */
function lineColumn(text: string, index: number): string {
  const before = text.slice(0, index).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

/**
 * Where JSON.parse gave up in `text`: Node 20's messages name the token but not always where it is.
 * Every prefix of a document up to its first bad character fails only for ending early (at its end),
 * so the shortest prefix that fails otherwise ends at that character.
 */
function jsonErrorAt(text: string): number {
  const failsEarly = (end: number) => {
    try {
      JSON.parse(text.slice(0, end));
      return false;
    } catch (err) {
      const { message } = err as Error;
      return !/end of JSON input/.test(message) && !message.includes(`at position ${end}`);
    }
  };
  let [low, high] = [0, text.length];
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (failsEarly(mid + 1)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * The parser's own words, with `file:line:column`: tsx (esbuild) reports "Transform failed with N error(s):"
 * and then `<path>:<line>:<column>: ERROR: <text>` per error; JSON gets its position found; an error thrown
 * while a module runs is placed at its frame in the file.
 */
function describeLoadError(err: Error, file: string, abs: string, text: string): string {
  const located = [...err.message.matchAll(/^.*:(\d+):(\d+): ERROR: (.*)$/gm)].map(
    ([, line, column, message]) => `${file}:${line}:${column}: ${message}`,
  );
  if (located.length > 0) return located.join('\n');
  const first = err.message.split('\n')[0];
  if (abs.endsWith('.json')) return `${file}:${lineColumn(text, jsonErrorAt(text))}: ${first}`;
  const frame = err.stack?.split('\n').find((l) => l.includes(abs));
  const at = frame && new RegExp(`${abs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`).exec(frame);
  return at ? `${file}:${at[1]}:${at[2]}: ${first}` : `${file}: ${first}`;
}

/**
 * Loads, validates and normalises a fleet file (`.ts`, `.js` or `.json`). TypeScript files need a
 * TypeScript-aware loader (tsx), which both the CDK app and the CLI register.
 */
export function loadFleet(file: string): Fleet {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new FleetFileError(`fleet file not found: ${file}`);
  let mod: unknown;
  const text = fs.readFileSync(abs, 'utf8');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- fleet files are loaded by path at run time
    mod = abs.endsWith('.json') ? JSON.parse(text) : require(abs);
  } catch (err) {
    throw new FleetFileError(
      `fleet file ${file} could not be loaded: ${describeLoadError(err as Error, file, abs, text)}`,
    );
  }
  const raw = (mod as { default?: unknown }).default ?? mod;
  return resolveFleet(raw, path.relative(process.cwd(), abs) || file);
}
