import type { z } from 'zod';
import { GatehouseError } from '../errors.js';

/**
 * A list cursor is the store's own key for where a page ended, as base64url JSON: opaque to callers,
 * who only hand back what they were given, and checked on the way back in like any other input.
 */
export function encodeCursor(key: object): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key in `cursor`, or LIST_CURSOR_INVALID when it is not one `encodeCursor` made with `schema`'s shape. */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = /^[A-Za-z0-9_-]{1,8192}$/.test(cursor)
      ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
      : undefined;
  } catch {
    json = undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new GatehouseError(
      'LIST_CURSOR_INVALID',
      'the cursor is not one this Gatehouse gave out: pass the `next` of the page before, unchanged',
    );
  }
  return parsed.data;
}
