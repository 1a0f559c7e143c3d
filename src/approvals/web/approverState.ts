import { createAttemptLimiter, type AttemptLimiter } from './auth/limiter.js';
import { memoryOidcTransactions, type OidcTransactionStore } from './auth/oidc.js';
import { createTokenStore, type TokenStore } from './auth/tokens.js';
import { createSessionStore, type SessionStore } from './sessions.js';

/**
 * What the approval page and API keep about approvers between requests: their page sessions, their
 * personal API tokens, the failed sign-ins that throttle password guessing, and OIDC sign-ins under
 * way. In memory for one
 * Gatehouse; in PostgreSQL for replicas, so a browser or a program may reach any replica.
 */
export interface ApproverState {
  sessions: SessionStore;
  tokens: TokenStore;
  /** Failed local sign-ins, counted over `windowMs`. */
  signInFailures: AttemptLimiter;
  /** OIDC sign-ins under way (from /auth/login to /auth/callback). */
  oidcTransactions: OidcTransactionStore;
}

export interface ApproverStateLimits {
  sessionTtlMs: number;
  maxSessions: number;
  maxSessionsPerApprover: number;
  maxTokens: number;
  maxTokensPerApprover: number;
  signInWindowMs: number;
  /** Milliseconds since the epoch; tests move it. */
  now: () => number;
}

export type ApproverStateFactory = (limits: ApproverStateLimits) => ApproverState;

export const memoryApproverState: ApproverStateFactory = (limits) => ({
  sessions: createSessionStore({
    ttlMs: limits.sessionTtlMs,
    maxSessions: limits.maxSessions,
    maxPerApprover: limits.maxSessionsPerApprover,
    now: limits.now,
  }),
  tokens: createTokenStore({
    maxTokens: limits.maxTokens,
    maxPerPrincipal: limits.maxTokensPerApprover,
    now: limits.now,
  }),
  signInFailures: createAttemptLimiter({ windowMs: limits.signInWindowMs, now: limits.now }),
  oidcTransactions: memoryOidcTransactions(limits.now),
});
