import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { integrationsFile } from '../../../harness/integrations-file';
import { readIntegrations } from '../../../lambdas/shared/integrations';

const integration = { baseUrl: 'https://api.example.test', ratePerSecond: 5, burst: 2, apiKeySecret: 'k/a' };
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-integrations-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('the bundled integrations file is read and checked against the schema', () => {
  const read = readIntegrations(integrationsFile({ alpha: integration }));
  // Read with the schema's defaults: the license number is the tenant id unless one is set.
  expect(read).toEqual({ alpha: expect.objectContaining({ ...integration, licenseNumber: 'alpha' }) });
});

test('without a file named, the file beside the bundled handler is read', () => {
  expect(() => readIntegrations()).toThrow(
    `cannot read the integrations file ${path.join(__dirname, '..', '..', '..', 'lambdas', 'shared', 'integrations.json')}`,
  );
});

test.each([
  ['not JSON', '{"alpha":', 'is malformed'],
  [
    'a setting of the wrong type',
    JSON.stringify({ alpha: { ...integration, burst: 'two' } }),
    'is malformed',
  ],
  ['no base URL', JSON.stringify({ alpha: { ...integration, baseUrl: undefined } }), 'is malformed'],
])('a file with %s fails, naming the file', (_what, content, problem) => {
  const file = path.join(scratch, `${Math.random()}.json`);
  fs.writeFileSync(file, content);
  expect(() => readIntegrations(file)).toThrow(`the integrations file ${file} ${problem}`);
});

test('a cell handler whose integrations file is missing fails to load, naming the file', async () => {
  const env = { ...process.env };
  Object.assign(process.env, {
    CELL_ID: 'c',
    TABLE_NAME: 't',
    QUEUE_URL: 'q',
    INTEGRATIONS_FILE: path.join(scratch, 'absent.json'),
    AWS_REGION: 'us-east-1',
  });
  try {
    await expect(
      jest.isolateModulesAsync(async () => {
        await import('../../../lambdas/reconcile/handler');
      }),
    ).rejects.toThrow(`cannot read the integrations file ${path.join(scratch, 'absent.json')}`);
  } finally {
    process.env = env;
  }
});
