import { randomBytes } from 'node:crypto';
import type { Identity } from '../../request.js';
import { key, type SignInMethod } from '../sessions.js';

/**
 * Personal API tokens for programs and the CLI: issued to a signed-in approver (from the page, or for a
 * local account in exchange for its password at POST /api/tokens), they act as that approver until they
 * expire or are revoked. Shown once; held in memory only as a SHA-256 (a token is 256 random bits, so a
 * fast hash is enough), which is also the lookup key. A restart revokes them all, like sessions.
 * Bounded per approver (their oldest is revoked beyond `maxPerPrincipal`) and in all (the oldest of
 * all is revoked beyond `maxTokens`); expired tokens are swept.
 */
export const TOKEN_PREFIX = 'gatehouse_';

export interface ApiToken {
  /** Public handle, for listing and revoking; not a secret. */
  id: string;
  label: string;
  principal: Identity;
  via: SignInMethod;
  createdAt: number;
  expiresAt: number;
}

export interface TokenStore {
  issue(input: { principal: Identity; via: SignInMethod; label: string; ttlMs: number }): {
    token: string;
    record: ApiToken;
  };
  /** The live token record for a presented secret. */
  verify(token: string): ApiToken | undefined;
  /** Revokes by public id, only when it belongs to `principalId`. */
  revoke(id: string, principalId: string): boolean;
  revokeSecret(token: string): boolean;
  listFor(principalId: string): ApiToken[];
  sweep(): void;
  /** Tokens held now (expired ones until the next sweep). */
  readonly size: number;
}

export interface TokenStoreOptions {
  now?: () => number;
  /** Most live tokens one principal may hold; the oldest is revoked beyond it. */
  maxPerPrincipal?: number;
  /** Most tokens of all principals together; the oldest is revoked beyond it. */
  maxTokens?: number;
}

export function createTokenStore(options: TokenStoreOptions = {}): TokenStore {
  const { now = Date.now, maxPerPrincipal = 50, maxTokens = 10_000 } = options;
  const byHash = new Map<string, ApiToken>();

  function live(record: ApiToken | undefined): ApiToken | undefined {
    return record && record.expiresAt > now() ? record : undefined;
  }

  function revokeWhere(match: (record: ApiToken) => boolean): boolean {
    for (const [hash, record] of byHash) {
      if (match(record)) {
        byHash.delete(hash);
        return true;
      }
    }
    return false;
  }

  const store: TokenStore = {
    issue({ principal, via, label, ttlMs }) {
      store.sweep();
      const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
      const at = now();
      const record: ApiToken = {
        id: randomBytes(6).toString('hex'),
        label,
        principal: { id: principal.id, groups: [...principal.groups] },
        via,
        createdAt: at,
        expiresAt: at + ttlMs,
      };
      byHash.set(key(token), record);
      const mine = store.listFor(principal.id);
      for (const old of mine.slice(0, Math.max(0, mine.length - maxPerPrincipal))) {
        revokeWhere((r) => r === old);
      }
      // Map order is issue order: the first key is the oldest token.
      while (byHash.size > maxTokens) byHash.delete(byHash.keys().next().value!);
      return { token, record };
    },
    verify(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return undefined;
      return live(byHash.get(key(token)));
    },
    revoke(id, principalId) {
      return revokeWhere((r) => r.id === id && r.principal.id === principalId);
    },
    revokeSecret(token) {
      return byHash.delete(key(token));
    },
    listFor(principalId) {
      return [...byHash.values()]
        .filter((r) => r.principal.id === principalId && live(r))
        .sort((a, b) => a.createdAt - b.createdAt);
    },
    sweep() {
      for (const [hash, record] of byHash) if (!live(record)) byHash.delete(hash);
    },
    get size() {
      return byHash.size;
    },
  };
  return store;
}
