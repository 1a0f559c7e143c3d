import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import type { Principal } from './principal.js';

type TokenEntry = Config['identity']['tokens'][number];

/**
 * Static bearer tokens. Only SHA-256 digests of the configured secrets are kept. A presented token is
 * hashed and compared with every digest by timingSafeEqual, without stopping at a match, so the time
 * taken tells neither whether nor which token matched; hashing first also gives timingSafeEqual the
 * equal lengths it needs and hides the secrets' lengths.
 */
export function createTokenMatcher(entries: readonly TokenEntry[]): (token: string) => Principal | undefined {
  const known = entries.map((entry) => ({
    digest: sha256(entry.token),
    principal: Object.freeze({ id: entry.id, groups: Object.freeze([...entry.groups]) }),
  }));
  refuseRepeatedTokens(known.map((k) => k.digest));
  return (token) => {
    const presented = sha256(token);
    let found: Principal | undefined;
    for (const entry of known) {
      if (timingSafeEqual(presented, entry.digest)) found = entry.principal;
    }
    return found;
  };
}

/** One secret mapped to two principals would make the caller depend on the order of the list. */
function refuseRepeatedTokens(digests: readonly Buffer[]): void {
  const seen = new Map<string, number>();
  digests.forEach((digest, index) => {
    const key = digest.toString('hex');
    const first = seen.get(key);
    if (first !== undefined) {
      throw new GatehouseError(
        'CONFIG_INVALID',
        `identity.tokens[${index}] repeats the token of identity.tokens[${first}]; each token must name one principal`,
      );
    }
    seen.set(key, index);
  });
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();
