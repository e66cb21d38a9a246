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

/**
 * Loads, validates and normalises a fleet file (`.ts`, `.js` or `.json`). TypeScript files need a
 * TypeScript-aware loader (tsx), which both the CDK app and the CLI register.
 */
export function loadFleet(file: string): Fleet {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new FleetFileError(`fleet file not found: ${file}`);
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- fleet files are loaded by path at run time
    mod = abs.endsWith('.json') ? JSON.parse(fs.readFileSync(abs, 'utf8')) : require(abs);
  } catch (err) {
    throw new FleetFileError(
      `fleet file ${file} could not be loaded: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const raw = (mod as { default?: unknown }).default ?? mod;
  return resolveFleet(raw, path.relative(process.cwd(), abs) || file);
}
