import { errors, importJWK, jwtVerify, type JWK, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Logger } from '../../../log.js';
import { isLoopbackHost } from '../../../shared/loopback.js';

/**
 * Verifies the bearer token on every activity Teams sends to the bot, as Microsoft's Bot Framework
 * and Teams SDKs do, with jose:
 * - the signature, with a key from the OpenID metadata's `jwks_uri` (fetched, cached a day, fetched
 *   again for an unknown `kid` at most every five minutes), RS256/384/512 only;
 * - `iss` is the Bot Framework's token issuer (`https://api.botframework.com` in the public cloud);
 * - `aud` is the bot's app id, or its `api://<appId>` / `api://botid-<appId>` forms;
 * - `exp` is required and not past, `nbf` not ahead (five minutes of clock skew, as both SDKs allow);
 * - then, with the activity in hand: its `serviceUrl` equals the token's `serviceurl` claim (so a
 *   token for one Connector cannot carry an activity naming another, where replies and the bot's own
 *   token would go), and a key with `endorsements` endorses the activity's channel.
 * The Bot Framework Emulator's Entra-issued tokens are not accepted: Teams never sends them.
 */

export interface BotTokenOptions {
  appId: string;
  issuer: string;
  openIdMetadata: string;
  logger: Logger;
}

export type TokenCheck =
  { ok: true; token: VerifiedToken } | { ok: false; reason: string; status: 401 | 503 };

export interface VerifiedToken {
  claims: JWTPayload;
  /** The channels the signing key is endorsed for; undefined when the key names none. */
  endorsements: string[] | undefined;
}

export interface BotTokenVerifier {
  verify(authorization: string | undefined): Promise<TokenCheck>;
  /** Why the activity does not match its verified token, or undefined when it does. */
  mismatch(token: VerifiedToken, activity: { serviceUrl: string; channelId: string }): string | undefined;
}

export const ALGORITHMS = ['RS256', 'RS384', 'RS512'];
export const CLOCK_SKEW_SECONDS = 300;

export function createBotTokenVerifier(options: BotTokenOptions): BotTokenVerifier {
  const keys = createOpenIdKeys(options.openIdMetadata, options.logger);
  const audience = [options.appId, `api://${options.appId}`, `api://botid-${options.appId}`];

  return {
    async verify(authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
      if (!match) return { ok: false, reason: 'no bearer token', status: 401 };
      let endorsements: string[] | undefined;
      try {
        const { payload } = await jwtVerify(
          match[1]!,
          async (header) => {
            const jwk = header.kid ? await keys.get(header.kid) : undefined;
            if (!jwk) throw new UnknownKey(header.kid);
            endorsements = Array.isArray(jwk.endorsements) ? jwk.endorsements.map(String) : undefined;
            return importJWK(jwk as JWK, header.alg);
          },
          {
            issuer: options.issuer,
            audience,
            algorithms: ALGORITHMS,
            clockTolerance: CLOCK_SKEW_SECONDS,
            requiredClaims: ['exp'],
          },
        );
        return { ok: true, token: { claims: payload, endorsements } };
      } catch (error) {
        if (error instanceof KeysUnavailable) return { ok: false, reason: error.message, status: 503 };
        return { ok: false, reason: reasonOf(error), status: 401 };
      }
    },

    mismatch(token, activity) {
      const claimed = token.claims.serviceurl;
      if (typeof claimed !== 'string') return 'the token has no serviceurl claim';
      if (sameServiceUrl(claimed, activity.serviceUrl) === false) {
        return `the activity's serviceUrl is not the token's serviceurl claim`;
      }
      if (
        token.endorsements &&
        token.endorsements.length > 0 &&
        !token.endorsements.includes(activity.channelId)
      ) {
        return `the signing key is not endorsed for channel ${JSON.stringify(activity.channelId)}`;
      }
      return undefined;
    },
  };
}

/** As Microsoft's Teams SDK compares them: without a trailing slash, case-insensitively. */
function sameServiceUrl(a: string, b: string): boolean {
  const norm = (url: string) => url.replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

class UnknownKey extends Error {
  constructor(kid: string | undefined) {
    super(kid ? `no published key has kid ${JSON.stringify(kid)}` : 'the token names no key (kid)');
  }
}

class KeysUnavailable extends Error {}

function reasonOf(error: unknown): string {
  if (error instanceof UnknownKey) return error.message;
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed)
    return `the token's ${error.claim} claim is not accepted`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm not accepted';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (error instanceof errors.JOSEError) return `the token is not valid (${error.code})`;
  return 'the token is not valid';
}

const MetadataSchema = z.looseObject({ jwks_uri: z.url({ protocol: /^https?$/ }) });
const JwksSchema = z.looseObject({
  keys: z.array(z.looseObject({ kid: z.string().optional(), endorsements: z.array(z.string()).optional() })),
});
type PublishedKey = z.infer<typeof JwksSchema>['keys'][number];

const REFRESH_MS = 24 * 3600_000;
const UNKNOWN_KID_COOLDOWN_MS = 5 * 60_000;
const FETCH_TIMEOUT_MS = 10_000;

/**
 * The published keys, by kid: fetched on first use, refreshed daily, and early for a kid not seen yet,
 * but never more than once per cooldown (a stream of tokens naming made-up kids costs one fetch).
 */
function createOpenIdKeys(metadataUrl: string, logger: Logger) {
  let keys = new Map<string, PublishedKey>();
  let fetchedAt = -Infinity;
  let attemptedAt = -Infinity;
  let inFlight: Promise<void> | undefined;

  async function refresh(): Promise<void> {
    attemptedAt = Date.now();
    const metadata = MetadataSchema.parse(await getJson(metadataUrl));
    const jwksUrl = new URL(metadata.jwks_uri);
    if (jwksUrl.protocol !== 'https:' && !isLoopbackHost(jwksUrl.hostname)) {
      throw new Error(`the metadata's jwks_uri is not https: ${jwksUrl.origin}`);
    }
    const jwks = JwksSchema.parse(await getJson(jwksUrl.href));
    keys = new Map(jwks.keys.filter((k) => k.kid).map((k) => [k.kid!, k]));
    fetchedAt = Date.now();
  }

  return {
    async get(kid: string): Promise<PublishedKey | undefined> {
      const due = Date.now() - fetchedAt > REFRESH_MS || !keys.has(kid);
      if (!inFlight && due && Date.now() - attemptedAt > UNKNOWN_KID_COOLDOWN_MS) {
        inFlight = refresh().finally(() => {
          inFlight = undefined;
        });
      }
      // Keys already held keep working when a refresh fails.
      if (inFlight) {
        await inFlight.catch((error: unknown) =>
          logger.error(
            { metadata: metadataUrl, reason: String(error) },
            'the bot token keys could not be fetched',
          ),
        );
      }
      if (keys.size === 0) throw new KeysUnavailable('the bot token keys could not be fetched');
      return keys.get(kid);
    },
  };
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`${new URL(url).host} answered ${response.status}`);
  return response.json();
}
