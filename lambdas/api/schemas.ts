import { z } from 'zod';

import { badRequest } from '../shared/errors';

export const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Largest stock or order quantity a request may carry. */
export const MAX_QUANTITY = 1_000_000;
export const MAX_ORDER_LINES = 50;

const quantity = z.number().int().min(0).max(MAX_QUANTITY);

export const PutInventoryBody = z.strictObject({
  quantity,
  name: z.string().min(1).max(200).optional(),
  priceCents: z.number().int().min(0).max(100_000_000).optional(),
});

export const CreateOrderBody = z.strictObject({
  items: z
    .array(z.strictObject({ sku: z.string().regex(SKU), quantity: quantity.min(1) }))
    .min(1)
    .max(MAX_ORDER_LINES)
    .refine(
      (lines) => new Set(lines.map((l) => l.sku)).size === lines.length,
      'each sku may appear once per order',
    ),
  customerId: z.string().min(1).max(64).optional(),
});

export const PutIntegrationBody = z.strictObject({ enabled: z.boolean() });

export const IdempotencyKey = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, 'printable ASCII, at most 128 characters');

/** Validates with a zod schema; the issues become the 400's details. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw badRequest(
    result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })),
  );
}

export function skuFrom(raw: string): string {
  let sku: string;
  try {
    sku = decodeURIComponent(raw);
  } catch {
    throw badRequest('the sku is not valid URL encoding');
  }
  if (!SKU.test(sku)) throw badRequest(`sku must match ${SKU}`);
  return sku;
}
