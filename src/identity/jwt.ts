import type * as Jose from 'jose';
import type { JWTPayload } from 'jose';
import type { Config } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { isLoopbackHost } from '../shared/loopback.js';
import { refused, type Authentication, type Principal } from './principal.js';

type JwtConfig = NonNullable<Config['identity']['jwt']>;

/**
 * Signature algorithms a JWKS-verified token may use: asymmetric only. `none` is never accepted, and an
 * HMAC algorithm would mean verifying with a key the issuer publishes to everyone.
 */
const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

/** Allowed skew between our clock and the issuer's, for exp and nbf. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * OIDC/JWT access tokens, verified with jose against the issuer's JWKS (fetched on first use, cached,
 * refetched on an unknown kid at most every 30 s): signature, `alg` from the configured list, `iss`,
 * `aud`, `exp` (required) and `nbf`. The principal is the subject claim, its groups the groups claim.
 */
export function createJwtVerifier(
  config: JwtConfig,
  logger: Logger,
): (token: string) => Promise<Authentication> {
  const algorithms = checkAlgorithms(config.algorithms);
  const jwksUrl = new URL(config.jwksUri);
  if (jwksUrl.protocol === 'http:' && !isLoopbackHost(jwksUrl.hostname)) {
    logger.warn(
      { jwksUri: config.jwksUri },
      'identity.jwt.jwksUri is plain HTTP: whoever can alter that traffic can mint accepted tokens',
    );
  }
  // jose is loaded with the first token, so that a Gatehouse that never sees one (every stdio one)
  // does not load it before it can answer its first client.
  let loading: Promise<{ jose: typeof Jose; keys: ReturnType<typeof Jose.createRemoteJWKSet> }> | undefined;
  const verifier = () =>
    (loading ??= import('jose').then((jose) => ({
      jose,
      keys: jose.createRemoteJWKSet(jwksUrl, { timeoutDuration: 5_000, cooldownDuration: 30_000 }),
    })));
  const options = {
    issuer: config.issuer,
    audience: config.audience,
    algorithms,
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    requiredClaims: ['exp'],
  };

  return async (token) => {
    const { jose, keys } = await verifier();
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, keys, options));
    } catch (error) {
      return refusal(error, jose.errors, logger);
    }
    const principal = principalOf(payload, config);
    return typeof principal === 'string'
      ? refused('invalid', principal)
      : { ok: true, principal, via: 'jwt' };
  };
}

function checkAlgorithms(algorithms: readonly string[]): string[] {
  const wrong = algorithms.filter((alg) => !ASYMMETRIC_ALGORITHMS.has(alg));
  if (algorithms.length === 0 || wrong.length > 0) {
    throw new GatehouseError(
      'CONFIG_INVALID',
      `identity.jwt.algorithms: ${wrong.length > 0 ? `${wrong.join(', ')} not accepted` : 'empty'}; ` +
        `use asymmetric algorithms from ${[...ASYMMETRIC_ALGORITHMS].join(', ')}`,
    );
  }
  return [...algorithms];
}

/** The principal a verified payload names, or why it names none. */
function principalOf(payload: JWTPayload, config: JwtConfig): Principal | string {
  const id = payload[config.subjectClaim];
  if (typeof id !== 'string' || id === '')
    return `the token has no "${config.subjectClaim}" claim naming the caller`;
  const groups = groupsOf(payload[config.groupsClaim]);
  // A malformed groups claim fails closed: read as no groups, it would slip past a group-based deny.
  if (!groups) return `the token's "${config.groupsClaim}" claim is neither a list of strings nor a string`;
  return { id, groups };
}

/** Groups as IdPs write them: an array of strings, or one space-separated string (like `scope`). */
function groupsOf(claim: unknown): string[] | undefined {
  if (claim === undefined) return [];
  if (typeof claim === 'string') return claim.split(/\s+/).filter(Boolean);
  if (Array.isArray(claim) && claim.every((g) => typeof g === 'string')) return claim.filter(Boolean);
  return undefined;
}

/** jose's error, as a reason the client may read (never the token, never jose's own wording). */
function refusal(error: unknown, errors: typeof Jose.errors, logger: Logger): Authentication {
  if (error instanceof errors.JWTExpired) return refused('invalid', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    const reasons: Record<string, string> = {
      iss: 'the token was issued by another issuer',
      aud: 'the token is meant for another audience',
      nbf: 'the token is not valid yet',
      exp: 'the token has no valid expiry',
    };
    return refused('invalid', reasons[error.claim] ?? `the token's "${error.claim}" claim is invalid`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return refused('invalid', "the token's signing algorithm is not accepted");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return refused('invalid', "the token's signature does not verify");
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return refused('invalid', "no signing key of the issuer matches the token's header");
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return refused('invalid', 'the token is not a well-formed JWT');
  }
  // Left: the JWKS could not be fetched or read (timeout, refused, not 200, not a key set).
  logger.error({ cause: error instanceof Error ? error.message : String(error) }, 'JWKS unavailable');
  return refused('unavailable', "the issuer's signing keys cannot be fetched");
}
