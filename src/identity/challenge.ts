import type { AuthFailure } from './principal.js';

/** What an HTTP front answers when a request does not authenticate. */
export interface BearerRefusal {
  status: 400 | 401 | 503;
  /** The RFC 6750 challenge; absent on 503, where no credential would help. */
  wwwAuthenticate?: string;
  /** For the JSON-RPC error body. */
  message: string;
}

const REALM = 'realm="gatehouse"';

/**
 * RFC 6750 §3: a request without bearer credentials gets a bare challenge (no error code, as §3.1
 * asks); a malformed one `invalid_request` (400); a token that does not verify `invalid_token` (401),
 * with the reason as error_description.
 */
export function bearerRefusal(failure: AuthFailure): BearerRefusal {
  const description = quotable(failure.reason);
  switch (failure.kind) {
    case 'missing':
      return {
        status: 401,
        wwwAuthenticate: `Bearer ${REALM}`,
        message: 'Unauthorized: this Gatehouse requires "Authorization: Bearer <token>"',
      };
    case 'malformed':
      return {
        status: 400,
        wwwAuthenticate: `Bearer ${REALM}, error="invalid_request", error_description="${description}"`,
        message: `Bad Request: ${failure.reason}`,
      };
    case 'invalid':
      return {
        status: 401,
        wwwAuthenticate: `Bearer ${REALM}, error="invalid_token", error_description="${description}"`,
        message: `Unauthorized: ${failure.reason}`,
      };
    case 'unavailable':
      return { status: 503, message: `Service Unavailable: ${failure.reason}; retry later` };
  }
}

/** error_description allows %x20-21 / %x23-5B / %x5D-7E: printable ASCII without `"` and `\`. */
const quotable = (text: string) => text.replaceAll('"', "'").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
