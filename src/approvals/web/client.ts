import { undici } from '../../shared/undici.js';
import type { ApprovalListItem, ApprovalView, RequestView } from './api.js';
import { LIST_LIMIT } from './apiSchemas.js';

/**
 * A client of the approval API, for `gatehouse approvals`. With a token it uses it; with a local
 * account it exchanges the password for a short-lived token (POST /api/tokens, HTTP Basic) and revokes
 * that token on close. Secrets go in headers only: never in a URL, a log line or an error message.
 */
export type Credentials = { token: string } | { user: string; password: string };

export interface ApprovalsClient {
  /**
   * Arguments and texts redacted, as the API lists them, the latest created first: every page, or up
   * to `limit`; `more` when the API had more to give.
   */
  list(states?: readonly string[], limit?: number): Promise<{ listed: ApprovalListItem[]; more: boolean }>;
  get(id: string): Promise<ApprovalView>;
  decide(id: string, decision: 'approve' | 'reject', reason?: string): Promise<RequestView>;
  /** Revokes a token this client obtained itself; a token it was given is left alone. */
  close(): Promise<void>;
}

/** The API refused, or no Gatehouse answered; `message` is fit to print. */
export class ApprovalApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApprovalApiError';
  }
}

/** How long the CLI's own token lives: enough for one command, little to lose if it leaks. */
const CLI_TOKEN_TTL_SECONDS = 300;
const TIMEOUT_MS = 15_000;

export async function connectApprovals(baseUrl: string, credentials: Credentials): Promise<ApprovalsClient> {
  const base = baseUrl.replace(/\/+$/, '');
  let token: string;
  let owned = false;
  if ('token' in credentials) {
    token = credentials.token;
  } else {
    const basic = Buffer.from(`${credentials.user}:${credentials.password}`, 'utf8').toString('base64');
    const issued = (await call(base, 'POST', '/api/tokens', `Basic ${basic}`, {
      label: 'gatehouse approvals (CLI)',
      ttlSeconds: CLI_TOKEN_TTL_SECONDS,
    })) as { token: string };
    token = issued.token;
    owned = true;
  }
  const bearer = `Bearer ${token}`;
  const one = async <T extends ApprovalView>(path: string, method: 'GET' | 'POST' = 'GET', body?: unknown) =>
    ((await call(base, method, path, bearer, body)) as { approval: T }).approval;

  return {
    // Page after page from the first, until the API has no more or `limit` requests are in. The
    // limit counts requests: quarantined records (all on the first page) are always shown.
    async list(states = [], limit = Infinity) {
      const query = new URLSearchParams({ limit: String(Math.min(limit, LIST_LIMIT.max)) });
      if (states.length > 0) query.set('state', states.join(','));
      const requests: ApprovalListItem[] = [];
      const quarantined: ApprovalListItem[] = [];
      for (;;) {
        const page = (await call(base, 'GET', `/api/approvals?${query}`, bearer)) as {
          approvals: ApprovalListItem[];
          next?: string;
        };
        for (const item of page.approvals) (item.state === 'quarantined' ? quarantined : requests).push(item);
        if (requests.length >= limit || !page.next) {
          const more = requests.length > limit || (requests.length >= limit && page.next !== undefined);
          return { listed: [...requests.slice(0, limit), ...quarantined], more };
        }
        query.set('cursor', page.next);
      }
    },
    get: (id) => one(`/api/approvals/${encodeURIComponent(id)}`),
    // Only a request takes decisions: a quarantined record is refused with 409.
    decide: (id, decision, reason) =>
      one<RequestView>(`/api/approvals/${encodeURIComponent(id)}/decision`, 'POST', {
        decision,
        ...(reason ? { reason } : {}),
      }),
    async close() {
      if (owned) await call(base, 'DELETE', '/api/tokens/current', bearer).catch(() => undefined);
    },
  };
}

async function call(
  base: string,
  method: string,
  path: string,
  authorization: string,
  body?: unknown,
): Promise<unknown> {
  let response;
  try {
    response = await undici().request(`${base}${path}`, {
      method: method as 'GET',
      headers: {
        authorization,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
  } catch (error) {
    throw new ApprovalApiError(
      `no Gatehouse answering at ${base} (${(error as Error).message})`,
      0,
      'UNREACHABLE',
    );
  }
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (response.statusCode >= 200 && response.statusCode < 300) return json;
  const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (error && typeof error.message === 'string') {
    throw new ApprovalApiError(
      error.message,
      response.statusCode,
      typeof error.code === 'string' ? error.code : 'HTTP',
    );
  }
  throw new ApprovalApiError(
    `HTTP ${response.statusCode} from ${base}${path}: is this a Gatehouse with the approval API?`,
    response.statusCode,
    'HTTP',
  );
}
