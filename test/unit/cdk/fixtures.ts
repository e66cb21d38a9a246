import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cxapi from 'aws-cdk-lib/cx-api';

import { loadFleet } from '../../../lib/config/load';
import type { Fleet } from '../../../lib/config/types';
import { addBulkheadStacks, BulkheadStacks } from '../../../lib/infra/bulkhead-app';

export const exampleFleet = (): Fleet => loadFleet(path.join(__dirname, '..', '..', '..', 'cells.config.ts'));

export interface BuiltFleet extends BulkheadStacks {
  readonly app: App;
  readonly fleet: Fleet;
  template(stackName: string): Template;
}

/** One scratch folder per test file for synthesized output, removed when the file is done. */
let scratch: string | undefined;
afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

/**
 * Builds the app as `bin/app.ts` does, without writing to the repo's cdk.out. Only the stacks named in
 * `bundled` have their functions bundled (esbuild, seconds each): the others' templates are the same but
 * for the asset hashes (CDK's `aws:cdk:bundling-stacks`).
 */
export function buildFleet(
  fleet: Fleet = exampleFleet(),
  selectedCells?: string[],
  nag = false,
  bundled: readonly string[] = [],
  deployId?: string,
): BuiltFleet {
  scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-test-'));
  const app = new App({
    outdir: fs.mkdtempSync(path.join(scratch, 'app-')),
    context: { [cxapi.BUNDLING_STACKS]: bundled },
  });
  const stacks = addBulkheadStacks(app, { fleet, selectedCells, release: 'v-test', nag, deployId });
  const templates = new Map<string, Template>();
  return {
    ...stacks,
    app,
    fleet,
    template(stackName: string) {
      const stack = [stacks.router, ...stacks.cells].find((s) => s.stackName === stackName);
      if (!stack) throw new Error(`no stack ${stackName}`);
      if (!templates.has(stackName)) templates.set(stackName, Template.fromStack(stack));
      return templates.get(stackName)!;
    },
  };
}
