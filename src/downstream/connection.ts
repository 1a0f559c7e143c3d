import { isDeepStrictEqual } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  ListRootsRequestSchema,
  ListToolsResultSchema,
  McpError,
  type ClientCapabilities,
  type Implementation,
  type JSONRPCNotification,
  type LoggingLevel,
  type Notification,
  type ProgressToken,
  type Request,
  type RequestId,
  type Result,
  type ServerCapabilities,
  type ServerNotification,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { isStdioServer, type ServerConfig } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { dispatchByShape } from '../shared/dispatch.js';
import { describeIssues, passThrough, setRawRequestHandler } from '../shared/passThrough.js';
import { createHttpTransport, shouldFallBackToSse, transportOrder } from './http.js';
import { DownstreamNetworkError } from './httpTransport.js';
import { StdioChildTransport } from './stdio.js';
import { WireOrderTransport } from './wireOrder.js';
import {
  EraNegotiatingTransport,
  LEGACY_KEPT,
  misdeclaredWarning,
  type MisdeclaredWarning,
} from './era2026.js';
import { scanHeadersOnce } from '../shared/mcpHeaders.js';
import { MODERN_VERSION } from '../shared/modern.js';
import { VERSION } from '../version.js';

export type ConnectionState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped' | 'disabled';

/** What Gatehouse declares to every downstream: it relays these to whichever client session asked. */
const RELAYED_CLIENT_CAPABILITIES: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
};

export interface ServerRequestContext {
  signal: AbortSignal;
  /** The call it belongs to, when the transport can tell (see `CallOrigin`). */
  origin?: CallOrigin;
}

/**
 * The client session and client request a downstream call serves. A server-initiated message can be
 * traced to one when it arrived on that call's Streamable HTTP stream; over stdio it cannot.
 */
export interface CallOrigin {
  sessionId: string;
  relatedRequestId?: RequestId;
}

/** What a transport may know about which of our requests a message arrived for. */
interface OriginAware {
  originOf?(key: RequestId | object): RequestId | undefined;
}

export interface ConnectionHooks {
  /**
   * sampling/createMessage, elicitation/create, roots/list sent by the downstream during its work, as
   * sent (validated, every field kept); the result goes back to the downstream as it is.
   */
  onServerRequest(
    connection: DownstreamConnection,
    request: Request,
    context: ServerRequestContext,
  ): Promise<Result>;
  /**
   * Every notification but progress and cancellation (list_changed, resources/updated, logs, custom
   * ones), as sent, in wire order: before the SDK sees the result of a request it preceded.
   */
  onNotification(connection: DownstreamConnection, notification: Notification, origin?: CallOrigin): void;
  /** Connected (again) with a fresh tool list, or gone down. */
  onStateChange(connection: DownstreamConnection): void;
  /** Still connected; its tool list changed (the server sent tools/list_changed). */
  onToolsChanged(connection: DownstreamConnection): void;
}

export interface ConnectionOptions {
  connectMs: number;
  callMs: number;
  restart: { initialDelayMs: number; maxDelayMs: number };
  logger: Logger;
  hooks: ConnectionHooks;
  /** A process started for one call: it is never restarted, and is stopped after that call. */
  oneShot?: boolean;
  /** Environment for this connection's process only, on top of the server's own `env`. */
  env?: Record<string, string>;
}

export interface ForwardOptions {
  /** The client session on whose behalf the request runs: server-initiated requests are routed to it. */
  sessionId: string;
  /** The client's request this one serves; server-initiated messages are sent on its stream. */
  relatedRequestId?: RequestId;
  /** The client's own signal: its abort is a cancellation by the client, told to the server. */
  signal?: AbortSignal;
  /**
   * Relay the server's progress on this request. The server gets a token of Gatehouse's (tokens of
   * two clients may collide on one server); `send` gets each notification's params as the server sent
   * them, with `token` in place of that token. Progress also extends the call's timeout.
   */
  progress?: { token: ProgressToken; send(params: Record<string, unknown>): void };
  /** HTTP headers for this request only (its credentials); Streamable HTTP servers only. */
  headers?: Record<string, string>;
  /**
   * The client's log threshold (its logging/setLevel, or a modern request's own): a 2026-07-28 server
   * gets it in the request's envelope, and logs nothing during a request without one.
   */
  logLevel?: LoggingLevel;
}

/**
 * Progress relayed to the client under its own `token`, as notifications about the client's request
 * (`sendNotification` of its handler): on that request's stream, written before its result.
 */
export function progressTo(
  token: ProgressToken,
  sendNotification: (notification: ServerNotification) => Promise<void>,
): NonNullable<ForwardOptions['progress']> {
  return {
    token,
    send: (params) =>
      void sendNotification({ method: 'notifications/progress', params } as ServerNotification).catch(
        () => undefined,
      ),
  };
}

/** A request under way: the client session and client request it serves, and where its progress goes. */
interface InFlight extends CallOrigin {
  progress?: ForwardOptions['progress'];
  headers?: Record<string, string>;
  logLevel?: LoggingLevel;
  /** Progress arrived: the call is alive. */
  keepAlive?: () => void;
}

export interface ConnectionStatus {
  name: string;
  transport: string;
  state: ConnectionState;
  tools: number;
  restarts: number;
  since: string;
  pid?: number;
  serverInfo?: Implementation;
  lastError?: string;
}

/** A connection that stayed up this long resets the restart backoff. */
const STABLE_AFTER_MS = 60_000;

/**
 * One downstream server: its SDK Client, its state, its cached tool list and its restart loop.
 * A server that fails never takes Gatehouse down: its tools are absent and the failure is in status().
 */
export class DownstreamConnection {
  state: ConnectionState = 'starting';
  tools: Tool[] = [];
  capabilities: ServerCapabilities = {};
  serverInfo?: Implementation;
  instructions?: string;
  lastError?: string;
  /** When the connection last went down: the server was up until then. */
  lostAt?: Date;
  transportKind: string;

  private client?: Client;
  private transport?: Transport;
  private readonly misdeclared: MisdeclaredWarning;
  private restarts = 0;
  private nextDelay: number;
  private since = new Date();
  private retryTimer?: NodeJS.Timeout;
  private stopping = false;
  /** Requests under way, with the client session and client request each one serves. */
  private readonly inflight = new Map<number, InFlight>();
  /** Keys of `inflight`; sent as the request's `relatedRequestId`, which only our transport reads. */
  private nextCall = 0;
  private readonly log: Logger;
  /** Why Gatehouse ended a legacy SSE connection itself (its transport cannot tell). */
  private lostReason?: string;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly options: ConnectionOptions,
  ) {
    this.log = options.logger.child({ server: name });
    this.misdeclared = misdeclaredWarning(this.log);
    this.nextDelay = options.restart.initialDelayMs;
    this.transportKind = isStdioServer(config) ? 'stdio' : config.type === 'sse' ? 'sse' : 'streamable-http';
    if (config.disabled) this.state = 'disabled';
  }

  get timeoutMs(): number {
    return this.config.timeoutMs ?? this.options.callMs;
  }

  /** Resolves after the first attempt, successful or not; failures retry in the background. */
  async start(): Promise<void> {
    if (this.state === 'disabled') return;
    await this.connect();
  }

  /** Client sessions with a request in flight here: where a server-initiated request belongs. */
  sessionsInFlight(): Set<string> {
    return new Set([...this.inflight.values()].map((f) => f.sessionId));
  }

  /**
   * The client request of `sessionId` that a server-initiated message most likely belongs to (the
   * latest under way), so it travels on that request's stream: a Streamable HTTP client need not
   * have a GET stream open to receive it.
   */
  relatedRequestFor(sessionId: string): RequestId | undefined {
    let related: RequestId | undefined;
    for (const f of this.inflight.values())
      if (f.sessionId === sessionId && f.relatedRequestId !== undefined) related = f.relatedRequestId;
    return related;
  }

  /**
   * Send a request and resolve with the server's result. Pass `passThrough(schema)` to forward the
   * result as the server sent it; the SDK's own schemas return a copy without the fields they do not know.
   */
  async request<S extends z.ZodType>(
    request: Request,
    schema: S,
    options: ForwardOptions,
  ): Promise<z.infer<S>> {
    const client = this.client;
    if (this.state !== 'ready' || !client) {
      throw new GatehouseError(
        'DOWNSTREAM_UNAVAILABLE',
        `server "${this.name}" is not connected (${this.state}${this.lastError ? `: ${this.lastError}` : ''})`,
        { server: this.name, state: this.state },
      );
    }
    if (options.headers && this.transportKind !== 'streamable-http') {
      // Only our Streamable HTTP transport sends a header on one request alone; never fall back to all.
      throw new GatehouseError(
        'CREDENTIAL_UNAVAILABLE',
        `server "${this.name}" is connected over ${this.transportKind}, which cannot carry a credential on ` +
          'one request only; the call was not executed',
        { server: this.name },
      );
    }
    const key = ++this.nextCall;
    const call: InFlight = {
      sessionId: options.sessionId,
      relatedRequestId: options.relatedRequestId,
      progress: options.progress,
      headers: options.headers,
      logLevel: options.logLevel,
    };
    this.inflight.set(key, call);
    const timeout = this.timeoutMs;
    // The SDK holds the overall bound; with progress, a timer of Gatehouse's is the one progress resets.
    const totalMs = options.progress ? timeout * PROGRESS_EXTENDS_TIMEOUT : timeout;
    const idle = options.progress ? idleTimer(call, timeout, options.signal) : undefined;
    const requestOptions: RequestOptions = {
      relatedRequestId: key,
      signal: idle?.signal ?? options.signal,
      timeout: totalMs,
    };
    try {
      return (await client.request(
        withProgressToken(request, options.progress ? key : undefined),
        schema,
        requestOptions,
      )) as z.infer<S>;
    } catch (error) {
      if (options.signal?.aborted) throw this.cancelled(request.method, options.signal.reason);
      if (idle?.expired()) throw this.timedOut(request.method, timeout);
      if (this.transportKind === 'sse' && legacySseLost(error)) {
        // The legacy transport never closes on its own: end it, and onClosed reconnects.
        this.lostReason = (error as Error).message;
        void client.close();
        throw new GatehouseError(
          'DOWNSTREAM_UNAVAILABLE',
          `server "${this.name}" did not take ${request.method}: ${(error as Error).message}`,
          { server: this.name, method: request.method },
        );
      }
      throw this.translate(error, request.method, timeout, totalMs);
    } finally {
      idle?.stop();
      this.inflight.delete(key);
    }
  }

  /** The client withdrew the request; the SDK has sent the server notifications/cancelled. */
  private cancelled(method: string, reason: unknown): GatehouseError {
    const why = typeof reason === 'string' && reason ? `: ${reason}` : '';
    return new GatehouseError(
      'CLIENT_CANCELLED',
      `the client cancelled ${method} on server "${this.name}"${why}; the server was told`,
      { server: this.name, method },
    );
  }

  private timedOut(method: string, timeout: number, totalMs = timeout): GatehouseError {
    const within =
      totalMs === timeout
        ? `within ${timeout} ms`
        : `within ${totalMs} ms (progress notifications extend its ${timeout} ms timeout up to that bound)`;
    return new GatehouseError(
      'DOWNSTREAM_TIMEOUT',
      `server "${this.name}" did not answer ${method} ${within}; the request was cancelled`,
      { server: this.name, method, timeoutMs: totalMs },
    );
  }

  private translate(error: unknown, method: string, timeout: number, totalMs: number): unknown {
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return this.timedOut(method, timeout, totalMs);
    }
    // The SDK validates with zod's core, whose errors are not the classic ZodError.
    if (error instanceof z.core.$ZodError) {
      return new GatehouseError(
        'DOWNSTREAM_INVALID',
        `server "${this.name}" answered ${method} with a result that is not valid MCP ` +
          `(${describeIssues(error)}); Gatehouse did not pass it on`,
        { server: this.name, method },
      );
    }
    if (error instanceof DownstreamNetworkError || error instanceof StreamableHTTPError) {
      return new GatehouseError(
        'DOWNSTREAM_UNAVAILABLE',
        `server "${this.name}" did not take ${method}: ${error.message}`,
        { server: this.name, method },
      );
    }
    if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
      return new GatehouseError(
        'DOWNSTREAM_CLOSED',
        `server "${this.name}" closed the connection while ${method} was in flight (it exited or crashed); ` +
          'Gatehouse is restarting it. The request may or may not have taken effect.',
        { server: this.name, method },
      );
    }
    return error;
  }

  /** Send a notification downstream (roots/list_changed); dropped when not connected. */
  async notify(notification: Notification): Promise<void> {
    if (this.state !== 'ready' || !this.client) return;
    await this.client.notification(notification as never).catch((error: unknown) => {
      this.log.debug({ reason: String(error) }, 'notification not delivered');
    });
  }

  status(): ConnectionStatus {
    const pid = (this.transport as { pid?: number } | undefined)?.pid;
    return {
      name: this.name,
      transport: this.transportKind,
      state: this.state,
      tools: this.tools.length,
      restarts: this.restarts,
      since: this.since.toISOString(),
      ...(pid !== undefined && this.state === 'ready' ? { pid } : {}),
      ...(this.serverInfo ? { serverInfo: this.serverInfo } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    this.setState('stopped');
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
    await this.transport?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const kinds = isStdioServer(this.config) ? ['stdio'] : transportOrder(this.config);
    let lastError: unknown;
    for (const kind of kinds) {
      try {
        await this.connectWith(kind);
        return;
      } catch (error) {
        lastError = error;
        if (kind !== 'streamable-http' || !shouldFallBackToSse(error)) break;
        this.log.info(
          { reason: String(error) },
          'Streamable HTTP refused; falling back to the SSE transport',
        );
      }
    }
    this.lastError = describeConnectError(lastError, this.options.connectMs);
    this.log.error({ reason: this.lastError }, 'downstream server failed to start');
    this.setState('failed');
    this.scheduleRestart();
  }

  private async connectWith(kind: string): Promise<void> {
    const wired: Transport = isStdioServer(this.config)
      ? new StdioChildTransport(
          this.options.env
            ? { ...this.config, env: { ...this.config.env, ...this.options.env } }
            : this.config,
          this.log,
        )
      : createHttpTransport(this.config, kind as 'sse' | 'streamable-http', (key) =>
          typeof key === 'number' ? this.inflight.get(key)?.headers : undefined,
        );
    // Both eras: a server/discover probe first, then initialize for a server of the older era.
    const transport: Transport =
      kind === 'sse'
        ? wired
        : new EraNegotiatingTransport(
            wired,
            {
              clientInfo: { name: 'gatehouse', version: VERSION },
              capabilities: RELAYED_CLIENT_CAPABILITIES,
            },
            this.log,
            (key) => (typeof key === 'number' ? this.inflight.get(key)?.logLevel : undefined),
          );
    const client = dispatchByShape(
      new Client({ name: 'gatehouse', version: VERSION }, { capabilities: RELAYED_CLIENT_CAPABILITIES }),
    );
    const hooks = this.options.hooks;
    const originOf = (key: RequestId | object): CallOrigin | undefined => {
      const call = (transport as OriginAware).originOf?.(key);
      return typeof call === 'number' ? this.inflight.get(call) : undefined;
    };
    for (const schema of [CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema]) {
      setRawRequestHandler(client, schema, (_request, raw, extra) =>
        hooks.onServerRequest(this, raw, { signal: extra.signal, origin: originOf(extra.requestId) }),
      );
    }
    const wire = new WireOrderTransport(transport, (notification) =>
      this.onWireNotification(notification, originOf),
    );
    try {
      await client.connect(wire, { timeout: this.options.connectMs });
      const tools = await listAllTools(client, this.options.connectMs);
      this.noteMisdeclared(transport, tools);
      this.client = client;
      this.transport = transport;
      this.tools = tools;
      // As the server sent them: capabilities the SDK does not know are passed on to clients.
      const initialized = wire.initializeResult as
        { capabilities?: ServerCapabilities; serverInfo?: Implementation } | undefined;
      this.capabilities = initialized?.capabilities ?? client.getServerCapabilities() ?? {};
      this.serverInfo = initialized?.serverInfo ?? client.getServerVersion();
      this.instructions = client.getInstructions();
      this.transportKind = kind;
      this.lastError = undefined;
      client.onclose = () => this.onClosed(client);
      if (kind === 'sse') {
        // The legacy event stream broke: the server died or restarted. Its EventSource would reconnect
        // by itself into a new, uninitialised session that answers nothing; start over instead.
        client.onerror = (error) => {
          if (!(error instanceof SseError) || this.client !== client) return;
          this.lostReason = `the server's event stream broke (${error.message})`;
          void client.close();
        };
      }
      this.log.info(
        { transport: kind, era: eraOf(transport), tools: tools.length, serverInfo: this.serverInfo },
        'downstream connected',
      );
      this.setState('ready');
    } catch (error) {
      // An HTTP server that cannot be reached ends the transport, and the SDK then fails initialize
      // with "Connection closed": the transport knows what really happened.
      const lost = (transport as { lostReason?: string }).lostReason;
      await client.close().catch(() => undefined);
      await transport.close().catch(() => undefined);
      throw lost ? new DownstreamNetworkError(lost, { cause: error }) : error;
    }
  }

  /**
   * A notification off the wire, before anything the server sent after it. Progress goes to the call it
   * belongs to; cancellation (of a request the server sent) is the SDK's; the rest goes to the hooks.
   */
  private onWireNotification(
    notification: JSONRPCNotification,
    originOf: (key: object) => CallOrigin | undefined,
  ): boolean {
    try {
      if (notification.method === 'notifications/cancelled') return false;
      if (notification.method === 'notifications/progress') this.onProgress(notification.params ?? {});
      else this.options.hooks.onNotification(this, notification, originOf(notification));
    } catch (error) {
      this.log.warn({ reason: String(error), method: notification.method }, 'notification not relayed');
    }
    return true;
  }

  private onProgress(params: Record<string, unknown>): void {
    const call = this.inflight.get(Number(params.progressToken));
    if (!call?.progress) {
      this.log.debug({ token: params.progressToken }, 'progress for no request in flight; dropped');
      return;
    }
    call.keepAlive?.();
    call.progress.send(
      Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, k === 'progressToken' ? call.progress!.token : v]),
      ),
    );
  }

  /** Re-read the tool list after the server said it changed. */
  async refreshTools(): Promise<void> {
    if (!this.client || this.state !== 'ready') return;
    try {
      // The server said its list changed: clients hear it, as they would from the server itself.
      await this.relist(true);
    } catch (error) {
      this.log.warn({ reason: String(error) }, 'could not re-list tools after tools/list_changed');
    }
  }

  /**
   * The server's tools as it lists them now (every page), asked for rather than cached: what an
   * approved call is confirmed against before it runs, since a server may change a tool without
   * sending list_changed. A list that differs from the cached one replaces it, and clients hear of it.
   */
  listToolsFresh(): Promise<Tool[]> {
    return this.relist(false);
  }

  private async relist(announce: boolean): Promise<Tool[]> {
    const client = this.client;
    if (this.state !== 'ready' || !client) {
      throw new GatehouseError('DOWNSTREAM_UNAVAILABLE', `server "${this.name}" is not connected`, {
        server: this.name,
        state: this.state,
      });
    }
    const tools = await listAllTools(client, this.timeoutMs);
    if (this.client !== client) return tools;
    this.noteMisdeclared(this.transport, tools);
    const changed = !isDeepStrictEqual(tools, this.tools);
    this.tools = tools;
    if (changed || announce) this.options.hooks.onToolsChanged(this);
    return tools;
  }

  /**
   * A server reached in the 2025-11-25 era (the v2 SDK's default serves both) may still annotate its
   * tools for 2026-07-28 clients: the operator hears of a declaration those clients will reject. The
   * era transport judges a modern server's tools itself.
   */
  private noteMisdeclared(transport: Transport | undefined, tools: Tool[]): void {
    if (transport instanceof EraNegotiatingTransport && transport.era === 'modern') return;
    for (const tool of tools)
      this.misdeclared(tool.name, scanHeadersOnce(tool.inputSchema).invalid, LEGACY_KEPT);
  }

  private onClosed(client: Client): void {
    if (this.client !== client || this.stopping) return;
    this.client = undefined;
    this.tools = [];
    this.lostAt = new Date();
    this.lastError =
      this.lostReason ??
      (this.transport as { lostReason?: string } | undefined)?.lostReason ??
      'the connection closed unexpectedly';
    this.lostReason = undefined;
    this.log.warn('downstream connection closed; restarting');
    this.setState('restarting');
    if (Date.now() - this.since.getTime() > STABLE_AFTER_MS)
      this.nextDelay = this.options.restart.initialDelayMs;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.stopping || this.options.oneShot) return;
    const delay = this.nextDelay;
    this.nextDelay = Math.min(Math.max(delay * 2, 1), this.options.restart.maxDelayMs);
    this.retryTimer = setTimeout(() => {
      this.restarts += 1;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    this.since = new Date();
    this.options.hooks.onStateChange(this);
  }
}

/** The protocol era the server was found to speak, for the log. */
function eraOf(transport: Transport): string {
  if (!(transport instanceof EraNegotiatingTransport)) return 'legacy (SSE)';
  return transport.era === 'modern' ? MODERN_VERSION : 'legacy (initialize)';
}

/** Every page of the server's tools/list, each tool as the server sent it. */
async function listAllTools(client: Client, timeout: number): Promise<Tool[]> {
  if (!client.getServerCapabilities()?.tools) return [];
  const tools: Tool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.request(
      { method: 'tools/list', params: cursor ? { cursor } : {} },
      LIST_TOOLS_AS_SENT,
      { timeout },
    );
    tools.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

const LIST_TOOLS_AS_SENT = passThrough(ListToolsResultSchema);

/** How far progress notifications may extend a call's timeout: up to this many times it. */
const PROGRESS_EXTENDS_TIMEOUT = 10;

/**
 * The timer of a call whose progress keeps it alive: it expires `timeoutMs` after the last sign of
 * life, and aborts with the client's signal too (the SDK then tells the server).
 */
function idleTimer(call: InFlight, timeoutMs: number, client: AbortSignal | undefined) {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(`no answer and no progress within ${timeoutMs} ms`);
  }, timeoutMs);
  call.keepAlive = () => timer.refresh();
  const forward = () => controller.abort(client?.reason);
  if (client?.aborted) forward();
  else client?.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    expired: () => expired,
    stop() {
      clearTimeout(timer);
      client?.removeEventListener('abort', forward);
    },
  };
}

/**
 * `request` with `token` as its progress token, every other field as it was. Without a token, the
 * client's own is removed: no progress for it would be routed back.
 */
function withProgressToken(request: Request, token: ProgressToken | undefined): Request {
  const meta = request.params?._meta as Record<string, unknown> | undefined;
  if (token === undefined && meta?.progressToken === undefined) return request;
  const _meta: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (key !== 'progressToken') _meta[key] = value;
    else if (token !== undefined) _meta[key] = token;
  }
  if (token !== undefined) _meta.progressToken = token;
  return { ...request, params: { ...request.params, _meta } };
}

/**
 * A failed POST of the SDK's legacy SSE transport: the server is unreachable, or it restarted and no
 * longer knows the session of the endpoint it gave (it answers 404 or 400). Its errors are untyped, so
 * this reads their message.
 */
function legacySseLost(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof McpError) return false;
  return (
    error.message.startsWith('Error POSTing to endpoint (HTTP 4') ||
    error.message === 'Not connected' ||
    (error instanceof TypeError && error.message === 'fetch failed')
  );
}

function describeConnectError(error: unknown, connectMs: number): string {
  if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
    return `no answer to initialize or server/discover within ${connectMs} ms`;
  }
  if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
    return 'the server closed the connection during initialization (did the command exit?)';
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return `command not found: ${e.path ?? ''}`.trim();
  return e instanceof Error ? e.message : String(error);
}
