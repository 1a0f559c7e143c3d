import { createHash, randomBytes } from 'node:crypto';

/**
 * Decision callback tokens: 32 random bytes, shown once (in the event that carries them) and kept only
 * as a SHA-256, so a copy of the store decides nothing. A plain hash suffices: the token has 256 bits,
 * there is nothing to guess.
 */
const PREFIX = 'gh_cb_';

export function newCallbackToken(): string {
  return `${PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashCallbackToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** The shape of a token (for a clear refusal before any lookup); says nothing of its validity. */
export function looksLikeCallbackToken(token: string): boolean {
  return /^gh_cb_[A-Za-z0-9_-]{43}$/.test(token);
}
