import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../config/schema.js';
import {
  bearerRefusal,
  resourceMetadata,
  type AuthFailure,
  type ChallengeHints,
  type HttpAuthenticator,
  type ResourceMetadata,
} from '../identity/index.js';
import type { Logger } from '../log.js';
import { isLoopbackHost } from '../shared/loopback.js';
import { announceRoots, createSession, subscribers, type FrontDeps } from './session.js';
import { isClientAborted, readBoundedBody } from '../shared/body.js';
import { createSessionTable, type SessionCounts } from './httpSessions.js';
import { HttpSessionTransport, replyError, SERVER_ERROR } from './httpTransport.js';
import type { ModernFront } from './era2026/dispatch.js';
import { isModernPost, serveModernPost } from './era2026/http.js';

export interface HttpFrontOptions {
  config: Config;
  deps: FrontDeps;
  /** Serve MCP on /mcp (`serve --http`); the listener also serves /status and /healthz. */
  serveMcp: boolean;
  /** Who an /mcp request comes from; every request is authenticated, not just initialize. */
  authenticator: HttpAuthenticator;
  status: () => unknown;
  logger: Logger;
  /**
   * More routes on this listener (the approval page and API). Resolves true when it answered the
   * request; runs after the Host/Origin checks.
   */
  routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Serves 2026-07-28 requests (no session) beside the legacy sessions; absent: legacy only. */
  modern?: ModernFront;
}

export interface HttpFrontStatus {
  /** Requests whose client hung up before its body was complete, since start. */
  abortedRequests: number;
  /** The MCP sessions of this listener (none unless it serves /mcp). */
  sessions: SessionCounts;
}

export interface HttpFront {
  url: string;
  port: number;
  status(): HttpFrontStatus;
  close(): Promise<void>;
}

/**
 * Gatehouse's HTTP listener, on 127.0.0.1 by default. Every request first passes the DNS-rebinding
 * checks (Host must name this listener, a browser Origin must be allowed), then routes by path.
 */
export async function startHttpFront(options: HttpFrontOptions): Promise<HttpFront> {
  const { config, deps, logger } = options;
  const log = logger.child({ module: 'http' });
  /** Open MCP sessions, each with the principal that opened it: only that principal may use it. */
  const sessions = createSessionTable<HttpSessionTransport>(config.sessions, log);
  let abortedRequests = 0;
  let allowedHosts = new Set<string>();
  const jwt = options.serveMcp ? config.identity.jwt : undefined;
  /**
   * The protected-resource metadata, when callers may bring tokens from an issuer. Without a
   * configured `resource` the MCP URL is the one the client used: its Host passed the checks above,
   * so it names this listener.
   */
  const metadataFor = (req: IncomingMessage): ResourceMetadata | undefined =>
    jwt && resourceMetadata(jwt, jwt.resource ?? `http://${req.headers.host}/mcp`);
  // Approvers reach the page at approvals.publicUrl (a reverse proxy): its host and origin are ours too.
  const publicUrl = config.approvals.publicUrl ? new URL(config.approvals.publicUrl) : undefined;
  const allowedOrigins = [...config.http.allowedOrigins, ...(publicUrl ? [publicUrl.origin] : [])];

  const server: HttpServer = createServer((req, res) => {
    void route(req, res).catch((error: unknown) => {
      if (isClientAborted(error)) {
        // Anyone can hang up mid-upload, signed in or not: nothing of ours failed.
        abortedRequests += 1;
        log.debug({ path: pathOf(req.url ?? '/'), remote: req.socket.remoteAddress }, error.message);
        return;
      }
      log.error({ err: error }, 'HTTP request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = checkHostAndOrigin(req, allowedHosts, allowedOrigins);
    if (refusal) {
      log.warn({ host: req.headers.host, origin: req.headers.origin }, refusal);
      replyError(res, 403, ErrorCode.InvalidRequest, refusal);
      return;
    }
    const path = pathOf(req.url ?? '/');
    if (path === '/healthz') return json(res, 200, { ok: true });
    const metadata = path.startsWith('/.well-known/') ? metadataFor(req) : undefined;
    if (metadata?.paths.includes(path) && req.method === 'GET') {
      return json(res, 200, metadata.document, { 'cache-control': 'public, max-age=3600' });
    }
    if (path === '/status' && req.method === 'GET') return handleStatus(req, res);
    if (path === '/mcp' && options.serveMcp) return handleMcp(req, res);
    if (options.routes && (await options.routes(req, res))) return;
    json(res, 404, { error: 'not found' });
  }

  /** The caller of a request, or undefined once it has been refused. */
  async function authenticated(req: IncomingMessage, res: ServerResponse, what: string) {
    const auth = await options.authenticator.authenticate(header(req, 'authorization'));
    if (auth.ok) return auth;
    log.warn({ reason: auth.failure.reason, remote: req.socket.remoteAddress }, `${what} not authenticated`);
    const metadata = metadataFor(req);
    refuseUnauthenticated(res, auth.failure, { resourceMetadata: metadata?.url, scopes: metadata?.scopes });
    return undefined;
  }

  /**
   * Server names, their errors and the policy files are for operators: where MCP callers must
   * authenticate, so must a status reader (any caller's token will do; /healthz stays open).
   */
  async function handleStatus(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.authenticator.mode === 'bearer' && !(await authenticated(req, res, 'status request'))) return;
    json(res, 200, options.status());
  }

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Before the body is read: an unauthenticated client gets nothing parsed or buffered.
    const auth = await authenticated(req, res, 'MCP request');
    if (!auth) return;
    const { principal } = auth;
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId) {
      const open = sessions.get(sessionId);
      if (!open) {
        // 404 tells a client its session is gone and it should initialise again.
        return replyError(res, 404, ErrorCode.InvalidRequest, 'Session not found; initialize a new session');
      }
      if (open.owner.id !== principal.id) {
        log.warn(
          { session: sessionId, owner: open.owner.id, caller: principal.id },
          'session used by another principal',
        );
        return replyError(
          res,
          403,
          ErrorCode.InvalidRequest,
          'Forbidden: this session belongs to another caller',
        );
      }
      // Groups follow the latest token: a group removed at the IdP stops counting within the session.
      const session = deps.sessions.get(sessionId);
      if (session && !sameGroups(session.caller.groups, principal.groups)) {
        session.caller = { ...session.caller, groups: principal.groups };
      }
      const { transport } = open;
      if (req.method === 'GET') {
        // This opens the stream server-initiated requests travel on: a downstream's roots/list can now
        // reach the client (the stream is registered long before a downstream's request comes back).
        transport.handleRequest(req, res);
        if (session) announceRoots(deps, session);
        return;
      }
      const body = req.method === 'POST' ? await readJson(req, res, config.http.maxBodyBytes) : undefined;
      if (body === INVALID) return;
      return transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST') {
      return replyError(res, 400, ErrorCode.InvalidRequest, 'Bad Request: Mcp-Session-Id header is required');
    }
    const body = await readJson(req, res, config.http.maxBodyBytes);
    if (body === INVALID) return;
    if (options.modern && isModernPost(req, body)) {
      const caller = { id: principal.id, groups: principal.groups, transport: 'http' as const };
      return serveModernPost(req, res, body, caller, { front: options.modern, pool: deps.pool, logger: log });
    }
    if (!isInitializeRequest(body)) {
      return replyError(res, 400, ErrorCode.InvalidRequest, 'Bad Request: no valid session ID provided');
    }
    const session = createSession(deps, { id: principal.id, groups: principal.groups, transport: 'http' });
    const transport = new HttpSessionTransport({
      sessionId: session.id,
      onInitialized: () => {
        sessions.add(session.id, transport, principal);
        deps.sessions.add(session);
        log.info({ session: session.id, caller: principal.id, via: auth.via }, 'client session opened');
      },
    });
    // The one way a session ends, whatever ends it (DELETE, idle expiry, the cap, shutdown): the
    // SDK server closes with it (and its tasks), its subscriptions are released.
    transport.onclose = () => {
      const wasOpen = sessions.remove(session.id);
      deps.sessions.remove(session.id);
      void deps.aggregate.release(session, () => subscribers(deps));
      if (wasOpen) log.info({ session: session.id }, 'client session closed');
    };
    await session.server.connect(transport);
    // Nothing awaits between this check and the session taking its place (onInitialized), so
    // concurrent initializes of one caller cannot pass the cap together.
    const refusal = sessions.admit(principal.id);
    if (refusal) {
      replyError(res, 429, SERVER_ERROR, refusal);
      await session.server.close();
      return;
    }
    transport.handleRequest(req, res, body);
    // An initialize refused by the transport (a wrong Accept header, say) leaves nothing behind.
    if (!sessions.has(session.id)) await session.server.close();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  sessions.start();
  if (options.serveMcp && options.authenticator.mode === 'open' && !isLoopbackHost(address.address)) {
    log.warn(
      { host: address.address },
      'MCP is served beyond this machine without authentication: every HTTP caller acts as the stdio identity; ' +
        'configure identity.tokens or identity.jwt',
    );
  }
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  allowedHosts = new Set([
    `${hostForUrl}:${address.port}`,
    `localhost:${address.port}`,
    `127.0.0.1:${address.port}`,
    `[::1]:${address.port}`,
    ...config.http.allowedHosts,
    ...(publicUrl ? [publicUrl.host] : []),
  ]);

  return {
    url: `http://${hostForUrl}:${address.port}`,
    port: address.port,
    status: () => ({ abortedRequests, sessions: sessions.counts() }),
    async close() {
      await sessions.closeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function checkHostAndOrigin(
  req: IncomingMessage,
  hosts: Set<string>,
  origins: readonly string[],
): string | undefined {
  const host = req.headers.host;
  if (!host || !hosts.has(host.toLowerCase())) {
    return `Forbidden: Host header "${host ?? ''}" is not this Gatehouse listener (DNS-rebinding protection)`;
  }
  const origin = req.headers.origin;
  if (origin && origin !== `http://${host}` && !origins.includes(origin)) {
    return `Forbidden: Origin "${origin}" is not allowed (set http.allowedOrigins to permit it)`;
  }
  return undefined;
}

const INVALID = Symbol('invalid body');

async function readJson(req: IncomingMessage, res: ServerResponse, limit: number): Promise<unknown> {
  const body = await readBoundedBody(req, limit);
  if (!body) {
    replyError(
      res,
      413,
      ErrorCode.InvalidRequest,
      `Request body larger than ${limit} bytes (http.maxBodyBytes)`,
    );
    return INVALID;
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    replyError(res, 400, ErrorCode.ParseError, 'Parse error: the request body is not valid JSON');
    return INVALID;
  }
}

/**
 * The path of a request target. A plain one is cut at the query, without building a URL on every
 * tool call; one with dot segments or escapes gets the URL parser's normalisation.
 */
function pathOf(target: string): string {
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  const plain = path.startsWith('/') && !path.includes('%') && !path.includes('/.');
  return plain ? path : new URL(path, 'http://localhost').pathname;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** RFC 6750's status and challenge, with a JSON-RPC error body; the reason never holds the token. */
function refuseUnauthenticated(res: ServerResponse, failure: AuthFailure, hints: ChallengeHints): void {
  const refusal = bearerRefusal(failure, hints);
  const headers: Record<string, string> = refusal.wwwAuthenticate
    ? { 'www-authenticate': refusal.wwwAuthenticate }
    : {};
  const code = refusal.status === 503 ? ErrorCode.InternalError : ErrorCode.InvalidRequest;
  replyError(res, refusal.status, code, refusal.message, headers);
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const sameGroups = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((group, i) => group === b[i]);
