import { createHash, createPrivateKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { GatehouseError } from '../../../errors.js';
import { ChannelDeliveryError } from '../channel.js';
import { send } from './send.js';

/**
 * The bot's outbound credential: an Entra access token for the Bot Connector (client credentials
 * grant, scope `https://api.botframework.com/.default` in the public cloud), from the bot's own
 * single-tenant app registration, with a client secret or a certificate (a signed client assertion,
 * RFC 7523, its key named by the certificate's SHA-1 thumbprint `x5t` as Entra expects). Cached until
 * shortly before it expires; concurrent deliveries share one request.
 */

export type EntraCredential = { password: string } | { privateKey: string; certificate: string };

export interface EntraTokenOptions {
  /** The sign-in authority, `https://login.microsoftonline.com` in the public cloud. */
  login: string;
  tenantId: string;
  appId: string;
  credential: EntraCredential;
  scope: string;
  now?: () => number;
}

export interface EntraTokens {
  /** A valid access token; throws ChannelDeliveryError when Entra cannot be reached or refuses. */
  token(signal: AbortSignal): Promise<string>;
  /** Forget the cached token (the Connector refused it): the next call gets a new one. */
  invalidate(): void;
}

/** Renewed this long before Entra's expiry, so no request leaves with a token about to lapse. */
const RENEW_BEFORE_MS = 5 * 60_000;

const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
});

/** Throws CONFIG_INVALID when a certificate credential cannot be read: checked once, when built. */
export function createEntraTokens(options: EntraTokenOptions): EntraTokens {
  const now = options.now ?? Date.now;
  const endpoint = `${options.login}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`;
  const target = new URL(endpoint).host;
  const assertion = 'privateKey' in options.credential ? certificateSigner(options.credential) : undefined;
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(signal: AbortSignal): Promise<string> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: options.appId,
      scope: options.scope,
    });
    if ('password' in options.credential) form.set('client_secret', options.credential.password);
    else {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', await assertion!(options.appId, endpoint, now()));
    }
    const response = await send(
      endpoint,
      { method: 'POST', body: form, headers: { accept: 'application/json' }, signal },
      { action: 'getting a Bot Connector token from Entra', target },
    );
    const parsed = TokenResponseSchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
      throw new ChannelDeliveryError(`Entra (${target}) answered without an access token`, {
        retryable: true,
        target,
      });
    }
    const lifetimeMs = parsed.data.expires_in * 1000;
    cached = {
      token: parsed.data.access_token,
      renewAt: now() + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2),
    };
    return parsed.data.access_token;
  }

  return {
    async token(signal) {
      if (cached && now() < cached.renewAt) return cached.token;
      pending ??= fetchToken(signal).finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/** Signs client assertions with the certificate's key; the certificate's thumbprint names the key. */
function certificateSigner(credential: { privateKey: string; certificate: string }) {
  let key: KeyObject;
  let thumbprint: string;
  try {
    key = createPrivateKey(credential.privateKey);
    const certificate = new X509Certificate(credential.certificate);
    if (!certificate.checkPrivateKey(key))
      throw new Error('the private key does not belong to the certificate');
    thumbprint = createHash('sha1').update(certificate.raw).digest('base64url');
  } catch (error) {
    throw new GatehouseError(
      'CONFIG_INVALID',
      `teams-bot certificate: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return (appId: string, audience: string, nowMs: number) =>
    new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5t: thumbprint })
      .setIssuer(appId)
      .setSubject(appId)
      .setAudience(audience)
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setNotBefore(Math.floor(nowMs / 1000))
      .setExpirationTime(Math.floor(nowMs / 1000) + 600)
      .sign(key);
}
