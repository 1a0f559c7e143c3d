import type { IncomingMessage, ServerResponse } from 'node:http';
import { lastChangeOf } from '../request.js';
import { decodePathSegment, decisionBlocker, type SignedIn, type WebContext } from './context.js';
import { createPageGuard } from './guard.js';
import { historyPage, inboxPage, listedRequest } from './pages/inbox.js';
import { quarantinedPage } from './pages/quarantined.js';
import { messagePage } from './pages/layout.js';
import { requestPage } from './pages/request.js';
import { problem, toProblem, type Problem } from './problems.js';
import { readForm, redirect, sendHtml } from './respond.js';
import { signInRoutes } from './signIn.js';
import { tokenRoutes } from './tokenPages.js';

/**
 * The approval pages: server-rendered HTML, no script. GETs only read; every change (sign-in, sign-out,
 * a decision, a token) is a POST carrying the session's CSRF token (the sign-in form: a double-submit
 * token), answered with a 303 so a reload never repeats it.
 */
export type PageHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

/** Recent (decided, closed) requests shown under the pending ones; requests on a page of the history. */
const RECENT_LIMIT = 50;
const HISTORY_PAGE = 50;
const MAX_REASON = 2000;

export function pageRoutes(ctx: WebContext): PageHandler {
  const guard = createPageGuard(ctx);
  const { viewerOf, viewerOrSignIn, authorizedPost } = guard;
  const { signInForm, signInLocal, signOut, oidcStart, oidcCallback } = signInRoutes(ctx, guard);
  const { tokenList, createToken, revokeToken } = tokenRoutes(ctx, guard);

  async function inbox(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const current = await viewerOrSignIn(req, res, url);
    if (!current) return;
    const now = ctx.now();
    const pending = (await ctx.service.list({ states: ['pending'] }))
      .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt))
      .map((request) => {
        const blocker = decisionBlocker(request, current.session.principal, now);
        const listed = listedRequest(request, ctx.redactor);
        return blocker === undefined ? listed : { ...listed, blocker };
      });
    // Read as of now, a request can change its last moment (one past its expiry reads expired then).
    const recent = (await ctx.service.recentlyChanged(RECENT_LIMIT))
      .sort((a, b) => Date.parse(lastChangeOf(b)) - Date.parse(lastChangeOf(a)))
      .map((request) => listedRequest(request, ctx.redactor));
    const quarantined = await ctx.service.quarantined();
    sendHtml(res, 200, inboxPage({ viewer: viewerOf(current), pending, recent, quarantined, now }));
  }

  async function history(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const current = await viewerOrSignIn(req, res, url);
    if (!current) return;
    const cursor = url.searchParams.get('cursor') || undefined;
    const page = await ctx.service.listPage({}, { limit: HISTORY_PAGE, ...(cursor ? { cursor } : {}) });
    const entries = page.requests.map((request) => listedRequest(request, ctx.redactor));
    sendHtml(
      res,
      200,
      historyPage({
        viewer: viewerOf(current),
        entries,
        ...(page.next ? { next: page.next } : {}),
        later: cursor !== undefined,
        now: ctx.now(),
      }),
    );
  }

  async function showRequest(
    res: ServerResponse,
    current: SignedIn,
    id: string,
    status = 200,
    extra: { problem?: Problem; reasonDraft?: string } = {},
  ): Promise<void> {
    const request = await ctx.service.get(id);
    const now = ctx.now();
    if (!request) {
      const record = (await ctx.service.quarantined()).find((q) => q.id === id);
      if (record) {
        const { problem } = extra;
        sendHtml(
          res,
          status,
          quarantinedPage({ record, viewer: viewerOf(current), now, ...(problem ? { problem } : {}) }),
        );
        return;
      }
      sendHtml(res, 404, messagePage('Not found', `There is no approval request ${id}.`, viewerOf(current)));
      return;
    }
    const blocker = decisionBlocker(request, current.session.principal, now);
    const currentDefinition = ctx.service.currentToolDefinition?.(request.server, request.tool);
    const deliveries = await ctx.deliveries?.(id);
    sendHtml(
      res,
      status,
      requestPage({
        request,
        viewer: viewerOf(current),
        now,
        ...(currentDefinition ? { currentDefinition } : {}),
        ...(deliveries ? { deliveries } : {}),
        ...(blocker !== undefined ? { blocker } : {}),
        ...extra,
      }),
    );
  }

  async function decide(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const form = await readForm(req);
    const current = await authorizedPost(req, res, form, `/approvals/${encodeURIComponent(id)}`);
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
      return allow('GET,POST', async () => {
        if (method === 'POST') return createToken(req, res);
        const current = await viewerOrSignIn(req, res, url);
        if (current) await tokenList(res, current);
      });
    }
    if (first === 'tokens' && second && third === 'revoke' && segments.length === 4) {
      return allow('POST', () => revokeToken(req, res, second));
    }
    if (first === 'history' && !second) return allow('GET', () => history(req, res, url));
    if (!second) {
      return allow('GET', async () => {
        const current = await viewerOrSignIn(req, res, url);
        return current && showRequest(res, current, first);
      });
    }
    if (second === 'decision' && segments.length === 3) return allow('POST', () => decide(req, res, first));
    sendHtml(res, 404, messagePage('Not found', 'There is no such page.'));
    return true;
  };
}
