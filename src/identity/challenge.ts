import type { AuthFailure } from './principal.js';

/** What an HTTP front answers when a request does not authenticate. */
export interface BearerRefusal {
  status: 400 | 401 | 503;
  /** The RFC 6750 challenge; absent on 503, where no credential would help. */
  wwwAuthenticate?: string;
  /** For the JSON-RPC error body. */
  message: string;
}

/** What the challenge adds when callers can get tokens from an issuer (RFC 9728 §5.1, RFC 6750 §3). */
export interface ChallengeHints {
  /** The protected-resource metadata URL, for `resource_metadata`. */
  resourceMetadata?: string;
  scopes?: readonly string[];
}

/**
 * RFC 6750 §3: a request without bearer credentials gets a bare challenge (no error code, as §3.1
 * asks); a malformed one `invalid_request` (400); a token that does not verify `invalid_token` (401),
 * with the reason as error_description. With an issuer configured, every challenge also names the
 * metadata that tells the client where to get a token.
 */
export function bearerRefusal(failure: AuthFailure, hints: ChallengeHints = {}): BearerRefusal {
  const description = quotable(failure.reason);
  const challenge = (...params: string[]) =>
    ['Bearer realm="gatehouse"', ...params, ...hintParams(hints)].join(', ');
  switch (failure.kind) {
    case 'missing':
      return {
        status: 401,
        wwwAuthenticate: challenge(),
        message: 'Unauthorized: this Gatehouse requires "Authorization: Bearer <token>"',
      };
    case 'malformed':
      return {
        status: 400,
        wwwAuthenticate: challenge('error="invalid_request"', `error_description="${description}"`),
        message: `Bad Request: ${failure.reason}`,
      };
    case 'invalid':
      return {
        status: 401,
        wwwAuthenticate: challenge('error="invalid_token"', `error_description="${description}"`),
        message: `Unauthorized: ${failure.reason}`,
      };
    case 'unavailable':
      return { status: 503, message: `Service Unavailable: ${failure.reason}; retry later` };
  }
}

function hintParams(hints: ChallengeHints): string[] {
  const params: string[] = [];
  if (hints.resourceMetadata) params.push(`resource_metadata="${quotable(hints.resourceMetadata)}"`);
  if (hints.scopes?.length) params.push(`scope="${quotable(hints.scopes.join(' '))}"`);
  return params;
}

/** error_description allows %x20-21 / %x23-5B / %x5D-7E: printable ASCII without `"` and `\`. */
const quotable = (text: string) => text.replaceAll('"', "'").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
