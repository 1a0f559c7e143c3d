import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalRequest } from '../request.js';
import { OIDC_TRANSACTION_TTL_MS, OidcSignInError } from './auth/oidc.js';
import { cookieName, serializeCookie } from './cookies.js';
import { newToken, tokensMatch } from './csrf.js';
import {
  COOKIES,
  decodePathSegment,
  cookie,
  decisionBlocker,
  isSecure,
  safeNext,
  signedIn,
  type SignedIn,
  type WebContext,
} from './context.js';
import { inboxPage } from './pages/inbox.js';
import { messagePage, type Viewer } from './pages/layout.js';
import { requestPage } from './pages/request.js';
import { signInPage } from './pages/signIn.js';
import { tokensPage } from './pages/tokens.js';
import { problem, toProblem, type Problem } from './problems.js';
import { clientAddress, readForm, redirect, sendHtml } from './respond.js';

/**
 * The approval pages: server-rendered HTML, no script. GETs only read; every change (sign-in, sign-out,
 * a decision, a token) is a POST carrying the session's CSRF token (the sign-in form: a double-submit
 * token), answered with a 303 so a reload never repeats it.
 */
export type PageHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/** Recent (decided, closed) requests shown under the pending ones. */
const RECENT_LIMIT = 50;
const MAX_REASON = 2000;
const SIGN_IN_FORM_TTL_S = 3600;

export function pageRoutes(ctx: WebContext): PageHandler {
  const secure = () => isSecure(ctx);
  const setCookie = (
    base: keyof typeof COOKIES,
    value: string,
    maxAgeS: number,
    sameSite: 'Lax' | 'Strict' = 'Lax',
  ) =>
    serializeCookie(cookieName(COOKIES[base], secure()), value, {
      maxAge: maxAgeS,
      secure: secure(),
      sameSite,
    });
  const clearCookie = (base: keyof typeof COOKIES) => setCookie(base, '', 0);
  const viewerOf = (current: SignedIn): Viewer => ({
    principal: current.session.principal,
    csrfToken: current.session.csrfToken,
  });

  function showSignIn(
    res: ServerResponse,
    status: number,
    options: {
      next: string;
      error?: string;
      notice?: string;
      userId?: string;
      headers?: Record<string, string>;
    },
  ): void {
    const formToken = newToken();
    const page = signInPage({
      next: options.next,
      formToken,
      local: ctx.local.enabled,
      oidc: ctx.oidc !== undefined,
      ...(options.error ? { error: options.error } : {}),
      ...(options.notice ? { notice: options.notice } : {}),
      ...(options.userId ? { userId: options.userId } : {}),
    });
    sendHtml(res, status, page, {
      ...options.headers,
      'set-cookie': setCookie('signIn', formToken, SIGN_IN_FORM_TTL_S, 'Strict'),
    });
  }

  /** The signed-in approver of a GET, or a redirect to the sign-in page that comes back here. */
  function viewerOrSignIn(req: IncomingMessage, res: ServerResponse, url: URL): SignedIn | undefined {
    const { current, hadCookie } = signedIn(ctx, req);
    if (current) return current;
    const next = safeNext(url.pathname);
    redirect(res, `/approvals/sign-in?next=${encodeURIComponent(next)}${hadCookie ? '&expired=1' : ''}`);
    return undefined;
  }

  /**
   * The signed-in approver of a POST whose CSRF token matches, or an answer: 401 and the sign-in page
   * when the session is gone, 403 when the token is missing or wrong. Either way nothing changes.
   */
  function authorizedPost(
    req: IncomingMessage,
    res: ServerResponse,
    form: URLSearchParams,
    next: string,
  ): SignedIn | undefined {
    const { current, hadCookie } = signedIn(ctx, req);
    if (!current) {
      showSignIn(res, 401, {
        next,
        notice: hadCookie
          ? 'Your session has expired, so nothing was changed. Sign in again and review the request.'
          : 'Sign in first; nothing was changed.',
      });
      return undefined;
    }
    if (!tokensMatch(current.session.csrfToken, form.get('csrf'))) {
      ctx.log.warn(
        { approver: current.session.principal.id, path: req.url },
        'refused a POST with a missing or wrong CSRF token',
      );
      sendHtml(
        res,
        403,
        messagePage(
          'Not recorded',
          'This form was not sent from a current Gatehouse page (its CSRF token is missing or wrong), so nothing was changed. Reload the page and try again.',
          viewerOf(current),
        ),
      );
      return undefined;
    }
    return current;
  }

  async function inbox(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const current = viewerOrSignIn(req, res, url);
    if (!current) return;
    const now = ctx.now();
    const all = await ctx.service.list();
    const pending = all
      .filter((r) => r.state === 'pending')
      .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt))
      .map((request) => {
        const blocker = decisionBlocker(request, current.session.principal, now);
        return blocker === undefined ? { request } : { request, blocker };
      });
    const recent = all
      .filter((r) => r.state !== 'pending')
      .sort((a, b) => lastChange(b) - lastChange(a))
      .slice(0, RECENT_LIMIT);
    sendHtml(res, 200, inboxPage({ viewer: viewerOf(current), pending, recent, now }));
  }

  async function showRequest(
    res: ServerResponse,
    current: SignedIn,
    id: string,
    status = 200,
    extra: { problem?: Problem; reasonDraft?: string } = {},
  ): Promise<void> {
    const request = await ctx.service.get(id);
    if (!request) {
      sendHtml(res, 404, messagePage('Not found', `There is no approval request ${id}.`, viewerOf(current)));
      return;
    }
    const now = ctx.now();
    const blocker = decisionBlocker(request, current.session.principal, now);
    sendHtml(
      res,
      status,
      requestPage({
        request,
        viewer: viewerOf(current),
        now,
        ...(blocker !== undefined ? { blocker } : {}),
        ...extra,
      }),
    );
  }

  async function decide(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const form = await readForm(req);
    const current = authorizedPost(req, res, form, `/approvals/${encodeURIComponent(id)}`);
    if (!current) return;
    const decision = form.get('decision');
    const reason = (form.get('reason') ?? '').trim();
    const refuse = (p: Problem) =>
      showRequest(res, current, id, p.status, { problem: p, reasonDraft: reason });
    if (decision !== 'approve' && decision !== 'reject') {
      return refuse(problem(400, 'REQUEST_INVALID', 'the decision must be approve or reject'));
    }
    if (reason.length > MAX_REASON) {
      return refuse(problem(400, 'REQUEST_INVALID', `the reason is longer than ${MAX_REASON} characters`));
    }
    const approver = current.session.principal;
    try {
      await ctx.service.decide(id, { approver, decision, ...(reason ? { reason } : {}), channel: 'web' });
    } catch (error) {
      // Refusals re-render the request page with the reason (an unknown id: the not-found page).
      const p = toProblem(error, ctx.log);
      if (p.status >= 500) {
        sendHtml(res, p.status, messagePage('Not recorded', p.message, viewerOf(current)));
        return;
      }
      ctx.log.info({ approval: id, approver: approver.id, decision, code: p.code }, 'decision refused');
      return refuse(p);
    }
    ctx.log.info({ approval: id, approver: approver.id, decision, channel: 'web' }, 'decision recorded');
    redirect(res, `/approvals/${encodeURIComponent(id)}`);
  }

  function signInForm(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const next = safeNext(url.searchParams.get('next'));
    if (signedIn(ctx, req).current) return redirect(res, next);
    showSignIn(res, 200, {
      next,
      ...(url.searchParams.has('expired') ? { notice: 'Your session has expired; sign in again.' } : {}),
    });
  }

  async function signInLocal(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const next = safeNext(form.get('next'));
    const user = (form.get('user') ?? '').trim();
    const expected = cookie(ctx, req, 'signIn');
    if (!expected || !tokensMatch(expected, form.get('csrf'))) {
      return showSignIn(res, 403, {
        next,
        userId: user,
        error: 'The sign-in form had expired; please sign in again.',
      });
    }
    if (!ctx.local.enabled) return showSignIn(res, 404, { next, error: 'Local accounts are not enabled.' });
    const result = await ctx.local.signIn(user, form.get('password') ?? '', clientAddress(req));
    if (!result.ok) {
      ctx.log.warn(
        { user: user.slice(0, 64), client: clientAddress(req), reason: result.reason },
        'approver sign-in failed',
      );
      if (result.reason === 'throttled') {
        return showSignIn(res, 429, {
          next,
          userId: user,
          error: `Too many failed sign-ins. Try again in ${result.retryAfterSeconds} seconds.`,
          headers: { 'retry-after': String(result.retryAfterSeconds) },
        });
      }
      return showSignIn(res, 401, { next, userId: user, error: 'The user name or password is incorrect.' });
    }
    startSession(req, res, result.principal, 'local', next);
  }

  function startSession(
    req: IncomingMessage,
    res: ServerResponse,
    principal: { id: string; groups: readonly string[] },
    via: 'local' | 'oidc',
    next: string,
  ): void {
    // A fresh id at every sign-in: a session id planted before sign-in (fixation) never becomes valid.
    ctx.sessions.destroy(cookie(ctx, req, 'session'));
    const { id, session } = ctx.sessions.create(principal, via);
    ctx.log.info({ approver: principal.id, via, client: clientAddress(req) }, 'approver signed in');
    redirect(res, next, {
      'set-cookie': [
        setCookie('session', id, (session.expiresAt - session.createdAt) / 1000),
        clearCookie(via === 'local' ? 'signIn' : 'oidc'),
      ],
    });
  }

  async function signOut(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const current = authorizedPost(req, res, form, '/approvals');
    if (!current) return;
    ctx.sessions.destroy(current.id);
    ctx.log.info({ approver: current.session.principal.id }, 'approver signed out');
    redirect(res, '/approvals/sign-in', { 'set-cookie': clearCookie('session') });
  }

  async function oidcStart(res: ServerResponse, url: URL): Promise<void> {
    const next = safeNext(url.searchParams.get('next'));
    if (!ctx.oidc)
      return showSignIn(res, 404, { next, error: 'Sign-in with an OpenID provider is not configured.' });
    try {
      const { redirectTo, transaction } = await ctx.oidc.start(next);
      redirect(res, redirectTo, {
        'set-cookie': setCookie('oidc', transaction, OIDC_TRANSACTION_TTL_MS / 1000),
      });
    } catch (error) {
      if (!(error instanceof OidcSignInError)) throw error;
      showSignIn(res, 503, { next, error: error.message });
    }
  }

  async function oidcCallback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!ctx.oidc)
      return showSignIn(res, 404, {
        next: '/approvals',
        error: 'Sign-in with an OpenID provider is not configured.',
      });
    const callbackUrl = new URL(`${url.pathname}${url.search}`, ctx.baseUrl());
    try {
      const { principal, next } = await ctx.oidc.finish(cookie(ctx, req, 'oidc'), callbackUrl);
      startSession(req, res, principal, 'oidc', next);
    } catch (error) {
      if (!(error instanceof OidcSignInError)) throw error;
      ctx.log.warn({ client: clientAddress(req), problem: error.message }, 'approver OIDC sign-in failed');
      showSignIn(res, 401, { next: '/approvals', error: error.message });
    }
  }

  function tokenList(
    res: ServerResponse,
    current: SignedIn,
    extra: { issued?: ReturnType<WebContext['tokens']['issue']> } = {},
  ) {
    const now = ctx.now();
    sendHtml(
      res,
      200,
      tokensPage({
        viewer: viewerOf(current),
        tokens: ctx.tokens.listFor(current.session.principal.id),
        now,
        ...extra,
      }),
    );
  }

  async function createToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const current = authorizedPost(req, res, form, '/approvals/tokens');
    if (!current) return;
    const label = (form.get('label') ?? '').trim().slice(0, 100) || 'web';
    const issued = ctx.tokens.issue({
      principal: current.session.principal,
      via: current.session.via,
      label,
      ttlMs: ctx.config.approvers.sessionTtlMs,
    });
    ctx.log.info({ approver: current.session.principal.id, tokenId: issued.record.id }, 'API token issued');
    tokenList(res, current, { issued });
  }

  async function revokeToken(req: IncomingMessage, res: ServerResponse, tokenId: string): Promise<void> {
    const form = await readForm(req);
    const current = authorizedPost(req, res, form, '/approvals/tokens');
    if (!current) return;
    if (ctx.tokens.revoke(tokenId, current.session.principal.id)) {
      ctx.log.info({ approver: current.session.principal.id, tokenId }, 'API token revoked');
    }
    redirect(res, '/approvals/tokens');
  }

  return async (req, res, url) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const segments = path.split('/').slice(1).map(decodePathSegment);
    const allow = (methods: string, run: () => Promise<void> | void): Promise<boolean> => {
      if (!methods.split(',').includes(method ?? '')) {
        sendHtml(res, 405, messagePage('Method not allowed', `${req.method} is not allowed here.`), {
          allow: methods.replace('GET', 'GET,HEAD'),
        });
        return Promise.resolve(true);
      }
      return Promise.resolve(run()).then(() => true);
    };

    if (segments[0] === 'auth') {
      if (path === '/auth/login') return allow('GET', () => oidcStart(res, url));
      if (path === '/auth/callback') return allow('GET', () => oidcCallback(req, res, url));
      return false;
    }
    if (segments[0] !== 'approvals' || segments.includes(undefined)) return false;
    const [, first, second, third] = segments as string[];

    if (first === undefined) return allow('GET', () => inbox(req, res, url));
    if (first === 'sign-in' && !second) {
      return allow('GET,POST', () => (method === 'GET' ? signInForm(req, res, url) : signInLocal(req, res)));
    }
    if (first === 'sign-out' && !second) return allow('POST', () => signOut(req, res));
    if (first === 'tokens' && !second) {
      return allow('GET,POST', () => {
        if (method === 'POST') return createToken(req, res);
        const current = viewerOrSignIn(req, res, url);
        if (current) tokenList(res, current);
      });
    }
    if (first === 'tokens' && second && third === 'revoke' && segments.length === 4) {
      return allow('POST', () => revokeToken(req, res, second));
    }
    if (!second) {
      return allow('GET', () => {
        const current = viewerOrSignIn(req, res, url);
        return current && showRequest(res, current, first);
      });
    }
    if (second === 'decision' && segments.length === 3) return allow('POST', () => decide(req, res, first));
    sendHtml(res, 404, messagePage('Not found', 'There is no such page.'));
    return true;
  };
}

/** When a request last changed: what "recent" sorts by. */
function lastChange(request: ApprovalRequest): number {
  const times = [
    request.createdAt,
    request.closed?.at,
    request.execution?.finishedAt,
    request.execution?.startedAt,
    ...request.decisions.map((d) => d.at),
  ];
  return Math.max(...times.filter((t): t is string => t !== undefined).map(Date.parse));
}
