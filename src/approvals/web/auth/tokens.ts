import { randomBytes } from 'node:crypto';
import type { Identity } from '../../request.js';
import { key, type SignInMethod } from '../sessions.js';

/**
 * Personal API tokens for programs and the CLI: issued to a signed-in approver (from the page, or for a
 * local account in exchange for its password at POST /api/tokens), they act as that approver until they
 * expire or are revoked. Shown once; held only as a SHA-256 (a token is 256 random bits, so a fast hash is
 * enough), which is also the lookup key: in memory here (a restart revokes them all, like sessions),
 * in PostgreSQL for replicas (store/postgres/approverState.ts).
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
  issue(input: TokenRequest): Promise<{ token: string; record: ApiToken }>;
  /** The live token record for a presented secret. */
  verify(token: string): Promise<ApiToken | undefined>;
  /** Revokes by public id, only when it belongs to `principalId`. */
  revoke(id: string, principalId: string): Promise<boolean>;
  revokeSecret(token: string): Promise<boolean>;
  listFor(principalId: string): Promise<ApiToken[]>;
  sweep(): Promise<void>;
  /** Tokens held now (expired ones until the next sweep). */
  readonly size: number;
}

export interface TokenRequest {
  principal: Identity;
  via: SignInMethod;
  label: string;
  ttlMs: number;
}

/** A new token (its secret, shown once) and the record kept of it. */
export function newApiToken(input: TokenRequest, at: number): { token: string; record: ApiToken } {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const record: ApiToken = {
    id: randomBytes(6).toString('hex'),
    label: input.label,
    principal: { id: input.principal.id, groups: [...input.principal.groups] },
    via: input.via,
    createdAt: at,
    expiresAt: at + input.ttlMs,
  };
  return { token, record };
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

  const listFor = (principalId: string) =>
    [...byHash.values()]
      .filter((r) => r.principal.id === principalId && live(r))
      .sort((a, b) => a.createdAt - b.createdAt);
  const sweep = () => {
    for (const [hash, record] of byHash) if (!live(record)) byHash.delete(hash);
  };

  return {
    async issue(input) {
      sweep();
      const { token, record } = newApiToken(input, now());
      byHash.set(key(token), record);
      const mine = listFor(input.principal.id);
      for (const old of mine.slice(0, Math.max(0, mine.length - maxPerPrincipal))) {
        revokeWhere((r) => r === old);
      }
      // Map order is issue order: the first key is the oldest token.
      while (byHash.size > maxTokens) byHash.delete(byHash.keys().next().value!);
      return { token, record };
    },
    async verify(token) {
      if (!token.startsWith(TOKEN_PREFIX)) return undefined;
      return live(byHash.get(key(token)));
    },
    async revoke(id, principalId) {
      return revokeWhere((r) => r.id === id && r.principal.id === principalId);
    },
    async revokeSecret(token) {
      return byHash.delete(key(token));
    },
    listFor: async (principalId) => listFor(principalId),
    sweep: async () => sweep(),
    get size() {
      return byHash.size;
    },
  };
}
