/**
 * A cell's integrations as the bundle carries them (`INTEGRATIONS_FILE`), written to a temp file for
 * handlers loaded outside a bundle (tests, benchmarks): set `INTEGRATIONS_FILE` to the path it returns.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { INTEGRATIONS_FILE, type IntegrationSettingsInput } from '../lib/contracts/integrations';

export function integrationsFile(integrations: Readonly<Record<string, IntegrationSettingsInput>>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-integrations-'));
  const file = path.join(dir, INTEGRATIONS_FILE);
  fs.writeFileSync(file, JSON.stringify(integrations));
  return file;
}
