import type { Caller } from '../pipeline/toolCall.js';

/** Who an identity source says a caller is: a stable id and its groups, before any session exists. */
export type Principal = Pick<Caller, 'id' | 'groups'>;

/**
 * Why a request did not authenticate. `reason` is short, never contains the token, and is safe to send
 * to the client (as the RFC 6750 error_description) and to log.
 */
export interface AuthFailure {
  /**
   * `missing`: no bearer credentials at all; `malformed`: an Authorization header that is not
   * `Bearer <token>`; `invalid`: a token that does not verify; `unavailable`: the token cannot be
   * checked right now (the issuer's keys cannot be fetched), whatever its merits.
   */
  kind: 'missing' | 'malformed' | 'invalid' | 'unavailable';
  reason: string;
}

export type Authentication =
  | {
      ok: true;
      principal: Principal;
      /** `open`: no HTTP identity is configured and the caller is the stdio identity. */
      via: 'token' | 'jwt' | 'open';
    }
  | { ok: false; failure: AuthFailure };

export const refused = (kind: AuthFailure['kind'], reason: string): Authentication => ({
  ok: false,
  failure: { kind, reason },
});
