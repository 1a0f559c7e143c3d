import { createHash } from 'node:crypto';

/** What Claude Desktop (and the MCP spec's guidance) accepts as a tool name. */
export const EXPOSED_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function defaultPrefix(server: string): string {
  return `${server}__`;
}

/**
 * The name a client sees for a downstream item. Valid names pass unchanged; anything else is
 * sanitised, cut to fit and suffixed with a short hash of the full name, so it is stable across
 * restarts and two long names that share a beginning stay distinct.
 */
export function exposedName(prefix: string, name: string): string {
  const full = prefix + name;
  if (EXPOSED_NAME.test(full)) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const cleaned = full.replace(/[^a-zA-Z0-9_-]/g, '_');
  return `${cleaned.slice(0, 64 - hash.length - 1)}_${hash}`;
}
