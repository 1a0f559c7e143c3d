import type { IncomingMessage, ServerResponse } from 'node:http';
import { OIDC_TRANSACTION_TTL_MS, OidcSignInError } from './auth/oidc.js';
import { cookie, safeNext, signedIn, type WebContext } from './context.js';
import { tokensMatch } from './csrf.js';
import type { PageGuard } from './guard.js';
import { clientAddress, readForm, redirect } from './respond.js';

/**
 * Signing in and out: the local form (double-submit token, limited attempts, one answer for every
 * wrong name or password), the OIDC redirect and callback, and sign-out. Every sign-in starts a fresh
 * session id.
 */
export function signInRoutes(ctx: WebContext, guard: PageGuard) {
  const { showSignIn, setCookie, clearCookie, authorizedPost } = guard;

  async function signInForm(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const next = safeNext(url.searchParams.get('next'));
    if ((await signedIn(ctx, req)).current) return redirect(res, next);
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
    await startSession(req, res, result.principal, 'local', next);
  }

  async function startSession(
    req: IncomingMessage,
    res: ServerResponse,
    principal: { id: string; groups: readonly string[] },
    via: 'local' | 'oidc',
    next: string,
  ): Promise<void> {
    // A fresh id at every sign-in: a session id planted before sign-in (fixation) never becomes valid.
    await ctx.sessions.destroy(cookie(ctx, req, 'session'));
    const { id, session } = await ctx.sessions.create(principal, via);
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
    const current = await authorizedPost(req, res, form, '/approvals');
    if (!current) return;
    await ctx.sessions.destroy(current.id);
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
      await startSession(req, res, principal, 'oidc', next);
    } catch (error) {
      if (!(error instanceof OidcSignInError)) throw error;
      ctx.log.warn({ client: clientAddress(req), problem: error.message }, 'approver OIDC sign-in failed');
      showSignIn(res, 401, { next: '/approvals', error: error.message });
    }
  }

  return { signInForm, signInLocal, signOut, oidcStart, oidcCallback };
}
