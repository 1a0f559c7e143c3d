import { GatehouseError } from '../../../errors.js';
import type { Identity } from '../../request.js';
import { createAttemptLimiter, type AttemptLimiter } from './limiter.js';
import { decoyHash, parsePasswordHash, verifyPassword, type ParsedPasswordHash } from './password.js';

/**
 * Local approver accounts from the config (laptop mode). An unknown user and a wrong password get the
 * same answer after the same work (a decoy hash is checked for unknown users), and failures are
 * limited per account and client address, per address and per account, so a password cannot be
 * guessed online and one attacker cannot lock an approver out from everywhere.
 */
export interface LocalAccount {
  id: string;
  groups: readonly string[];
  passwordHash: string;
}

export type SignInResult =
  | { ok: true; principal: Identity }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'throttled'; retryAfterSeconds: number };

export interface LocalAuth {
  readonly enabled: boolean;
  signIn(id: string, password: string, client: string): Promise<SignInResult>;
}

/** Failures allowed per window: one account from one address, one address, one account from anywhere. */
export const SIGN_IN_LIMITS = { accountAndClient: 5, client: 20, account: 50, windowMs: 15 * 60_000 };

/** User ids longer than this are not ids: refused without hashing, counted like any failure. */
const MAX_ID_LENGTH = 256;
const MAX_PASSWORD_LENGTH = 1024;
/** Password checks at once; more are refused as throttled rather than queued (memory, CPU). */
export const MAX_CONCURRENT_CHECKS = 8;

/** `limiter` counts failures over SIGN_IN_LIMITS.windowMs: in memory unless replicas share one. */
export function createLocalAuth(
  accounts: readonly LocalAccount[],
  now: () => number = Date.now,
  limiter: AttemptLimiter = createAttemptLimiter({ windowMs: SIGN_IN_LIMITS.windowMs, now }),
): LocalAuth {
  const byId = new Map<string, { principal: Identity; hash: ParsedPasswordHash }>();
  const problems: string[] = [];
  for (const account of accounts) {
    try {
      const hash = parsePasswordHash(account.passwordHash);
      byId.set(account.id, { principal: { id: account.id, groups: [...account.groups] }, hash });
    } catch (error) {
      problems.push(`approvers.accounts "${account.id}": ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) {
    throw new GatehouseError(
      'CONFIG_INVALID',
      `invalid approver password hashes:\n  ${problems.join('\n  ')}`,
    );
  }
  // Unknown users pay for the cost of a real account, so timing does not tell which ids exist.
  const decoyCost = byId.values().next().value?.hash.cost;
  let running = 0;

  return {
    enabled: byId.size > 0,
    async signIn(id, password, client) {
      const keys = [
        [`account+client:${id.slice(0, MAX_ID_LENGTH)}\n${client}`, SIGN_IN_LIMITS.accountAndClient],
        [`client:${client}`, SIGN_IN_LIMITS.client],
        [`account:${id.slice(0, MAX_ID_LENGTH)}`, SIGN_IN_LIMITS.account],
      ] as const;
      const waits = await Promise.all(keys.map(([key, limit]) => limiter.retryAfter(key, limit)));
      const wait = Math.max(...waits);
      if (wait > 0) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil(wait / 1000) };

      // Each check takes 128 MiB and a third of a second: a burst beyond the bound waits its turn outside.
      if (running >= MAX_CONCURRENT_CHECKS) return { ok: false, reason: 'throttled', retryAfterSeconds: 1 };
      const account = id.length <= MAX_ID_LENGTH ? byId.get(id) : undefined;
      let valid = false;
      running += 1;
      try {
        valid =
          password.length <= MAX_PASSWORD_LENGTH &&
          (await verifyPassword(password, account?.hash ?? decoyHash(decoyCost))) &&
          account !== undefined;
      } finally {
        running -= 1;
      }
      if (!valid || !account) {
        for (const [key] of keys) await limiter.recordFailure(key);
        return { ok: false, reason: 'invalid' };
      }
      await limiter.reset(keys[0][0]);
      return { ok: true, principal: account.principal };
    },
  };
}
