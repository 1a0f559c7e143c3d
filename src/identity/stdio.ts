import { userInfo } from 'node:os';
import type { Config } from '../config/schema.js';
import type { Principal } from './principal.js';

/**
 * The caller on stdio, where the OS already decided who may start Gatehouse: the configured
 * `identity.user`, else the OS user. Also the HTTP caller when no HTTP identity is configured.
 */
export function resolveStdioCaller(identity: Config['identity']): Principal {
  return { id: identity.user ?? osUserName(), groups: [...identity.groups] };
}

/** userInfo() throws for a uid without a passwd entry (common in containers). */
function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}
