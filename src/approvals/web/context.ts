import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Redactor } from '../../redact/index.js';
import { GatehouseError } from '../../errors.js';
import type { Identity } from '../request.js';
import type { ApprovalService } from '../service.js';
import { applyDecision } from '../states.js';
import type { ApprovalRequest } from '../request.js';
import type { DeliveryRecord } from '../channels/delivery.js';
import type { LocalAuth } from './auth/local.js';
import type { OidcAuth } from './auth/oidc.js';
import type { TokenStore } from './auth/tokens.js';
import { cookieName, parseCookies } from './cookies.js';
import type { Session, SessionStore } from './sessions.js';

/** What the page and API handlers share: built once by createApprovalWeb. */
export interface WebContext {
  service: ApprovalService;
  config: Config;
  sessions: SessionStore;
  tokens: TokenStore;
  local: LocalAuth;
  oidc: OidcAuth | undefined;
  log: Logger;
  /** What list views leave out (audit.redact); one request is always shown exactly. */
  redactor: Redactor;
  now: () => number;
  baseUrl: () => string;
  /** A request's deliveries to channels, for its page (absent without an outbox). */
  deliveries?: (approvalId: string) => Promise<DeliveryRecord[]>;
}

export const COOKIES = {
  session: 'gatehouse_session',
  signIn: 'gatehouse_signin',
  oidc: 'gatehouse_oidc',
} as const;

/** Cookies are Secure (and `__Host-`) when approvers reach Gatehouse over https. */
export function isSecure(ctx: WebContext): boolean {
  return new URL(ctx.baseUrl()).protocol === 'https:';
}

export function cookie(
  ctx: WebContext,
  req: IncomingMessage,
  base: keyof typeof COOKIES,
): string | undefined {
  return parseCookies(req.headers.cookie).get(cookieName(COOKIES[base], isSecure(ctx)));
}

export interface SignedIn {
  /** The cookie value: the session's secret id. */
  id: string;
  session: Session;
}

/** The live session of this request, if any; `hadCookie` tells an expired session from none. */
export async function signedIn(
  ctx: WebContext,
  req: IncomingMessage,
): Promise<{ current?: SignedIn; hadCookie: boolean }> {
  const id = cookie(ctx, req, 'session');
  const session = await ctx.sessions.get(id);
  return { current: session && id ? { id, session } : undefined, hadCookie: id !== undefined };
}

/**
 * Why `viewer` cannot decide on `request` right now, in the state machine's own words, or undefined
 * when an approval from them would be accepted. A dry run of the real rule, so the page never
 * disagrees with what a POST would do.
 */
export function decisionBlocker(request: ApprovalRequest, viewer: Identity, now: number): string | undefined {
  try {
    applyDecision(request, { approver: viewer, decision: 'approve' }, new Date(now));
    return undefined;
  } catch (error) {
    if (error instanceof GatehouseError) return error.message;
    throw error;
  }
}

/** `next` after sign-in: only a page of the approval UI, so the parameter cannot redirect elsewhere. */
export function safeNext(next: string | null | undefined): string {
  if (!next || !/^\/approvals(?:\/[A-Za-z0-9._~%:@!$&'()*+,;=-]*)*$/.test(next)) return '/approvals';
  // Dot segments (also percent-encoded, which URLs resolve alike) would climb out of /approvals.
  return next.split('/').some((segment) => /^(?:\.|%2e){1,2}$/i.test(segment)) ? '/approvals' : next;
}

/** A path segment decoded; undefined for malformed percent-encoding (the route then does not match). */
export function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
