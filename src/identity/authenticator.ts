import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { createJwtVerifier } from './jwt.js';
import { refused, type Authentication } from './principal.js';
import { resolveStdioCaller } from './stdio.js';
import { createTokenMatcher } from './tokens.js';

export interface HttpAuthenticator {
  /**
   * `open`: neither tokens nor a JWT issuer are configured, and every HTTP caller is the stdio identity
   * (a laptop on 127.0.0.1). `bearer`: every request must carry a token that authenticates.
   */
  readonly mode: 'open' | 'bearer';
  /** The caller behind an Authorization header value (undefined when the request has none). */
  authenticate(authorization: string | undefined): Promise<Authentication>;
}

/**
 * Built once from the config; refuses a config it cannot honour (a token given twice, a JWT algorithm
 * that is not asymmetric) before anything listens.
 *
 * Principal ids are not namespaced by issuer: policies and approver lists name people as the IdP does
 * (`caller.id == "alice"`), and the approval page's OIDC sign-in against the same IdP yields the same
 * ids, so "the approver is not the requester" compares like with like. What a namespace would prevent,
 * a JWT subject passing for a static-token principal, is refused outright instead: a verified JWT whose
 * subject equals a configured token id does not authenticate.
 */
export function createHttpAuthenticator(identity: Config['identity'], logger: Logger): HttpAuthenticator {
  const log = logger.child({ module: 'identity' });
  if (identity.tokens.length === 0 && !identity.jwt) {
    const principal = resolveStdioCaller(identity);
    return { mode: 'open', authenticate: async () => ({ ok: true, principal, via: 'open' }) };
  }
  const matchToken = createTokenMatcher(identity.tokens);
  const tokenIds = new Set(identity.tokens.map((t) => t.id));
  const verifyJwt = identity.jwt ? createJwtVerifier(identity.jwt, log) : undefined;

  return {
    mode: 'bearer',
    async authenticate(authorization) {
      const token = bearerToken(authorization);
      if (typeof token !== 'string') return token;
      const principal = matchToken(token);
      if (principal) return { ok: true, principal, via: 'token' };
      if (!verifyJwt || !JWS_COMPACT.test(token)) return refused('invalid', 'unknown bearer token');
      const verified = await verifyJwt(token);
      if (verified.ok && tokenIds.has(verified.principal.id)) {
        return refused('invalid', "the token's subject is the id of a static-token principal");
      }
      return verified;
    },
  };
}

/** header.payload.signature, each base64url (the signature may be empty: `alg: none`, refused later). */
const JWS_COMPACT = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** RFC 6750 §2.1: `Bearer <token>`, the scheme case-insensitive (RFC 9110 §11.1). */
function bearerToken(authorization: string | undefined): string | Authentication {
  if (authorization === undefined || authorization.trim() === '') {
    return refused('missing', 'the request has no Authorization header');
  }
  const [scheme = '', ...rest] = authorization.trim().split(/\s+/);
  if (scheme.toLowerCase() !== 'bearer') {
    // Another scheme (Basic, ...) carries no bearer credentials: challenge as for a missing token.
    return refused('missing', `the Authorization header uses the ${schemeName(scheme)} scheme, not Bearer`);
  }
  if (rest.length !== 1) return refused('malformed', 'the Authorization header must be "Bearer <token>"');
  return rest[0]!;
}

/** A scheme name fit for a log line: a token68 scheme, or a placeholder if it is anything else. */
const schemeName = (scheme: string) => (/^[\w!#$%&'*+.^`|~-]{1,32}$/.test(scheme) ? scheme : 'an unknown');
