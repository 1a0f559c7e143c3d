import {
  CreateMessageResultSchema,
  CreateMessageResultWithToolsSchema,
  ElicitResultSchema,
  EmptyResultSchema as EmptySchema,
  ErrorCode,
  ListRootsResultSchema,
  LoggingLevelSchema,
  McpError,
  type ClientCapabilities,
  type LoggingLevel,
  type Notification,
  type Request,
  type RequestId,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallOrigin, DownstreamConnection, ServerRequestContext } from '../downstream/connection.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { GatehouseError } from '../errors.js';
import type { Logger } from '../log.js';
import { passThrough } from '../shared/passThrough.js';
import type { InputBridge } from './era2026/inputs.js';
import { guarded } from './errors.js';
import { MODERN_REQUESTER, type Session, type SessionRegistry } from './sessions.js';

/**
 * Requests and notifications a downstream sends towards the client. They carry no reference to the
 * client request they belong to: over Streamable HTTP the stream they arrive on tells; over stdio they
 * go to the one session with a request in flight on that server (or the only session). When that is
 * ambiguous they are refused, never guessed: sending one user's sampling request or logs to another
 * user's client would leak data between sessions.
 */
export function createRelay(
  pool: () => DownstreamPool,
  sessions: SessionRegistry,
  logger: Logger,
  /** Where server requests of 2026-07-28 calls go (front/era2026/inputs.ts). */
  inputs?: Pick<InputBridge, 'holds' | 'ask' | 'tell'>,
) {
  const log = logger.child({ module: 'relay' });

  /**
   * Where a server-initiated message goes: the call it arrived for, when the transport knows it
   * (Streamable HTTP downstreams send it on that call's stream); otherwise the one session with
   * requests in flight on that server (or the only session), on its latest request's stream.
   */
  function targetOf(
    connection: DownstreamConnection,
    origin: CallOrigin | undefined,
  ): { session: Session; relatedRequestId?: RequestId } | undefined {
    if (origin) {
      const session = sessions.get(origin.sessionId);
      return session && { session, relatedRequestId: origin.relatedRequestId };
    }
    const inFlight = [...connection.sessionsInFlight()];
    const session =
      inFlight.length === 1
        ? sessions.get(inFlight[0]!)
        : inFlight.length === 0 && sessions.size === 1
          ? sessions.all()[0]
          : undefined;
    return session && { session, relatedRequestId: connection.relatedRequestFor(session.id) };
  }

  /**
   * The 2026-07-28 call a message of the server is about when no session is: the call it arrived for,
   * or the only such call in flight on that server while no session has one there (requests of other
   * kinds, such as a listener's resources/unsubscribe, ask nothing and do not count).
   */
  function modernCallOf(
    connection: DownstreamConnection,
    origin: CallOrigin | undefined,
  ): string | undefined {
    if (origin) return origin.sessionId;
    if (!inputs) return undefined;
    const inFlight = [...connection.sessionsInFlight()];
    if (inFlight.some((id) => sessions.get(id))) return undefined;
    const calls = inFlight.filter((id) => inputs.holds(id));
    return calls.length === 1 ? calls[0] : undefined;
  }

  /**
   * The answer goes back to the downstream as the client gave it, and errors leave through toWireError
   * like a client's would. The request reaches the client as the downstream sent it.
   */
  const onServerRequest = guarded(
    log,
    async (
      connection: DownstreamConnection,
      request: Request,
      context: ServerRequestContext,
    ): Promise<Result> => {
      const target = targetOf(connection, context.origin);
      const inFlight = [...connection.sessionsInFlight()];
      // A 2026-07-28 client's call: the request travels in an input-required result (era2026/inputs.ts).
      const modern = target ? undefined : modernCallOf(connection, context.origin);
      if (modern && inputs?.holds(modern)) return inputs.ask(modern, request, context.signal);
      if (!target && inFlight.some((id) => id.startsWith(MODERN_REQUESTER))) {
        throw new GatehouseError(
          'ROUTING_AMBIGUOUS',
          `Gatehouse cannot tell which client request this ${request.method} belongs to (${inFlight.length} ` +
            `requests in flight on "${connection.name}", MCP 2026-07-28 ones among them); refused rather than guessed`,
        );
      }
      if (!target) {
        throw new GatehouseError(
          'ROUTING_AMBIGUOUS',
          context.origin
            ? `the client session this ${request.method} belongs to has closed`
            : sessions.size === 0
              ? `no client is connected to Gatehouse yet to answer ${request.method}`
              : `Gatehouse cannot tell which client session this ${request.method} belongs to ` +
                `(${connection.sessionsInFlight().size} sessions have requests in flight on "${connection.name}")`,
        );
      }
      const { session, relatedRequestId } = target;
      const missing = missingCapability(session.server.getClientCapabilities() ?? {}, request);
      if (missing) {
        throw new GatehouseError(
          'CLIENT_CAPABILITY_MISSING',
          `Method not found: the client does not support ${missing}`,
        );
      }
      const schema = resultSchemaFor(request);
      if (!schema) throw new McpError(ErrorCode.MethodNotFound, `Method not found: ${request.method}`);
      const forward = { method: request.method, params: request.params };
      return session.server.request(forward as Parameters<typeof session.server.request>[0], schema, {
        signal: context.signal,
        timeout: connection.timeoutMs,
        ...(relatedRequestId !== undefined ? { relatedRequestId } : {}),
      });
    },
  );

  function onNotification(
    connection: DownstreamConnection,
    notification: Notification,
    origin?: CallOrigin,
  ): void {
    switch (notification.method) {
      case 'notifications/tools/list_changed':
        void connection.refreshTools();
        return;
      case 'notifications/prompts/list_changed':
        broadcast((s) => s.server.sendPromptListChanged());
        return;
      case 'notifications/resources/list_changed':
        broadcast((s) => s.server.sendResourceListChanged());
        return;
      case 'notifications/resources/updated': {
        const uri = (notification.params as { uri?: unknown } | undefined)?.uri;
        for (const session of sessions.all()) {
          if (typeof uri === 'string' && session.subscriptions.has(uri)) {
            void session.server.notification(notification as never).catch(() => undefined);
          }
        }
        return;
      }
      default: {
        // Logs, and notifications Gatehouse does not know (fastmcp's streamContent, elicitation/complete):
        // to the session of the call they belong to, on that call's stream, ahead of its result.
        const target = targetOf(connection, origin);
        const modern = target ? undefined : modernCallOf(connection, origin);
        if (modern && inputs?.tell(modern, notification)) return;
        if (!target) {
          log.debug(
            { server: connection.name, method: notification.method },
            'notification not attributable to one session; not relayed',
          );
          return;
        }
        const level = (notification.params as { level?: LoggingLevel } | undefined)?.level;
        if (notification.method === 'notifications/message' && !passesLevel(level, target.session.logLevel))
          return;
        const { session, relatedRequestId } = target;
        void session.server
          .notification(
            notification as never,
            relatedRequestId !== undefined ? { relatedRequestId } : undefined,
          )
          .catch(() => undefined);
      }
    }
  }

  function broadcast(send: (session: Session) => Promise<void>): void {
    for (const session of sessions.all()) void send(session).catch(() => undefined);
  }

  /** A server came back after a restart: clients re-read what may have changed. */
  function onServerReconnected(connection: DownstreamConnection): void {
    if (connection.capabilities.prompts) broadcast((s) => s.server.sendPromptListChanged());
    if (connection.capabilities.resources) broadcast((s) => s.server.sendResourceListChanged());
    // Subscriptions do not survive a restart of the server; renew them.
    const uris = new Set(sessions.all().flatMap((s) => [...s.subscriptions]));
    for (const uri of uris) {
      void connection
        .request({ method: 'resources/subscribe', params: { uri } }, EmptySchema, { sessionId: 'gatehouse' })
        .catch(() => undefined);
    }
  }

  function onToolsChanged(): void {
    broadcast((s) => s.server.sendToolListChanged());
  }

  /** The client's roots changed: every server that may ask for roots hears it. */
  function onRootsChanged(): void {
    for (const connection of pool().ready()) {
      void connection.notify({ method: 'notifications/roots/list_changed' });
    }
  }

  return { onServerRequest, onNotification, onServerReconnected, onToolsChanged, onRootsChanged };
}

const RESULTS_AS_SENT = {
  'sampling/createMessage': passThrough(CreateMessageResultSchema),
  'elicitation/create': passThrough(ElicitResultSchema),
  'roots/list': passThrough(ListRootsResultSchema),
};
const SAMPLING_WITH_TOOLS_AS_SENT = passThrough(CreateMessageResultWithToolsSchema);

/** What the client's answer must be: a sampling request that offers tools may be answered with tool use. */
function resultSchemaFor(request: Request) {
  const params = request.params as { tools?: unknown; toolChoice?: unknown } | undefined;
  if (request.method === 'sampling/createMessage' && (params?.tools || params?.toolChoice))
    return SAMPLING_WITH_TOOLS_AS_SENT;
  return RESULTS_AS_SENT[request.method as keyof typeof RESULTS_AS_SENT];
}

/** What a client must have declared for a server's request to reach it (either era). */
export function missingCapability(caps: ClientCapabilities, request: Request): string | undefined {
  switch (request.method) {
    case 'sampling/createMessage':
      return caps.sampling ? undefined : 'sampling';
    case 'roots/list':
      return caps.roots ? undefined : 'roots';
    case 'elicitation/create': {
      if (!caps.elicitation) return 'elicitation';
      const mode = (request.params as { mode?: string } | undefined)?.mode ?? 'form';
      const declared = caps.elicitation as { form?: object; url?: object };
      // An empty elicitation capability means form mode only (spec 2025-11-25).
      const formOnly = !declared.form && !declared.url;
      if (mode === 'url' && !declared.url) return 'URL-mode elicitation';
      if (mode === 'form' && !formOnly && !declared.form) return 'form-mode elicitation';
      return undefined;
    }
    default:
      return undefined;
  }
}

const SEVERITY = LoggingLevelSchema.options;

/** Whether a log of `level` reaches a session whose threshold (logging/setLevel) is `threshold`. */
export function passesLevel(level: LoggingLevel | undefined, threshold: LoggingLevel | undefined): boolean {
  if (!threshold || !level) return true;
  return SEVERITY.indexOf(level) >= SEVERITY.indexOf(threshold);
}

export type Relay = ReturnType<typeof createRelay>;
