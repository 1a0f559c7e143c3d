import { z } from 'zod';

/** A list page's default size, and the most one may ask for (`?limit=`). */
export const LIST_LIMIT = { default: 100, max: 1000 } as const;

/** What the approval API takes in request bodies: read by the API, published in its OpenAPI document. */
export const DecisionBodySchema = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  reason: z.string().max(2000).optional(),
});

export const TokenRequestSchema = z.strictObject({
  label: z.string().max(100).optional(),
  /** At most the sign-in lifetime; the CLI asks for a few minutes. */
  ttlSeconds: z.number().int().positive().optional(),
});
