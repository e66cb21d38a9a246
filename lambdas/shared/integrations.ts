/**
 * The cell's integrations, read once at module load from the file the cell stack bundles beside the
 * handler (`INTEGRATIONS_FILE`, see `lib/infra/cell/cell-stack.ts`). `INTEGRATIONS_FILE` in the
 * environment names another copy: the local platform's, whose URLs point at its compliance simulator.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  INTEGRATIONS_FILE,
  type IntegrationConfig,
  parseIntegrations,
} from '../../lib/contracts/integrations';

/** Reads and checks the integrations file; throws, naming the file, when it is missing or malformed. */
export function readIntegrations(
  file = path.join(__dirname, INTEGRATIONS_FILE),
): Record<string, IntegrationConfig> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the integrations file ${file}: ${(error as Error).message}`);
  }
  try {
    return parseIntegrations(text);
  } catch (error) {
    throw new Error(`the integrations file ${file} is malformed: ${(error as Error).message}`);
  }
}
