import { z } from 'zod';

/** A tenant's compliance integration, as the cell stack passes it in `INTEGRATIONS`. */
export const IntegrationConfig = z.object({
  baseUrl: z.string().url(),
  ratePerSecond: z.number().positive(),
  burst: z.number().int().positive(),
  apiKeySecret: z.string(),
});
export type IntegrationConfig = z.infer<typeof IntegrationConfig>;

export function parseIntegrations(json: string): Record<string, IntegrationConfig> {
  return z.record(z.string(), IntegrationConfig).parse(JSON.parse(json));
}
