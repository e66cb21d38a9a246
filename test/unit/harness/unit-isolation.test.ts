/** The unit project refuses to start what it runs without (`harness/unit-isolation.ts`). */
import { execSync, spawn, spawnSync } from 'node:child_process';

import { DynamoDbLocal } from '../../../lib/local/services/dynamodb-local';
import { FauxqsServer } from '../../../lib/local/services/fauxqs';

const BELONGS =
  /the unit project runs without Java and Chromium; a test that needs DynamoDB Local or fauxqs belongs in test\/integration/;

test('starting DynamoDB Local fails, naming Java and where the test belongs', async () => {
  await expect(new DynamoDbLocal().start()).rejects.toThrow(/a unit test started Java \(DynamoDB Local\)/);
  await expect(new DynamoDbLocal().start()).rejects.toThrow(BELONGS);
});

test('starting fauxqs fails the same way', async () => {
  await expect(new FauxqsServer().start()).rejects.toThrow(/a unit test started fauxqs/);
});

test('java, by any launcher, and Chromium are refused', () => {
  expect(() => spawnSync('java', ['-version'])).toThrow(/started Java .*`java -version`/);
  expect(() => spawn('/usr/lib/jvm/java-17-openjdk-amd64/bin/java', ['-jar', 'x.jar'])).toThrow(/Java/);
  expect(() => execSync('java -version')).toThrow(/Java/);
  expect(() => spawn('/usr/bin/chromium', ['--headless'])).toThrow(
    /a unit test started Chromium.*one that needs Chromium in test\/e2e/,
  );
});

test('other child processes start as usual', () => {
  const node = spawnSync(process.execPath, ['-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
  expect([node.status, node.stdout]).toEqual([0, 'ok']);
});
