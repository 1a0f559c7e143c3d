import { randomBytes } from 'node:crypto';
import type * as client from 'openid-client';
import type { Config } from '../../../config/schema.js';
import type { Logger } from '../../../log.js';
import type { Identity } from '../../request.js';
import { isLoopbackHost } from '../../../shared/loopback.js';

/**
 * Approver sign-in with OpenID Connect: authorization code flow with PKCE (S256), state and nonce
 * (`openid-client`). Each sign-in is a transaction kept here under a random id that only the browser
 * that started it holds (in a cookie), so a callback from another browser, a replayed one, or one
 * arriving after ten minutes is refused. The provider's metadata is discovered on the first sign-in and
 * kept; a failed discovery is retried on the next one, so Gatehouse starts even while the provider is
 * down. Plain http is accepted only for a provider on a loopback address (tests, local providers).
 */
export type OidcSettings = NonNullable<Config['approvers']['oidc']>;

export interface OidcAuth {
  /** The provider's authorization URL to send the browser to, and the transaction id for its cookie. */
  start(next: string): Promise<{ redirectTo: string; transaction: string }>;
  /**
   * Completes the transaction with the callback URL the browser arrived at; resolves with the
   * approver and where they were going. Throws OidcSignInError with a message fit for the page.
   */
  finish(transaction: string | undefined, callbackUrl: URL): Promise<{ principal: Identity; next: string }>;
}

export class OidcSignInError extends Error {}

/** A sign-in under way at the provider, kept under a random id that only the browser's cookie holds. */
export interface OidcTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
  expiresAt: number;
}

/** Where sign-ins under way are kept: here in memory, or in PostgreSQL when replicas share them. */
export interface OidcTransactionStore {
  put(id: string, transaction: OidcTransaction): Promise<void>;
  /** The transaction, removed: each is used once, whatever happens next. */
  take(id: string): Promise<OidcTransaction | undefined>;
}

export const OIDC_TRANSACTION_TTL_MS = 10 * 60_000;
export const MAX_OIDC_TRANSACTIONS = 1_000;

export function memoryOidcTransactions(now: () => number = Date.now): OidcTransactionStore {
  const transactions = new Map<string, OidcTransaction>();
  return {
    async put(id, transaction) {
      const at = now();
      for (const [key, t] of transactions) if (t.expiresAt <= at) transactions.delete(key);
      transactions.set(id, transaction);
      while (transactions.size > MAX_OIDC_TRANSACTIONS) {
        transactions.delete(transactions.keys().next().value!);
      }
    },
    async take(id) {
      const transaction = transactions.get(id);
      transactions.delete(id);
      return transaction;
    },
  };
}
const PROVIDER_TIMEOUT_SECONDS = 10;

export interface OidcAuthOptions {
  settings: OidcSettings;
  /** `${baseUrl}/auth/callback`, registered at the provider. */
  redirectUri: () => string;
  logger: Logger;
  now?: () => number;
  /** Default: in memory. */
  transactions?: OidcTransactionStore;
}

export function createOidcAuth(options: OidcAuthOptions): OidcAuth {
  const { settings, logger, now = Date.now } = options;
  const log = logger.child({ module: 'approvals-oidc' });
  const issuer = new URL(settings.issuer);
  if (issuer.protocol === 'http:' && !isLoopbackHost(issuer.hostname)) {
    log.warn(
      { issuer: settings.issuer },
      'OIDC sign-in will fail: the issuer must use https unless it is on this machine',
    );
  }
  const transactions = options.transactions ?? memoryOidcTransactions(now);
  let discovered: Promise<client.Configuration> | undefined;

  function configuration(): Promise<client.Configuration> {
    discovered ??= discover(settings).catch((error: unknown) => {
      discovered = undefined;
      log.error({ err: error, issuer: settings.issuer }, 'OIDC discovery failed');
      throw new OidcSignInError(
        `the sign-in provider ${settings.issuer} cannot be reached; try again shortly`,
      );
    });
    return discovered;
  }

  return {
    async start(next) {
      const config = await configuration();
      const client = await openid();
      const codeVerifier = client.randomPKCECodeVerifier();
      const transaction: OidcTransaction = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier,
        next,
        expiresAt: now() + OIDC_TRANSACTION_TTL_MS,
      };
      const id = randomBytes(32).toString('base64url');
      await transactions.put(id, transaction);
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri(),
        scope: settings.scopes.join(' '),
        response_type: 'code',
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state: transaction.state,
        nonce: transaction.nonce,
      });
      return { redirectTo: url.href, transaction: id };
    },

    async finish(id, callbackUrl) {
      const transaction = id ? await transactions.take(id) : undefined;
      if (!transaction || transaction.expiresAt <= now()) {
        throw new OidcSignInError('this sign-in was not started here or took too long; sign in again');
      }
      const providerError = callbackUrl.searchParams.get('error');
      if (providerError) {
        const description = callbackUrl.searchParams.get('error_description');
        throw new OidcSignInError(
          `the sign-in provider refused: ${providerError}${description ? ` (${description})` : ''}`,
        );
      }
      const config = await configuration();
      const client = await openid();
      let claims: Record<string, unknown>;
      try {
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: transaction.codeVerifier,
          expectedState: transaction.state,
          expectedNonce: transaction.nonce,
          idTokenExpected: true,
        });
        claims = { ...tokens.claims() };
        if (!(settings.groupsClaim in claims) || !(settings.subjectClaim in claims)) {
          // Many providers put groups (and some the chosen subject claim) only in UserInfo.
          if (config.serverMetadata().userinfo_endpoint) {
            const info = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub));
            claims = { ...info, ...claims };
          }
        }
      } catch (error) {
        log.warn({ err: error }, 'OIDC sign-in failed');
        throw new OidcSignInError('the sign-in could not be completed with the provider; sign in again');
      }
      return { principal: principalFrom(claims, settings), next: transaction.next };
    },
  };
}

/** openid-client, loaded at the first sign-in: a Gatehouse without OIDC never loads it. */
const openid = () => import('openid-client');

async function discover(settings: OidcSettings): Promise<client.Configuration> {
  const client = await openid();
  const issuer = new URL(settings.issuer);
  const auth = settings.clientSecret ? client.ClientSecretBasic(settings.clientSecret) : client.None();
  return client.discovery(issuer, settings.clientId, undefined, auth, {
    timeout: PROVIDER_TIMEOUT_SECONDS,
    ...(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname)
      ? { execute: [client.allowInsecureRequests] }
      : {}),
  });
}

/** The principal id from `subjectClaim` (a non-empty string), groups from `groupsClaim` (strings only). */
export function principalFrom(
  claims: Record<string, unknown>,
  settings: Pick<OidcSettings, 'subjectClaim' | 'groupsClaim'>,
): Identity {
  const id = claims[settings.subjectClaim];
  if (typeof id !== 'string' || id === '') {
    throw new OidcSignInError(
      `the provider did not say who you are: the "${settings.subjectClaim}" claim is missing`,
    );
  }
  const raw = claims[settings.groupsClaim];
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [];
  const groups = [...new Set(list.filter((g): g is string => typeof g === 'string' && g !== ''))];
  return { id, groups };
}
