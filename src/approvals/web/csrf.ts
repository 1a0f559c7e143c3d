import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Synchronizer tokens: each session holds one random token that every state-changing form carries.
 * The sign-in form, before any session exists, uses the same comparison with a token in a short-lived
 * cookie (double submit). Both sides are hashed first so the comparison is constant-time whatever the
 * submitted length.
 */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokensMatch(expected: string, submitted: string | undefined | null): boolean {
  if (!submitted) return false;
  return timingSafeEqual(sha256(expected), sha256(submitted));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
