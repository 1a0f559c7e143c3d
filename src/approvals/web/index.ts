import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { createRedactor } from '../../redact/index.js';
import type { ApprovalService } from '../service.js';
import { apiRoutes } from './api.js';
import { memoryApproverState, type ApproverStateFactory } from './approverState.js';
import { SIGN_IN_LIMITS, createLocalAuth } from './auth/local.js';
import { createOidcAuth } from './auth/oidc.js';
import type { WebContext } from './context.js';
import { messagePage } from './pages/layout.js';
import { toProblem } from './problems.js';
import { BodyError, sendHtml } from './respond.js';
import { pageRoutes } from './routes.js';

/**
 * The approval page and API, the embedded default channel, served on Gatehouse's HTTP listener after
 * its Host/Origin checks:
 *
 *   GET  /approvals                      inbox: pending requests, then recent ones
 *   GET  /approvals/:id                  one request: arguments with suspicious Unicode flagged, tally, history
 *   POST /approvals/:id/decision         approve, or reject with a reason (CSRF token)
 *   GET  /approvals/sign-in, POST        local accounts; GET /auth/login, /auth/callback for OIDC
 *   POST /approvals/sign-out
 *   GET  /approvals/tokens, POST         personal API tokens; POST /approvals/tokens/:tid/revoke
 *   GET  /api/approvals[?state=…]        JSON API, Authorization: Bearer <token>; arguments redacted
 *   GET  /api/approvals/:id              one request exactly, as the page shows it
 *   POST /api/approvals/:id/decision     {decision: 'approve'|'reject', reason?}
 *   POST /api/tokens                     a token for a local account (HTTP Basic); DELETE /api/tokens/current
 *
 * Sessions, tokens and failed sign-ins live in memory (a restart signs everyone out and revokes every
 * token), or in PostgreSQL when replicas share them (`approverState`).
 */
export interface ApprovalWebOptions {
  service: ApprovalService;
  config: Config;
  logger: Logger;
  /** Where approvers reach Gatehouse (approvals.publicUrl or the listener): OIDC redirect URI, Secure cookies. */
  baseUrl: () => string;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
  /** A request's deliveries to channels, shown on its page. */
  deliveries?: WebContext['deliveries'];
  /** Where sessions, tokens and failed sign-ins are kept; default: in memory. */
  approverState?: ApproverStateFactory;
}

export interface ApprovalWeb {
  /** Answers the request when it is one of the paths above; resolves false for any other path. */
  routes(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /** Signed-in page sessions and personal API tokens held now (for status). */
  counts(): { sessions: number; tokens: number };
  /** Whether anyone can sign in (a local account or OIDC); the ready line says how to add one if not. */
  readonly canSignIn: boolean;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 60_000;

/** Throws CONFIG_INVALID when an approver's password hash is malformed: checked once, at start. */
export function createApprovalWeb(options: ApprovalWebOptions): ApprovalWeb {
  const { service, config, baseUrl, now = Date.now } = options;
  const log = options.logger.child({ module: 'approvals-web' });
  const oidcSettings = config.approvers.oidc;
  const state = (options.approverState ?? memoryApproverState)({
    sessionTtlMs: config.approvers.sessionTtlMs,
    maxSessions: config.approvers.maxSessions,
    maxSessionsPerApprover: config.approvers.maxSessionsPerApprover,
    maxTokens: config.approvers.maxTokens,
    maxTokensPerApprover: config.approvers.maxTokensPerApprover,
    signInWindowMs: SIGN_IN_LIMITS.windowMs,
    now,
  });
  const ctx: WebContext = {
    service,
    config,
    sessions: state.sessions,
    tokens: state.tokens,
    local: createLocalAuth(config.approvers.accounts, now, state.signInFailures),
    oidc: oidcSettings
      ? createOidcAuth({
          settings: oidcSettings,
          redirectUri: () => `${baseUrl()}/auth/callback`,
          logger: log,
          now,
          transactions: state.oidcTransactions,
        })
      : undefined,
    log,
    redactor: createRedactor(config.audit.redact),
    now,
    baseUrl,
    ...(options.deliveries ? { deliveries: options.deliveries } : {}),
  };
  const pages = pageRoutes(ctx);
  const api = apiRoutes(ctx);
  const sweeper = setInterval(() => {
    Promise.all([ctx.sessions.sweep(), ctx.tokens.sweep()]).catch((error: unknown) =>
      log.warn({ reason: String(error) }, 'sweeping approver sessions and tokens failed'),
    );
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  return {
    async routes(req, res) {
      const url = new URL(req.url ?? '/', 'http://gatehouse.invalid');
      if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
        if (!/^\/api\/(approvals|tokens|openapi\.json)(\/|$)/.test(url.pathname)) return false;
        return api(req, res, url);
      }
      try {
        return await pages(req, res, url);
      } catch (error) {
        if (res.headersSent) {
          log.error({ err: error }, 'approval page failed after answering');
          res.end();
          return true;
        }
        if (error instanceof BodyError) {
          sendHtml(
            res,
            error.status,
            messagePage('Not recorded', `The form could not be read: ${error.message}.`),
          );
          return true;
        }
        const p = toProblem(error, log);
        sendHtml(res, p.status, messagePage('Something went wrong', p.message));
        return true;
      }
    },
    counts: () => ({ sessions: ctx.sessions.size, tokens: ctx.tokens.size }),
    canSignIn: ctx.local.enabled || ctx.oidc !== undefined,
    async close() {
      clearInterval(sweeper);
    },
  };
}
