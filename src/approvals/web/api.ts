import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { isObject } from '../../shared/json.js';
import type { Redactor } from '../../redact/index.js';
import { outcomeOf, type Outcome } from '../outcome.js';
import { QUARANTINE_RECOVERY, type QuarantinedRecord } from '../quarantine.js';
import { APPROVAL_STATES, type ApprovalRequest, type ApprovalState, type Execution } from '../request.js';
import { tally } from '../states.js';
import type { ApiToken } from './auth/tokens.js';
import { decodePathSegment, type WebContext } from './context.js';
import { DecisionBodySchema, LIST_LIMIT, TokenRequestSchema } from './apiSchemas.js';
import { openApiDocument } from './openapi.js';
import { jsonProblem, problem, type Problem } from './problems.js';
import { clientAddress, readJsonBody, sendJson } from './respond.js';

/**
 * The approval API for programs and the CLI. Authentication is a personal API token
 * (`Authorization: Bearer gatehouse_…`), never a cookie, so no browser can be tricked into calling it
 * and it needs no CSRF token. Tokens come from the page (any sign-in method), or for local accounts
 * from POST /api/tokens with HTTP Basic credentials. Every answer is JSON; every error is
 * `{ error: { code, message } }` with the status of its kind and never a stack trace.
 *
 * Who sees what: one request (GET /api/approvals/:id, and a decision's answer) is shown exactly as
 * stored, arguments and result included, since an approver must see what runs. The list is an overview
 * that is easily copied into tickets and terminals: it carries redacted arguments (`argumentsRedacted`
 * names the replaced paths), and redacted result, error and reason texts.
 */
const REALM = 'gatehouse approvals';

/**
 * An approval request as the API shows it: as stored, plus the tally per requirement and, once it has
 * ended, its outcome (`executed-with-tool-error` when the tool ran and answered with an error).
 */
export type RequestView = ApprovalRequest & { tally: ReturnType<typeof tally>; outcome?: Outcome };

/** A quarantined record as the API shows it: state `quarantined`, why, what to do, the record as found. */
export type QuarantinedView = QuarantinedRecord & { state: 'quarantined'; recovery: string };

export type ApprovalView = RequestView | QuarantinedView;

/** The states `?state=` takes: a request's, and `quarantined` for records set aside. */
const ListedStateSchema = z.enum([...APPROVAL_STATES, 'quarantined']);

const ListQuerySchema = z.object({
  states: z.array(ListedStateSchema),
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT.max).default(LIST_LIMIT.default),
  cursor: z.string().optional(),
});

/** What is wrong with the list's query, naming the parameter. */
function describeQuery(error: z.ZodError): string {
  const issue = error.issues[0]!;
  if (issue.path[0] === 'states') {
    return `unknown state in ?state=; states are: ${ListedStateSchema.options.join(', ')}`;
  }
  return `?limit= takes a whole number from 1 to ${LIST_LIMIT.max} (default ${LIST_LIMIT.default})`;
}

export function view(request: ApprovalRequest, show?: (text: string) => string): RequestView {
  const outcome = outcomeOf(request, show);
  return { ...request, tally: tally(request), ...(outcome ? { outcome } : {}) };
}

export function quarantinedView(record: QuarantinedRecord): QuarantinedView {
  return { ...record, state: 'quarantined', recovery: QUARANTINE_RECOVERY };
}

export const isQuarantined = (view: ApprovalView): view is QuarantinedView => view.state === 'quarantined';

/** A request in the list: secrets in its arguments and texts replaced (audit.redact). */
export type RequestListItem = RequestView & { argumentsRedacted: string[] };
export type ApprovalListItem = RequestListItem | QuarantinedView;

export function listView(request: ApprovalRequest, redactor: Redactor): RequestListItem {
  const args = redactor.redactArguments(request.arguments);
  const text = (value: string) => redactor.redactText(value);
  return {
    ...view(request, text),
    arguments: args.value,
    argumentsRedacted: args.redacted,
    reason: text(request.reason),
    decisions: request.decisions.map((d) => (d.reason === undefined ? d : { ...d, reason: text(d.reason) })),
    ...(request.execution ? { execution: redactor.redactValue(request.execution) as Execution } : {}),
    ...(request.closed ? { closed: { ...request.closed, reason: text(request.closed.reason) } } : {}),
  };
}

/** A quarantined record in the list: the record as found, redacted like a request's arguments and texts. */
export function quarantinedListView(record: QuarantinedRecord, redactor: Redactor): QuarantinedView {
  const found = redactor.redactValue(record.record);
  const args = (record.record as { arguments?: unknown } | null)?.arguments;
  const redacted =
    found !== null && typeof found === 'object' && isObject(args)
      ? { ...found, arguments: redactor.redactArguments(args).value }
      : found;
  return {
    ...quarantinedView(record),
    problem: { ...record.problem, message: redactor.redactText(record.problem.message) },
    record: redacted,
  };
}

export function apiRoutes(ctx: WebContext) {
  const fail = (res: ServerResponse, p: Problem, headers: Record<string, string> = {}) =>
    sendJson(res, p.status, { error: { code: p.code, message: p.message } }, headers);

  /** The token behind `Authorization: Bearer`, or a 401 already sent. */
  async function authenticate(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ token: string; record: ApiToken } | undefined> {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      fail(
        res,
        problem(401, 'UNAUTHENTICATED', 'send an approver API token: Authorization: Bearer <token>'),
        {
          'www-authenticate': `Bearer realm="${REALM}"`,
        },
      );
      return undefined;
    }
    const record = await ctx.tokens.verify(match[1]!);
    if (!record) {
      fail(
        res,
        problem(401, 'UNAUTHENTICATED', 'the API token is unknown, revoked or expired; get a new one'),
        {
          'www-authenticate': `Bearer realm="${REALM}", error="invalid_token"`,
        },
      );
      return undefined;
    }
    return { token: match[1]!, record };
  }

  async function list(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!(await authenticate(req, res))) return;
    const query = ListQuerySchema.safeParse({
      states: url.searchParams
        .getAll('state')
        .flatMap((s) => s.split(','))
        .filter(Boolean),
      limit: url.searchParams.get('limit') ?? undefined,
      cursor: url.searchParams.get('cursor') ?? undefined,
    });
    if (!query.success) return fail(res, problem(400, 'REQUEST_INVALID', describeQuery(query.error)));
    const { states, limit, cursor } = query.data;
    const all = states.length === 0;
    const requestStates = states.filter((s): s is ApprovalState => s !== 'quarantined');
    const page =
      all || requestStates.length > 0
        ? await ctx.service.listPage(all ? {} : { states: requestStates }, { limit, cursor })
        : { requests: [] };
    // Quarantined records are few and outside the requests' order: the first page carries them all.
    const quarantined =
      cursor === undefined && (all || states.includes('quarantined')) ? await ctx.service.quarantined() : [];
    const approvals: ApprovalListItem[] = [
      ...page.requests.map((request) => listView(request, ctx.redactor)),
      ...quarantined.map((record) => quarantinedListView(record, ctx.redactor)),
    ];
    if (!page.next) return sendJson(res, 200, { approvals });
    // RFC 8288's next link, the same query with the cursor: what generic HTTP clients follow. A
    // reference by query alone resolves against the URL the client used, behind a proxy's path prefix too.
    const nextQuery = new URLSearchParams();
    if (!all) nextQuery.set('state', states.join(','));
    nextQuery.set('limit', String(limit));
    nextQuery.set('cursor', page.next);
    sendJson(res, 200, { approvals, next: page.next }, { link: `<?${nextQuery}>; rel="next"` });
  }

  async function get(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (!(await authenticate(req, res))) return;
    const request = await ctx.service.get(id);
    if (request) return sendJson(res, 200, { approval: view(request) });
    const quarantined = (await ctx.service.quarantined()).find((q) => q.id === id);
    if (quarantined) return sendJson(res, 200, { approval: quarantinedView(quarantined) });
    fail(res, problem(404, 'APPROVAL_NOT_FOUND', `no approval request with id ${id}`));
  }

  async function decide(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const auth = await authenticate(req, res);
    if (!auth) return;
    const body = DecisionBodySchema.safeParse(await readJsonBody(req));
    if (!body.success) return fail(res, problem(400, 'REQUEST_INVALID', describeIssues(body.error)));
    const approver = auth.record.principal;
    const { decision } = body.data;
    const reason = body.data.reason?.trim();
    const decided = await ctx.service.decide(id, {
      approver,
      decision,
      ...(reason ? { reason } : {}),
      channel: 'api',
    });
    ctx.log.info(
      { approval: id, approver: approver.id, decision, channel: 'api', tokenId: auth.record.id },
      'decision recorded',
    );
    sendJson(res, 200, { approval: view(decided) });
  }

  /** A token for a local account in exchange for its password (HTTP Basic): how the CLI signs in. */
  async function issueToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    const challenge = { 'www-authenticate': `Basic realm="${REALM}", charset="UTF-8"` };
    if (!match) {
      return fail(
        res,
        problem(401, 'UNAUTHENTICATED', 'send a local approver account with HTTP Basic authentication'),
        challenge,
      );
    }
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      return fail(res, problem(400, 'REQUEST_INVALID', 'malformed Basic credentials'), challenge);
    const hasBody =
      req.headers['content-type'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    const body = TokenRequestSchema.safeParse(hasBody ? await readJsonBody(req, 4096) : {});
    if (!body.success) return fail(res, problem(400, 'REQUEST_INVALID', describeIssues(body.error)));

    const result = await ctx.local.signIn(
      decoded.slice(0, colon),
      decoded.slice(colon + 1),
      clientAddress(req),
    );
    if (!result.ok) {
      if (result.reason === 'throttled') {
        return fail(
          res,
          problem(
            429,
            'RATE_LIMITED',
            `too many failed sign-ins; try again in ${result.retryAfterSeconds} s`,
          ),
          {
            'retry-after': String(result.retryAfterSeconds),
          },
        );
      }
      ctx.log.warn(
        { user: decoded.slice(0, Math.min(colon, 64)), client: clientAddress(req) },
        'approver API sign-in failed',
      );
      return fail(res, problem(401, 'UNAUTHENTICATED', 'the user name or password is incorrect'), challenge);
    }
    const maxMs = ctx.config.approvers.sessionTtlMs;
    const ttlMs = Math.min(maxMs, (body.data.ttlSeconds ?? maxMs / 1000) * 1000);
    const { token, record } = await ctx.tokens.issue({
      principal: result.principal,
      via: 'local',
      label: body.data.label ?? 'api',
      ttlMs,
    });
    ctx.log.info(
      { approver: record.principal.id, tokenId: record.id, client: clientAddress(req) },
      'API token issued',
    );
    sendJson(res, 201, {
      token,
      id: record.id,
      label: record.label,
      expiresAt: new Date(record.expiresAt).toISOString(),
      principal: record.principal,
    });
  }

  async function revokeCurrent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = await authenticate(req, res);
    if (!auth) return;
    await ctx.tokens.revokeSecret(auth.token);
    sendJson(res, 204, undefined);
  }

  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname.replace(/\/+$/, '');
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    /** Runs `handle` for the allowed method, else answers 405; either way the request is answered. */
    const on = async (allowed: string, handle: () => Promise<void> | void): Promise<boolean> => {
      if (method === allowed) await handle();
      else {
        fail(
          res,
          problem(
            405,
            'METHOD_NOT_ALLOWED',
            `${req.method} is not allowed on ${url.pathname}; use ${allowed}`,
          ),
          {
            allow: allowed === 'GET' ? 'GET, HEAD' : allowed,
          },
        );
      }
      return true;
    };

    if (path === '/api/openapi.json') return on('GET', () => sendJson(res, 200, openApiDocument()));
    if (path === '/api/tokens') return on('POST', () => issueToken(req, res));
    if (path === '/api/tokens/current') return on('DELETE', () => revokeCurrent(req, res));
    if (path === '/api/approvals') return on('GET', () => list(req, res, url));
    const match = /^\/api\/approvals\/([^/]+)(\/decision)?$/.exec(path);
    const id = match ? decodePathSegment(match[1]!) : undefined;
    if (!match || id === undefined) {
      fail(res, problem(404, 'NOT_FOUND', `no API route ${url.pathname}`));
      return true;
    }
    if (match[2]) return on('POST', () => decide(req, res, id));
    return on('GET', () => get(req, res, id));
  }

  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    try {
      return await route(req, res, url);
    } catch (error) {
      fail(res, jsonProblem(error, ctx.log));
      return true;
    }
  };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
}
