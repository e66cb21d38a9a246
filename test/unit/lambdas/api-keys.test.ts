import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

import { EnvApiKeyProvider, SecretsManagerApiKeyProvider } from '../../../lambdas/sync/api-keys';

const secrets = mockClient(SecretsManagerClient);
const integration = {
  baseUrl: 'https://x.test',
  ratePerSecond: 5,
  burst: 1,
  apiKeySecret: 'bulkhead/compliance/greenleaf',
};

beforeEach(() => secrets.reset());

test('reads the key from the named secret and caches it for five minutes', async () => {
  secrets.on(GetSecretValueCommand).resolves({ SecretString: 'metrc-key-1' });
  let now = 0;
  const provider = new SecretsManagerApiKeyProvider(
    new SecretsManagerClient({ region: 'us-east-1' }),
    () => now,
  );
  expect(await provider.apiKey('greenleaf', integration)).toBe('metrc-key-1');
  now = 4 * 60 * 1000;
  expect(await provider.apiKey('greenleaf', integration)).toBe('metrc-key-1');
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  expect(secrets.commandCalls(GetSecretValueCommand)[0].args[0].input).toEqual({
    SecretId: 'bulkhead/compliance/greenleaf',
  });
  now = 6 * 60 * 1000;
  await provider.apiKey('greenleaf', integration);
  expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
});

test('a secret without a string value is an error naming the secret', async () => {
  secrets.on(GetSecretValueCommand).resolves({});
  const provider = new SecretsManagerApiKeyProvider(new SecretsManagerClient({ region: 'us-east-1' }));
  await expect(provider.apiKey('greenleaf', integration)).rejects.toThrow(/bulkhead\/compliance\/greenleaf/);
});

test('the environment (the local platform) wins over Secrets Manager', async () => {
  const provider = new EnvApiKeyProvider(
    new SecretsManagerApiKeyProvider(new SecretsManagerClient({ region: 'us-east-1' })),
    {
      COMPLIANCE_API_KEY_GREENLEAF: 'local-key',
    },
  );
  expect(await provider.apiKey('greenleaf', integration)).toBe('local-key');
  expect(secrets.calls()).toHaveLength(0);
});
