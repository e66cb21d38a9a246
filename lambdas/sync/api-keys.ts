import type { IntegrationConfig } from '../shared/integrations';

import { apiKeyEnvName } from './decide';

/** Where a tenant's compliance API key comes from. */
export interface ApiKeyProvider {
  apiKey(tenantId: string, integration: IntegrationConfig): Promise<string>;
}

/**
 * Reads the secret named in the integration's `apiKeySecret` from AWS Secrets Manager. Not wired
 * yet: the Secrets Manager client is not a dependency of this project.
 */
export class SecretsManagerApiKeyProvider implements ApiKeyProvider {
  async apiKey(tenantId: string, integration: IntegrationConfig): Promise<string> {
    throw new Error(
      `Secrets Manager API key provider not configured: cannot read secret '${integration.apiKeySecret}' ` +
        `for tenant ${tenantId}; set ${apiKeyEnvName(tenantId)} instead`,
    );
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
