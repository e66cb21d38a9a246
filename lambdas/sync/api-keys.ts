import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import type { IntegrationConfig } from '../../lib/contracts/integrations';

import { apiKeyEnvName } from './decide';

/** Where a tenant's compliance API key comes from. */
export interface ApiKeyProvider {
  apiKey(tenantId: string, integration: IntegrationConfig): Promise<string>;
}

/** Keys are cached this long, so a rotated key is picked up without a cold start. */
const SECRET_TTL_MS = 5 * 60 * 1000;

/** Reads the secret named in the integration's `apiKeySecret` from AWS Secrets Manager, with a short cache. */
export class SecretsManagerApiKeyProvider implements ApiKeyProvider {
  private readonly cache = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly client: SecretsManagerClient = new SecretsManagerClient({}),
    private readonly now: () => number = Date.now,
  ) {}

  async apiKey(tenantId: string, integration: IntegrationConfig): Promise<string> {
    const cached = this.cache.get(integration.apiKeySecret);
    if (cached && cached.until > this.now()) return cached.value;
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: integration.apiKeySecret }));
    if (!out.SecretString) {
      throw new Error(`secret '${integration.apiKeySecret}' for tenant ${tenantId} has no string value`);
    }
    this.cache.set(integration.apiKeySecret, { value: out.SecretString, until: this.now() + SECRET_TTL_MS });
    return out.SecretString;
  }
}

/** The key from the environment when it is there (the local platform), else from `fallback`. */
export class EnvApiKeyProvider implements ApiKeyProvider {
  constructor(
    private readonly fallback: ApiKeyProvider = new SecretsManagerApiKeyProvider(),
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async apiKey(tenantId: string, integration: IntegrationConfig): Promise<string> {
    const key = this.env[apiKeyEnvName(tenantId)];
    return key ? key : this.fallback.apiKey(tenantId, integration);
  }
}
