import { endpointName, formBody, requestJson } from './http.js';
import { MintError, type MintContext, type Minted } from './types.js';

export interface OAuthSource {
  tokenUrl: string;
  grant: 'client_credentials' | 'token_exchange';
  clientId: string;
  clientSecret?: string;
  subjectToken?: string;
  subjectTokenType: string;
  requestedTokenType?: string;
  revocationUrl?: string;
}

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

/**
 * An OAuth 2.0 access token for the call: client credentials (RFC 6749 §4.4) or a token exchange
 * (RFC 8693) of `subjectToken`, asking for exactly the scope, audience and resource rendered from the
 * approved arguments. The client authenticates with HTTP Basic (client_secret_basic). With a
 * revocation endpoint the token is revoked after the call (RFC 7009); otherwise it is discarded.
 */
export async function mintOAuthToken(source: OAuthSource, context: MintContext): Promise<Minted> {
  const { rendered, signal } = context;
  const where = `the token endpoint ${endpointName(source.tokenUrl)}`;
  const body =
    source.grant === 'token_exchange'
      ? formBody({
          grant_type: TOKEN_EXCHANGE,
          subject_token: source.subjectToken,
          subject_token_type: source.subjectTokenType,
          requested_token_type: source.requestedTokenType,
          scope: rendered.scope,
          audience: rendered.audience,
          resource: rendered.resource,
        })
      : formBody({
          grant_type: 'client_credentials',
          scope: rendered.scope,
          audience: rendered.audience,
          resource: rendered.resource,
        });
  const answer = await requestJson(
    source.tokenUrl,
    { method: 'POST', headers: clientHeaders(source), body, signal },
    where,
  );
  if (answer.status !== 200)
    throw new MintError(`${where} answered HTTP ${answer.status}${oauthError(answer.body)}`);
  const token = answer.body?.access_token;
  if (typeof token !== 'string' || !token) throw new MintError(`${where} answered without an access_token`);
  const granted = answer.body?.scope;
  if (rendered.scope !== undefined && typeof granted === 'string' && !within(granted, rendered.scope)) {
    // A broader token than was asked for is refused: the call never runs with more than its scope.
    throw new MintError(
      `${where} granted scope "${granted}", broader than the "${rendered.scope}" asked for`,
    );
  }
  return {
    value: token,
    ...(source.revocationUrl ? { revoke: (s: AbortSignal) => revoke(source, token, s) } : {}),
  };
}

async function revoke(source: OAuthSource, token: string, signal: AbortSignal): Promise<void> {
  const where = `the revocation endpoint ${endpointName(source.revocationUrl!)}`;
  const answer = await requestJson(
    source.revocationUrl!,
    {
      method: 'POST',
      headers: clientHeaders(source),
      body: formBody({ token, token_type_hint: 'access_token' }),
      signal,
    },
    where,
  );
  if (answer.status !== 200)
    throw new MintError(`${where} answered HTTP ${answer.status}${oauthError(answer.body)}`);
}

function clientHeaders(source: OAuthSource): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  // RFC 6749 §2.3.1: both parts form-encoded before Basic.
  const id = formEncoded(source.clientId);
  const secret = formEncoded(source.clientSecret ?? '');
  headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  return headers;
}

/** application/x-www-form-urlencoded of one value (a space is `+`), as RFC 6749 Appendix B says. */
function formEncoded(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** RFC 6749 §5.2's `error` code (a registered word, safe to show); the description is the server's prose. */
function oauthError(body: Record<string, unknown> | undefined): string {
  const code = body?.error;
  return typeof code === 'string' && /^[\x20-\x7e]{1,64}$/.test(code) ? ` (${code})` : '';
}

/** Every scope granted was asked for. */
function within(granted: string, asked: string): boolean {
  const allowed = new Set(asked.split(' ').filter(Boolean));
  return granted
    .split(' ')
    .filter(Boolean)
    .every((s) => allowed.has(s));
}
