import { createAttemptLimiter, type AttemptLimiter } from './auth/limiter.js';
import { createTokenStore, type TokenStore } from './auth/tokens.js';
import { createSessionStore, type SessionStore } from './sessions.js';

/**
 * What the approval page and API keep about approvers between requests: their page sessions, their
 * personal API tokens, and the failed sign-ins that throttle password guessing. In memory for one
 * Gatehouse; in PostgreSQL for replicas, so a browser or a program may reach any replica.
 */
export interface ApproverState {
  sessions: SessionStore;
  tokens: TokenStore;
  /** Failed local sign-ins, counted over `windowMs`. */
  signInFailures: AttemptLimiter;
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
});
