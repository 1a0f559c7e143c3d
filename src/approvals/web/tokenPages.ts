import type { ServerResponse, IncomingMessage } from 'node:http';
import type { SignedIn, WebContext } from './context.js';
import type { PageGuard } from './guard.js';
import { tokensPage } from './pages/tokens.js';
import { readForm, redirect, sendHtml } from './respond.js';

/** The page where a signed-in approver creates (shown once), lists and revokes personal API tokens. */
export function tokenRoutes(ctx: WebContext, guard: PageGuard) {
  const { viewerOf, authorizedPost } = guard;

  async function tokenList(
    res: ServerResponse,
    current: SignedIn,
    extra: { issued?: Awaited<ReturnType<WebContext['tokens']['issue']>> } = {},
  ) {
    const now = ctx.now();
    sendHtml(
      res,
      200,
      tokensPage({
        viewer: viewerOf(current),
        tokens: await ctx.tokens.listFor(current.session.principal.id),
        now,
        ...extra,
      }),
    );
  }

  async function createToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const current = await authorizedPost(req, res, form, '/approvals/tokens');
    if (!current) return;
    const label = (form.get('label') ?? '').trim().slice(0, 100) || 'web';
    const issued = await ctx.tokens.issue({
      principal: current.session.principal,
      via: current.session.via,
      label,
      ttlMs: ctx.config.approvers.sessionTtlMs,
    });
    ctx.log.info({ approver: current.session.principal.id, tokenId: issued.record.id }, 'API token issued');
    await tokenList(res, current, { issued });
  }

  async function revokeToken(req: IncomingMessage, res: ServerResponse, tokenId: string): Promise<void> {
    const form = await readForm(req);
    const current = await authorizedPost(req, res, form, '/approvals/tokens');
    if (!current) return;
    if (await ctx.tokens.revoke(tokenId, current.session.principal.id)) {
      ctx.log.info({ approver: current.session.principal.id, tokenId }, 'API token revoked');
    }
    redirect(res, '/approvals/tokens');
  }

  return { tokenList, createToken, revokeToken };
}
