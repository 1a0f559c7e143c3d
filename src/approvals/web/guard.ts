import type { IncomingMessage, ServerResponse } from 'node:http';
import { cookieName, serializeCookie } from './cookies.js';
import { newToken, tokensMatch } from './csrf.js';
import { COOKIES, isSecure, safeNext, signedIn, type SignedIn, type WebContext } from './context.js';
import { messagePage, type Viewer } from './pages/layout.js';
import { signInPage } from './pages/signIn.js';
import { redirect, sendHtml } from './respond.js';

/**
 * Who is asking, for the pages: the signed-in approver of a GET (else a redirect to sign in), the
 * signed-in approver of a POST whose CSRF token matches (else 401 or 403 and nothing changes), and the
 * cookies that carry sessions and sign-in forms.
 */
export type PageGuard = ReturnType<typeof createPageGuard>;

const SIGN_IN_FORM_TTL_S = 3600;

export function createPageGuard(ctx: WebContext) {
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
  async function viewerOrSignIn(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
  ): Promise<SignedIn | undefined> {
    const { current, hadCookie } = await signedIn(ctx, req);
    if (current) return current;
    const next = safeNext(url.pathname);
    redirect(res, `/approvals/sign-in?next=${encodeURIComponent(next)}${hadCookie ? '&expired=1' : ''}`);
    return undefined;
  }

  /**
   * The signed-in approver of a POST whose CSRF token matches, or an answer: 401 and the sign-in page
   * when the session is gone, 403 when the token is missing or wrong. Either way nothing changes.
   */
  async function authorizedPost(
    req: IncomingMessage,
    res: ServerResponse,
    form: URLSearchParams,
    next: string,
  ): Promise<SignedIn | undefined> {
    const { current, hadCookie } = await signedIn(ctx, req);
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

  return { setCookie, clearCookie, viewerOf, showSignIn, viewerOrSignIn, authorizedPost };
}
