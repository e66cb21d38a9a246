import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { type IntegrationConfig, userKeyEnvName, VENDOR_KEY_ENV } from '../../lib/contracts/integrations';

import type { MetrcCredentials } from './metrc-client';

/** Where a tenant's Metrc keys come from: the integrator's vendor key and the tenant's user key. */
export interface CredentialsProvider {
  credentials(tenantId: string, integration: IntegrationConfig): Promise<MetrcCredentials>;
}

/** Keys are cached this long, so a rotated key is picked up without a cold start. */
const SECRET_TTL_MS = 5 * 60 * 1000;

/** Reads the secrets the integration names from AWS Secrets Manager, with a short cache. */
export class SecretsManagerCredentials implements CredentialsProvider {
  private readonly cache = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly client: SecretsManagerClient = new SecretsManagerClient({}),
    private readonly now: () => number = Date.now,
  ) {}

  async credentials(tenantId: string, integration: IntegrationConfig): Promise<MetrcCredentials> {
    const [vendorKey, userKey] = await Promise.all([
      this.secret(integration.vendorKeySecret, tenantId),
      this.secret(integration.apiKeySecret, tenantId),
    ]);
    return { vendorKey, userKey };
  }

  private async secret(name: string, tenantId: string): Promise<string> {
    const cached = this.cache.get(name);
    if (cached && cached.until > this.now()) return cached.value;
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: name }));
    if (!out.SecretString) throw new Error(`secret '${name}' for tenant ${tenantId} has no string value`);
    this.cache.set(name, { value: out.SecretString, until: this.now() + SECRET_TTL_MS });
    return out.SecretString;
  }
}

/** The keys from the environment when both are there (the local platform), else from `fallback`. */
export class EnvCredentials implements CredentialsProvider {
  constructor(
    private readonly fallback: CredentialsProvider = new SecretsManagerCredentials(),
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async credentials(tenantId: string, integration: IntegrationConfig): Promise<MetrcCredentials> {
    const vendorKey = this.env[VENDOR_KEY_ENV];
    const userKey = this.env[userKeyEnvName(tenantId)];
    return vendorKey && userKey ? { vendorKey, userKey } : this.fallback.credentials(tenantId, integration);
  }
}
