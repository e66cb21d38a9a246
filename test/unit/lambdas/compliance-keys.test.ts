import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

import { EnvCredentials, SecretsManagerCredentials } from '../../../lambdas/shared/compliance-keys';
import { parseIntegrations } from '../../../lib/contracts/integrations';

const secrets = mockClient(SecretsManagerClient);
const integration = parseIntegrations(
  JSON.stringify({
    greenleaf: {
      baseUrl: 'https://x.test',
      ratePerSecond: 5,
      burst: 1,
      apiKeySecret: 'bulkhead/compliance/greenleaf',
      vendorKeySecret: 'bulkhead/compliance/vendor',
    },
  }),
).greenleaf;

beforeEach(() => secrets.reset());

test('reads the vendor key and the user key from their secrets and caches each for five minutes', async () => {
  secrets.on(GetSecretValueCommand, { SecretId: 'bulkhead/compliance/greenleaf' }).resolves({
    SecretString: 'user-key-1',
  });
  secrets.on(GetSecretValueCommand, { SecretId: 'bulkhead/compliance/vendor' }).resolves({
    SecretString: 'vendor-key-1',
  });
  let now = 0;
  const provider = new SecretsManagerCredentials(
    new SecretsManagerClient({ region: 'us-east-1' }),
    () => now,
  );
  const expected = { vendorKey: 'vendor-key-1', userKey: 'user-key-1' };
  expect(await provider.credentials('greenleaf', integration)).toEqual(expected);
  now = 4 * 60 * 1000;
  expect(await provider.credentials('greenleaf', integration)).toEqual(expected);
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  expect(
    secrets
      .commandCalls(GetSecretValueCommand)
      .map((c) => c.args[0].input.SecretId)
      .sort(),
  ).toEqual(['bulkhead/compliance/greenleaf', 'bulkhead/compliance/vendor']);
  now = 6 * 60 * 1000;
  await provider.credentials('greenleaf', integration);
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(4);
});

test('a secret without a string value is an error naming the secret', async () => {
  secrets.on(GetSecretValueCommand).resolves({});
  const provider = new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' }));
  await expect(provider.credentials('greenleaf', integration)).rejects.toThrow(/bulkhead\/compliance\//);
});

test('the environment (the local platform) wins over Secrets Manager when it has both keys', async () => {
  const provider = new EnvCredentials(
    new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' })),
    { COMPLIANCE_VENDOR_KEY: 'local-vendor', COMPLIANCE_USER_KEY_GREENLEAF: 'local-user' },
  );
  expect(await provider.credentials('greenleaf', integration)).toEqual({
    vendorKey: 'local-vendor',
    userKey: 'local-user',
  });
  expect(secrets.calls()).toHaveLength(0);
});

test('with only one of the keys in the environment, both come from Secrets Manager', async () => {
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 'from-secrets' });
  const provider = new EnvCredentials(
    new SecretsManagerCredentials(new SecretsManagerClient({ region: 'us-east-1' })),
    { COMPLIANCE_USER_KEY_GREENLEAF: 'local-user' },
  );
  expect(await provider.credentials('greenleaf', integration)).toEqual({
    vendorKey: 'from-secrets',
    userKey: 'from-secrets',
  });
});
