#!/usr/bin/env node
/**
 * The CDK app: reads the fleet file and the context once, then builds the router stack and one
 * stack per cell. Context: `-c config=<fleet file>`, `-c cells=a,b`, `-c release=<label>`, and from the
 * release CLI `-c deployId=<stamp>` (each deploy's own).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';

import { FleetFileError, FleetValidationError, loadFleet } from '../lib/config';
import { addBulkheadStacks, CellSelectionError } from '../lib/infra/bulkhead-app';

const KNOWN_ERRORS = [FleetValidationError, FleetFileError, CellSelectionError];

function main(): void {
  const app = new App();
  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return value === undefined || value === '' ? undefined : String(value);
  };
  const fleet = loadFleet(context('config') ?? path.join(__dirname, '..', 'cells.config.ts'));
  const selected = context('cells')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  addBulkheadStacks(app, {
    fleet,
    selectedCells: selected,
    release: context('release') ?? `v${pkg.version}`,
    deployId: context('deployId'),
    nag: context('nag') !== 'false',
  });
  app.synth();
}

try {
  main();
} catch (err) {
  if (KNOWN_ERRORS.some((E) => err instanceof E)) {
    // A broken fleet is the user's input, not a crash: say what is wrong, no stack trace.
    console.error(`bulkhead: ${(err as Error).message}`);
    process.exit(1);
  }
  throw err;
}
