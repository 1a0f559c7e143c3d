import { randomUUID } from 'node:crypto';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ServerCapabilitiesSchema,
  type ClientCapabilities,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type LoggingLevel,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { INPUT_METHODS, META, MODERN_VERSION } from '../shared/modern.js';
import { isObject } from '../shared/json.js';
import type { Logger } from '../log.js';
import { errorResponse, isNotification, isRequest, isResponse } from '../shared/jsonRpc.js';
import {
  MCP_NAME_FIELDS,
  encodeHeaderValue,
  paramHeaders,
  scanHeaders,
  type HeaderScan,
} from '../shared/mcpHeaders.js';
import { describeIssues } from '../shared/passThrough.js';
import { ModernListen } from './era2026Listen.js';

/*
 * Gatehouse as a client of a 2026-07-28 server, under the SDK v1 Client it uses for every server.
 * The Client's `initialize` goes out first, as it always did: a server that takes it is spoken to in
 * the 2025-11-25 era, even one that serves both eras, because that era is the one Gatehouse relays in
 * full (resource subscriptions, log levels, every server request, to clients of either era; a
 * conformance reference server that lists only 2026-07-28 in discover still takes initialize). A
 * server that refuses it (a JSON-RPC error; over HTTP a 4xx other than 401/403) gets a
 * `server/discover` probe carrying the per-request `_meta` envelope, and one that lists 2026-07-28
 * among its `supportedVersions` is spoken to the modern way. Otherwise the Client gets the initialize
 * refusal. This transport sits between the Client and the wire and does the rest:
 *
 * - for a modern server, the Client's `initialize` is answered from the discover result, and
 *   `notifications/initialized` and `notifications/roots/list_changed` (no such thing in the modern
 *   era) are not sent;
 * - every request gets the envelope (protocol version, client info, client capabilities, and the log
 *   level of the client it serves, which `logging/setLevel` set: that request is answered here, the
 *   era has none) and, over HTTP, the standard headers and the `Mcp-Param-{Name}` headers its tool
 *   asks for (the transport adds them once the version is modern), with no session;
 * - results lose the modern-only fields (`resultType`, `ttlMs`, `cacheScope`, the server's
 *   `serverInfo` in `_meta`): Gatehouse is the server its clients talk to, and its front states those
 *   fields itself to a 2026-07-28 client;
 * - an InputRequiredResult (MRTR) becomes what a 2025-era server would have sent: each input request
 *   is handed to the Client as a server-to-client request, which takes Gatehouse's one relay path to
 *   the client the call serves (a legacy client gets a real request; a 2026-07-28 client gets an
 *   InputRequiredResult of Gatehouse's, with a sealed state of its own, from front/era2026/inputs.ts),
 *   and the call is retried with the answers and the server's `requestState`. The server's state never
 *   leaves Gatehouse, so no client can hand it a state from another call;
 * - list changes and resource updates come from one `subscriptions/listen` held open for the
 *   connection; `resources/subscribe` and `unsubscribe` change what it carries (era2026Listen.ts).
 */

/** The wire closed while the negotiation waited for an answer. */
const CLOSED = Symbol('closed');

/** How many times one call may answer input_required before Gatehouse gives up on it. */
const MAX_INPUT_ROUNDS = 16;

/** The requests of the older era that Gatehouse's listen carries toward a modern server. */
const SUBSCRIBE_METHODS = new Set(['resources/subscribe', 'resources/unsubscribe']);

/** The modern-era fields of a result that a 2025-era client does not expect. */
const MODERN_RESULT_FIELDS = ['resultType', 'ttlMs', 'cacheScope'] as const;

const DiscoverResultSchema = z.looseObject({
  supportedVersions: z.array(z.string()),
  capabilities: ServerCapabilitiesSchema,
  instructions: z.string().optional(),
  _meta: z
    .looseObject({ [META.serverInfo]: z.looseObject({ name: z.string(), version: z.string() }).optional() })
    .optional(),
});

const InputRequiredSchema = z.looseObject({
  resultType: z.literal('input_required'),
  inputRequests: z
    .record(z.string(), z.looseObject({ method: z.string(), params: z.unknown().optional() }))
    .optional(),
  requestState: z.string().optional(),
});

type Json = Record<string, unknown>;

export interface ModernClientIdentity {
  clientInfo: { name: string; version: string };
  capabilities: ClientCapabilities;
}

/** The envelope every modern request carries. */
function envelope(identity: ModernClientIdentity): Json {
  return {
    [META.protocolVersion]: MODERN_VERSION,
    [META.clientInfo]: identity.clientInfo,
    [META.clientCapabilities]: identity.capabilities,
  };
}

/** A call to the server that may go several rounds (MRTR) before its result reaches the Client. */
interface Call {
  /** The id the Client sent it with, and under which it expects the result. */
  clientId: RequestId;
  request: JSONRPCRequest;
  options?: TransportSendOptions;
  rounds: number;
  /** Input requests handed to the Client, by their id there, and the key the server gave them. */
  waiting: Map<RequestId, { key: string; method: string }>;
  responses: Json;
  requestState?: string;
}

/**
 * The standard headers of a modern Streamable HTTP request (basic/transports/streamable-http.mdx,
 * "Request Metadata"): `Mcp-Method`, and `Mcp-Name` for the methods that name something.
 */
export function modernRequestHeaders(message: JSONRPCMessage): Record<string, string> {
  if (!isRequest(message) && !isNotification(message)) return {};
  const headers: Record<string, string> = { 'mcp-method': message.method };
  const field = MCP_NAME_FIELDS[message.method];
  const name = field ? (message.params as Json | undefined)?.[field] : undefined;
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return headers;
}

/**
 * What a request to a modern server may carry beyond the message: the `Mcp-Param-{Name}` headers of a
 * tools/call, which only a Streamable HTTP transport sends (stdio has no headers).
 */
export interface ModernSendOptions extends TransportSendOptions {
  paramHeaders?: Record<string, string>;
}

/**
 * Whether an HTTP answer to initialize or discover says "not this era" rather than "not reachable" or
 * "not allowed": a 4xx other than 401/403 (a request without a session has no session to lose).
 */
function refusedOverHttp(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' && code >= 400 && code < 500 && code !== 401 && code !== 403;
}

/** How the server refused initialize: a JSON-RPC error, or an HTTP 4xx the transport threw. */
type Refusal = { answer: JSONRPCMessage } | { thrown: unknown };

function refusalText(refusal: Refusal): string {
  if ('thrown' in refusal) return String(refusal.thrown);
  return String((refusal.answer as { error?: { message?: unknown } }).error?.message);
}

const LEFT_OUT =
  "tool left out: its inputSchema's x-mcp-header declaration is invalid, and a Streamable HTTP client must not offer it";
const STDIO_KEPT =
  "tool's inputSchema has an invalid x-mcp-header declaration; kept, since stdio carries no headers, but a 2026-07-28 client over Streamable HTTP will leave it out";
/** What Gatehouse says of such a tool of a server it reaches in the 2025-11-25 era. */
export const LEGACY_KEPT =
  "tool's inputSchema has an invalid x-mcp-header declaration; kept, since the server is reached in the 2025-11-25 era, but a 2026-07-28 client over Streamable HTTP will leave it out";

/** Records what a tool's `x-mcp-header` scan found: `problem` undefined when its declarations are valid. */
export type MisdeclaredWarning = (tool: string, problem: string | undefined, what: string) => void;

/**
 * Warns once per tool and problem (not on every tools/list) that a server's tool has invalid
 * `x-mcp-header` declarations, and what Gatehouse did with it; the logger names the server.
 */
export function misdeclaredWarning(log: Logger): MisdeclaredWarning {
  const told = new Map<string, string>();
  return (tool, problem, what) => {
    if (problem === undefined) told.delete(tool);
    else if (told.get(tool) !== problem) {
      told.set(tool, problem);
      log.warn({ tool, problem }, what);
    }
  };
}

export class EraNegotiatingTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  /** Which era the server speaks, once the negotiation ended. */
  era?: 'modern' | 'legacy';
  /** The discover result as the server sent it (modern servers). */
  discovered?: Json;

  /** The negotiation's request waiting for its answer (initialize, then perhaps server/discover). */
  private awaiting?: { id: RequestId; settle: (answer: JSONRPCMessage | typeof CLOSED) => void };
  private readonly calls = new Map<RequestId, Call>();
  private readonly inputs = new Map<RequestId, Call>();
  private nextId = 0;
  /** Gatehouse's subscriptions/listen toward the server: list changes and resource subscriptions. */
  private readonly listener: ModernListen;
  /** The `x-mcp-header` parameters of the server's tools, by name, as its latest tools/list said. */
  private readonly mirrored = new Map<string, HeaderScan>();
  /** Tells the operator once which of the server's tools have invalid `x-mcp-header` declarations. */
  private readonly misdeclared: MisdeclaredWarning;

  /**
   * @param logLevelOf the log threshold of the client a request serves (by its `relatedRequestId`):
   *   a modern server has no `logging/setLevel`, and logs during a request only at the level that
   *   request's envelope names.
   */
  constructor(
    readonly inner: Transport,
    private readonly identity: ModernClientIdentity,
    private readonly log: Logger,
    private readonly logLevelOf?: (relatedRequestId: RequestId) => LoggingLevel | undefined,
  ) {
    this.misdeclared = misdeclaredWarning(log);
    this.listener = new ModernListen(
      {
        send: (message) => this.inner.send(message),
        cancel: (id) => this.cancelOnWire(id),
        capabilities: () => (this.discovered?.capabilities ?? {}) as Json,
        envelope: () => envelope(this.identity),
      },
      log,
    );
    inner.onmessage = (message, extra) => this.receive(message, extra);
    inner.onclose = () => {
      this.listener.closedWire();
      // The Client fails its initialize as closed, as it would without the negotiation.
      this.awaiting?.settle(CLOSED);
      this.onclose?.();
    };
    inner.onerror = (error) => this.onerror?.(error);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  /** The child's pid (stdio) and why the wire was lost (HTTP), as the inner transport knows them. */
  get pid(): number | undefined {
    return (this.inner as { pid?: number }).pid;
  }

  get lostReason(): string | undefined {
    return (this.inner as { lostReason?: string }).lostReason;
  }

  /** Which call of Gatehouse's an input request (by its id at the Client) or a message belongs to. */
  originOf(key: RequestId | object): RequestId | undefined {
    const call = typeof key === 'object' ? undefined : this.inputs.get(key);
    if (call) return call.options?.relatedRequestId;
    return (this.inner as { originOf?(key: RequestId | object): RequestId | undefined }).originOf?.(key);
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  setProtocolVersion(version: string): void {
    // The Client sets what its initialize answer said; a modern server was answered here, not by it.
    if (this.era === 'legacy') this.inner.setProtocolVersion?.(version);
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isRequest(message) && message.method === 'initialize' && this.era === undefined) {
      return this.negotiate(message, options);
    }
    if (this.era !== 'modern') return this.inner.send(message, options);
    if (isResponse(message) && this.inputs.has(message.id)) return this.answered(message);
    if (isNotification(message)) return this.sendNotification(message, options);
    if (isRequest(message) && SUBSCRIBE_METHODS.has(message.method)) {
      // Answered once Gatehouse's listen carries the change (era2026Listen.ts).
      void this.listener.request(message).then((answer) => this.onmessage?.(answer));
      return;
    }
    if (isRequest(message) && message.method === 'logging/setLevel') {
      // The era has no such request: the level is Gatehouse's to keep, and each request carries it.
      this.onmessage?.({ jsonrpc: '2.0', id: message.id, result: {} });
      return;
    }
    if (isRequest(message)) {
      const call: Call = {
        clientId: message.id,
        request: message,
        options,
        rounds: 0,
        waiting: new Map(),
        responses: {},
      };
      this.calls.set(message.id, call);
      return this.sendCall(call, message.id, message.params as Json | undefined);
    }
    return this.inner.send(message, options);
  }

  /**
   * Initialize first: a server that takes it is spoken to in the 2025-11-25 era, even when it serves
   * both (Gatehouse relays that era in full to clients of either era; README, Protocol eras). Only a
   * server that refuses initialize is probed with server/discover, and taken in the 2026-07-28 era
   * when it lists that version; otherwise the Client gets the initialize refusal.
   */
  private async negotiate(initialize: JSONRPCRequest, options?: TransportSendOptions): Promise<void> {
    let refusal: Refusal;
    try {
      const answer = await this.exchange(initialize, options);
      if (answer === CLOSED) return;
      if ('result' in answer) {
        this.era = 'legacy';
        this.onmessage?.(answer);
        return;
      }
      refusal = { answer };
    } catch (error) {
      // Auth failures, unreachable servers and 5xx are not "not this era": they stay what they are.
      if (!refusedOverHttp(error)) throw error;
      refusal = { thrown: error };
    }
    this.log.debug(
      { reason: refusalText(refusal) },
      'initialize refused; probing server/discover (2026-07-28 era)',
    );
    this.inner.setProtocolVersion?.(MODERN_VERSION);
    let discovered: JSONRPCMessage | typeof CLOSED;
    try {
      discovered = await this.exchange({
        jsonrpc: '2.0',
        id: `gatehouse-discover-${randomUUID()}`,
        method: 'server/discover',
        params: { _meta: envelope(this.identity) },
      });
    } catch (error) {
      if (!refusedOverHttp(error)) throw error;
      return this.refused(initialize, refusal, `refused server/discover too (${String(error)})`);
    }
    if (discovered === CLOSED) return;
    if (!('result' in discovered)) {
      return this.refused(
        initialize,
        refusal,
        `refused server/discover too (${(discovered as { error?: { message?: unknown } }).error?.message})`,
      );
    }
    const parsed = DiscoverResultSchema.safeParse(discovered.result);
    if (!parsed.success) {
      return this.refused(
        initialize,
        refusal,
        `answered server/discover with something that is not a 2026-07-28 DiscoverResult ` +
          `(${describeIssues(parsed.error)})`,
      );
    }
    if (!parsed.data.supportedVersions.includes(MODERN_VERSION)) {
      return this.refused(
        initialize,
        refusal,
        `its server/discover lists ${parsed.data.supportedVersions.join(', ') || 'no version'}, not ${MODERN_VERSION}`,
      );
    }
    this.era = 'modern';
    this.discovered = discovered.result as Json;
    const serverInfo = parsed.data._meta?.[META.serverInfo] ?? { name: 'unknown', version: 'unknown' };
    this.onmessage?.({
      jsonrpc: '2.0',
      id: initialize.id,
      result: {
        // The Client checks the version it asked for; the wire speaks 2026-07-28 from here on.
        protocolVersion: (initialize.params as Json | undefined)?.protocolVersion,
        capabilities: parsed.data.capabilities,
        serverInfo,
        ...(parsed.data.instructions !== undefined ? { instructions: parsed.data.instructions } : {}),
      },
    });
  }

  /** Send one request of the negotiation and wait for its answer, which the Client does not see. */
  private async exchange(
    request: JSONRPCRequest,
    options?: TransportSendOptions,
  ): Promise<JSONRPCMessage | typeof CLOSED> {
    const answer = new Promise<JSONRPCMessage | typeof CLOSED>((resolve) => {
      this.awaiting = { id: request.id, settle: resolve };
    });
    try {
      await this.inner.send(request, options);
      return await answer;
    } finally {
      this.awaiting = undefined;
    }
  }

  /**
   * Neither era was agreed: the Client gets the initialize refusal (an HTTP one as it was thrown, so
   * a server that predates Streamable HTTP still falls back to SSE), with why discover did not help.
   */
  private refused(initialize: JSONRPCRequest, refusal: Refusal, why: string): void {
    this.era = 'legacy';
    this.inner.setProtocolVersion?.('');
    this.log.debug({ reason: refusalText(refusal), discover: why }, 'initialize and server/discover refused');
    if ('thrown' in refusal) throw refusal.thrown;
    const error = (refusal.answer as { error: { code: number; message: string; data?: unknown } }).error;
    this.onmessage?.({
      jsonrpc: '2.0',
      id: initialize.id,
      error: {
        ...error,
        message: `the server refused initialize (${error.message}) and ${why}; Gatehouse did not connect to it`,
      },
    });
  }

  private async sendNotification(
    message: JSONRPCMessage & { method: string },
    options?: TransportSendOptions,
  ) {
    const params = (message as { params?: Json }).params;
    if (message.method === 'notifications/initialized') {
      this.listener.start();
      return;
    }
    if (message.method !== 'notifications/cancelled') return;
    const call = this.calls.get(params?.requestId as RequestId);
    if (!call) return;
    this.calls.delete(call.clientId);
    this.calls.delete(call.request.id);
    for (const inputId of call.waiting.keys()) {
      this.inputs.delete(inputId);
      // The Client's handler of the input request is told, so the client's own request is withdrawn.
      this.onmessage?.({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: inputId, reason: params?.reason },
      });
    }
    if (call.waiting.size > 0) return;
    await this.cancelOnWire(call.request.id, params, options);
  }

  /**
   * End a request of ours under way: a modern server over HTTP is told by the end of the request's
   * stream; stdio takes notifications/cancelled (with the client's reason, when it gave one).
   */
  private async cancelOnWire(id: RequestId, params?: Json, options?: TransportSendOptions): Promise<void> {
    const http = this.inner as { cancelRequest?(id: RequestId): void };
    if (http.cancelRequest) {
      http.cancelRequest(id);
      return;
    }
    await this.inner
      .send(
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { ...params, requestId: id } },
        options,
      )
      .catch((error: unknown) => this.log.debug({ reason: String(error) }, 'cancellation not delivered'));
  }

  /** Send one round of a call, with the envelope and a wire id of its own. */
  private sendCall(call: Call, wireId: RequestId, params: Json | undefined): Promise<void> {
    const meta = isObject(params?._meta) ? params._meta : {};
    const related = call.options?.relatedRequestId;
    const level = related !== undefined ? this.logLevelOf?.(related) : undefined;
    const request: JSONRPCRequest = {
      jsonrpc: '2.0',
      id: wireId,
      method: call.request.method,
      params: {
        ...params,
        _meta: { ...meta, ...envelope(this.identity), ...(level ? { [META.logLevel]: level } : {}) },
      },
    };
    call.request = { ...call.request, id: wireId };
    this.calls.set(wireId, call);
    return this.inner.send(request, this.sendOptions(call.options, request));
  }

  /** A tools/call carries the `Mcp-Param-{Name}` headers its tool's inputSchema asks for. */
  private sendOptions(
    options: TransportSendOptions | undefined,
    request: JSONRPCRequest,
  ): ModernSendOptions | undefined {
    if (request.method !== 'tools/call') return options;
    const params = request.params as Json;
    const mirrored = typeof params.name === 'string' ? this.mirrored.get(params.name) : undefined;
    if (!mirrored) return options;
    return { ...options, paramHeaders: paramHeaders(mirrored, params.arguments) };
  }

  /**
   * Each page of the server's tools/list: which arguments its tools mirror into headers. A tool whose
   * `x-mcp-header` declarations are invalid is left out over HTTP, as the spec requires of a
   * Streamable HTTP client (and the v2 SDK client does): no header set for it is one the server
   * would be sure to accept, and a call to it could not be routed as its definition promises. Over
   * stdio, which has no headers, the annotations mean nothing and the tool is kept. Either way the
   * server's operator is told once which tool and why.
   */
  private learnTools(result: Json): Json {
    if (!Array.isArray(result.tools)) return result;
    const overHttp = typeof (this.inner as { cancelRequest?: unknown }).cancelRequest === 'function';
    const kept = (result.tools as unknown[]).filter((tool) => {
      if (!isObject(tool) || typeof tool.name !== 'string') return true;
      const scan = scanHeaders(tool.inputSchema);
      this.mirrored.delete(tool.name);
      if (scan.invalid === undefined && scan.params.length > 0) this.mirrored.set(tool.name, scan);
      this.misdeclared(tool.name, scan.invalid, overHttp ? LEFT_OUT : STDIO_KEPT);
      return scan.invalid === undefined || !overHttp;
    });
    return kept.length === result.tools.length ? result : { ...result, tools: kept };
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (this.awaiting && isResponse(message) && message.id === this.awaiting.id) {
      this.awaiting.settle(message);
      return;
    }
    if (this.era !== 'modern') {
      this.onmessage?.(message, extra);
      return;
    }
    if (isNotification(message)) {
      const relayed = this.listener.notification(message);
      if (relayed) this.onmessage?.(relayed, extra);
      return;
    }
    if (!isResponse(message)) {
      this.onmessage?.(message, extra);
      return;
    }
    if (this.listener.response(message)) return;
    const call = this.calls.get(message.id);
    if (!call) {
      this.onmessage?.(message, extra);
      return;
    }
    this.calls.delete(message.id);
    if ('error' in message) {
      this.calls.delete(call.clientId);
      this.onmessage?.({ ...message, id: call.clientId }, extra);
      return;
    }
    const result = message.result as Json;
    if (result.resultType === 'input_required') {
      this.inputRequired(call, result);
      return;
    }
    this.calls.delete(call.clientId);
    const listed = call.request.method === 'tools/list' ? this.learnTools(result) : result;
    this.onmessage?.({ jsonrpc: '2.0', id: call.clientId, result: legacyResult(listed) }, extra);
  }

  /** Hand the server's input requests to the Client, as a 2025-era server would have sent them. */
  private inputRequired(call: Call, result: Json): void {
    const fail = (why: string) => {
      this.calls.delete(call.clientId);
      this.onmessage?.(errorResponse(call.clientId, why));
    };
    const parsed = InputRequiredSchema.safeParse(result);
    if (!parsed.success) {
      fail(
        `the server answered ${call.request.method} with an InputRequiredResult that is not valid (${describeIssues(parsed.error)})`,
      );
      return;
    }
    call.rounds += 1;
    if (call.rounds > MAX_INPUT_ROUNDS) {
      fail(
        `the server asked for input more than ${MAX_INPUT_ROUNDS} times for one ${call.request.method}; Gatehouse gave up on it`,
      );
      return;
    }
    const requests = Object.entries(parsed.data.inputRequests ?? {});
    const unknown = requests.find(([, r]) => !INPUT_METHODS.has(r.method));
    if (unknown) {
      fail(
        `the server asked for input by ${unknown[1].method} (key "${unknown[0]}"), which Gatehouse cannot relay to a client`,
      );
      return;
    }
    call.requestState = parsed.data.requestState;
    call.responses = {};
    call.waiting.clear();
    this.calls.set(call.clientId, call);
    if (requests.length === 0) {
      void this.retry(call);
      return;
    }
    for (const [key, input] of requests) {
      const id = `gatehouse-input-${++this.nextId}`;
      call.waiting.set(id, { key, method: input.method });
      this.inputs.set(id, call);
      this.onmessage?.({
        jsonrpc: '2.0',
        id,
        method: input.method,
        params: legacyInputParams(input.method, input.params),
      });
    }
  }

  /** The Client's answer to an input request (its relay's answer from the client). */
  private async answered(message: JSONRPCMessage & { id: RequestId }): Promise<void> {
    const call = this.inputs.get(message.id)!;
    this.inputs.delete(message.id);
    const input = call.waiting.get(message.id);
    call.waiting.delete(message.id);
    if (!input || this.calls.get(call.clientId) !== call) return;
    if ('error' in message) {
      for (const other of call.waiting.keys()) this.inputs.delete(other);
      call.waiting.clear();
      this.calls.delete(call.clientId);
      const error = message.error as { code: number; message: string };
      this.onmessage?.(
        errorResponse(
          call.clientId,
          `the server asked for input (${input.method}) that the client did not give: ${error.message}`,
          error.code,
        ),
      );
      return;
    }
    call.responses[input.key] = (message as { result: unknown }).result;
    if (call.waiting.size === 0) await this.retry(call);
  }

  /** The call again, with the answers and the server's state. */
  private async retry(call: Call): Promise<void> {
    const { inputResponses: _r, requestState: _s, ...params } = (call.request.params ?? {}) as Json;
    const wireId = `gatehouse-retry-${++this.nextId}`;
    try {
      await this.sendCall(call, wireId, {
        ...params,
        inputResponses: call.responses,
        ...(call.requestState !== undefined ? { requestState: call.requestState } : {}),
      });
    } catch (error) {
      this.calls.delete(wireId);
      this.calls.delete(call.clientId);
      this.onmessage?.(
        errorResponse(
          call.clientId,
          `the call could not be retried with the client's input: ${String(error)}`,
        ),
      );
    }
  }
}

/** A modern result without what only a modern client expects. */
function legacyResult(result: Json): Json {
  const copy: Json = { ...result };
  for (const field of MODERN_RESULT_FIELDS) delete copy[field];
  if (isObject(copy._meta) && META.serverInfo in copy._meta) {
    const { [META.serverInfo]: _info, ...meta } = copy._meta;
    if (Object.keys(meta).length > 0) copy._meta = meta;
    else delete copy._meta;
  }
  return copy;
}

/** An input request's params as a 2025-era client expects them: URL elicitations carry an id there. */
function legacyInputParams(method: string, params: unknown): Json | undefined {
  if (!isObject(params)) return method === 'roots/list' ? undefined : {};
  if (method === 'elicitation/create' && params.mode === 'url' && params.elicitationId === undefined)
    return { ...params, elicitationId: randomUUID() };
  return params;
}
