import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mediaTypeEssence } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { createParser } from 'eventsource-parser';
import { isJsonRpcMessage } from '../shared/jsonLines.js';
import { modernRequestHeaders, type ModernSendOptions } from './era2026.js';
import { MODERN_VERSION } from '../shared/modern.js';
import { errorResponse, isRequest, isResponse } from '../shared/jsonRpc.js';
import type { IncomingHttpHeaders } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';

/**
 * The client side of MCP Streamable HTTP on undici's Node-native `request()`: the SDK's transport goes
 * through fetch and web streams (Response, TextDecoderStream, EventSourceParserStream), which profiling
 * showed to be a large part of Gatehouse's per-call overhead. Behaviour mirrors the SDK's
 * StreamableHTTPClientTransport minus OAuth (Gatehouse sends static headers from config).
 */

export interface StreamableHttpTransportOptions {
  /** Static headers from config (Authorization and the like): sent on every request, never logged. */
  headers: Record<string, string>;
  /** The shared keep-alive pool. */
  dispatcher: Dispatcher;
  /**
   * Headers for one request only (a credential minted for that call), by the `relatedRequestId` it
   * is sent with; never sent on any other request, stream or DELETE.
   */
  headersFor?: (relatedRequestId: RequestId) => Record<string, string> | undefined;
}

type Body = Dispatcher.ResponseData['body'];

/** The downstream could not be reached, or the connection broke: no HTTP answer at all. */
export class DownstreamNetworkError extends Error {
  override name = 'DownstreamNetworkError';
}

/** The SDK's defaults (DEFAULT_STREAMABLE_HTTP_RECONNECTION_OPTIONS). */
const RECONNECTION = { initialDelayMs: 1000, maxDelayMs: 30_000, growFactor: 1.5, maxRetries: 2 };
/** Enough of an error body to explain the status, without buffering whatever a broken server sends. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** Shutdown must not hang on a downstream that no longer answers. */
const DELETE_TIMEOUT_MS = 2000;
const NOT_JSON_RPC = 'the server sent something that is not a JSON-RPC 2.0 message';
/** Shorter header values are too common to redact without mangling unrelated text. */
const MIN_REDACTED_LENGTH = 6;

interface SseStream {
  /** The standalone GET stream is reopened whenever it ends; a request's stream only until it answered. */
  standalone: boolean;
  lastEventId?: string;
  /** A request resumed through `send(…, { resumptionToken })`: its response gets the new request id. */
  replayMessageId?: RequestId;
  onresumptiontoken?: (token: string) => void;
  /** For a request's stream: the `relatedRequestId` its request was sent with (see `originOf`). */
  origin?: RequestId;
  /** For a request's stream: the id of the request it answers. */
  requestId?: RequestId;
  /** Aborted when Gatehouse cancels the request by closing its stream (2026-07-28). */
  cancelled?: AbortSignal;
}

export class NodeStreamableHttpClientTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];

  private readonly origin: string;
  private readonly path: string;
  private readonly staticHeaders: Record<string, string>;
  private readonly secrets: string[];
  private readonly dispatcher: Dispatcher;
  private readonly headersFor: StreamableHttpTransportOptions['headersFor'];
  /** One signal for every request and stream, so close() ends them all. */
  private readonly abort = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();
  private started = false;
  private closing?: Promise<void>;
  private _sessionId?: string;
  private protocolVersion?: string;
  private serverRetryMs?: number;
  private delivery: Promise<void> = Promise.resolve();
  /** Requests to a 2026-07-28 server under way, by id: closing one's stream is how it is cancelled. */
  private readonly cancels = new Map<RequestId, AbortController>();
  /** Server requests, by their id, that arrived on a request's stream, until they are answered. */
  private readonly requestOrigins = new Map<RequestId, RequestId>();
  /** Notifications that arrived on a request's stream (the SDK hands the same object on). */
  private readonly notificationOrigins = new WeakMap<object, RequestId>();
  /**
   * Why the transport closed on its own: the server forgot the session (it restarted) or could not
   * be reached. The connection reads it to say why it reconnects.
   */
  lostReason?: string;

  constructor(url: URL, options: StreamableHttpTransportOptions) {
    // fetch refuses such URLs too; say why instead of dropping the credentials silently.
    if (url.username || url.password)
      throw new Error('the downstream URL must not contain credentials; put them in "headers"');
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
    this.dispatcher = options.dispatcher;
    this.headersFor = options.headersFor;
    // Lower-cased so a configured "Accept" cannot travel next to ours as a second header.
    this.staticHeaders = Object.fromEntries(
      Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    this.secrets = secretsOf(Object.values(options.headers));
  }

  get sessionId(): string | undefined {
    return this._sessionId;
  }

  /** An empty version sends none (a server probed at 2026-07-28 that turned out older). */
  setProtocolVersion(version: string): void {
    this.protocolVersion = version || undefined;
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('the Streamable HTTP transport is already started');
    this.started = true;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (this.closing) throw new Error('the Streamable HTTP transport is closed');
    if (options?.resumptionToken) {
      const stream: SseStream = {
        standalone: false,
        lastEventId: options.resumptionToken,
        replayMessageId: isRequest(message) ? message.id : undefined,
        onresumptiontoken: options.onresumptiontoken,
        origin: options.relatedRequestId,
      };
      this.openSseStream(stream).catch((error: unknown) => this.report(error));
      return;
    }
    if (isResponse(message)) this.requestOrigins.delete(message.id);
    const sentSession = this._sessionId;
    try {
      await this.post(message, options);
    } catch (error) {
      this.report(error);
      if (this.closing) throw new Error('the Streamable HTTP transport is closed', { cause: error });
      const lost = lostConnection(error, sentSession);
      if (lost) this.lose(lost);
      throw error;
    }
  }

  /**
   * Ends the transport without a DELETE (there is no session left to end, or no server): the SDK
   * client fails every request in flight at once and Gatehouse reconnects, as after a crash.
   */
  private lose(reason: string): void {
    if (this.closing) return;
    this.lostReason = reason;
    this._sessionId = undefined;
    this.closing = this.shutdown();
  }

  /** Idempotent: Gatehouse closes both the Client (which closes us) and the transport itself. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.abort.abort();
    await this.terminateSession();
    this.onclose?.();
  }

  /**
   * The `relatedRequestId` of the request on whose stream a server request (by its id) or a
   * notification (the delivered object) arrived. A server sends what belongs to a request on that
   * request's stream, so this names the call a sampling or elicitation request serves, which the
   * message itself does not.
   */
  originOf(key: RequestId | object): RequestId | undefined {
    return typeof key === 'object' ? this.notificationOrigins.get(key) : this.requestOrigins.get(key);
  }

  /**
   * Cancels a request to a 2026-07-28 server the way that era does: its response stream is closed
   * (the server hears no notification). Its answer, if one comes, is dropped.
   */
  cancelRequest(id: RequestId): void {
    this.cancels.get(id)?.abort();
    this.cancels.delete(id);
  }

  private async post(message: JSONRPCMessage, options: ModernSendOptions = {}): Promise<void> {
    const { onresumptiontoken, relatedRequestId: origin, paramHeaders } = options;
    const requestId = isRequest(message) ? message.id : undefined;
    const cancel =
      requestId !== undefined && this.protocolVersion === MODERN_VERSION ? new AbortController() : undefined;
    if (cancel) this.cancels.set(requestId!, cancel);
    try {
      await this.postWith(message, { onresumptiontoken, origin, requestId, cancel, paramHeaders });
    } catch (error) {
      if (!cancel?.signal.aborted) throw error;
    } finally {
      if (cancel && !this.streaming.has(cancel)) this.cancels.delete(requestId!);
    }
  }

  /** Cancellation controllers of requests whose answer is still streaming. */
  private readonly streaming = new WeakSet<AbortController>();

  private async postWith(
    message: JSONRPCMessage,
    {
      onresumptiontoken,
      origin,
      requestId,
      cancel,
      paramHeaders,
    }: {
      onresumptiontoken?: TransportSendOptions['onresumptiontoken'];
      origin?: RequestId;
      requestId?: RequestId;
      cancel?: AbortController;
      paramHeaders?: Record<string, string>;
    },
  ): Promise<void> {
    const headers = this.headers(
      {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(this.protocolVersion === MODERN_VERSION
          ? { ...modernRequestHeaders(message), ...paramHeaders }
          : {}),
      },
      origin !== undefined && requestId !== undefined ? this.headersFor?.(origin) : undefined,
    );
    const {
      statusCode,
      headers: responseHeaders,
      body,
    } = await this.request('POST', headers, {
      body: JSON.stringify(message),
      ...(cancel ? { signal: AbortSignal.any([this.abort.signal, cancel.signal]) } : {}),
    });
    const sessionId = headerValue(responseHeaders, 'mcp-session-id');
    if (sessionId) this._sessionId = sessionId;

    if (statusCode < 200 || statusCode >= 300) {
      const text = await readBounded(body, ERROR_BODY_LIMIT).catch(() => null);
      throw new StreamableHTTPError(
        statusCode,
        `HTTP ${statusCode} from ${this.where()}: ` +
          (this.redirectText(statusCode, responseHeaders) ?? this.redact(text)),
      );
    }
    // The spec answers notifications with 202; a lenient 200 still means the session is live.
    if (!isRequest(message)) {
      await body.dump();
      if (isInitializedNotification(message))
        this.openSseStream({ standalone: true }).catch((error: unknown) => this.report(error));
      return;
    }
    const contentType = headerValue(responseHeaders, 'content-type');
    const mediaType = mediaTypeEssence(contentType);
    if (mediaType === 'text/event-stream') {
      if (cancel) this.streaming.add(cancel);
      this.readSse(body, {
        standalone: false,
        onresumptiontoken,
        origin,
        requestId,
        cancelled: cancel?.signal,
      });
    } else if (mediaType === 'application/json') {
      await this.deliverJson(await body.text());
    } else {
      body.destroy();
      throw new StreamableHTTPError(-1, `Unexpected content type: ${contentType}`);
    }
  }

  /**
   * Every valid message is delivered as the server sent it (the SDK validates each method's params and
   * results; Gatehouse passes them on unchanged); the first invalid one fails the send, as in the SDK.
   */
  private async deliverJson(text: string): Promise<void> {
    const data: unknown = JSON.parse(text);
    let firstError: unknown;
    for (const item of Array.isArray(data) ? data : [data]) {
      if (isJsonRpcMessage(item)) this.enqueue(item);
      else firstError ??= new Error(NOT_JSON_RPC);
    }
    await this.delivery;
    if (firstError !== undefined) throw firstError;
  }

  /**
   * Hands messages over one microtask apart, as the SDK's own transport does. The SDK's Protocol runs
   * notification handlers a microtask after onmessage but settles responses at once: a progress
   * notification and the response read from one chunk would otherwise reach a plain SDK Client in
   * reverse, and the progress would be dropped. (Gatehouse's connections take notifications off the
   * wire themselves: downstream/wireOrder.ts.)
   */
  private enqueue(message: JSONRPCMessage): void {
    this.delivery = this.delivery.then(() => {
      if (this.closing) return;
      try {
        this.onmessage?.(message);
      } catch (error) {
        this.report(error);
      }
    });
  }

  /** GET an SSE stream: the standalone one, or a request's stream resumed after `lastEventId`. */
  private async openSseStream(stream: SseStream): Promise<void> {
    const headers = this.headers({ accept: 'text/event-stream' });
    if (stream.lastEventId !== undefined) headers['last-event-id'] = stream.lastEventId;
    const { statusCode, statusText, headers: responseHeaders, body } = await this.request('GET', headers);
    if (statusCode >= 200 && statusCode < 300) {
      this.readSse(body, stream);
      return;
    }
    // 405: the server offers no GET stream, which the spec allows.
    if (statusCode === 405) {
      await body.dump().catch(() => undefined);
      return;
    }
    const text = await readBounded(body, ERROR_BODY_LIMIT).catch(() => '');
    throw new StreamableHTTPError(
      statusCode,
      `Failed to open SSE stream: ${this.redirectText(statusCode, responseHeaders) ?? (statusText || `HTTP ${statusCode}`)}` +
        (text ? ` ${this.redact(text)}` : ''),
    );
  }

  private readSse(body: Body, stream: SseStream): void {
    let answered = false;
    const parser = createParser({
      onRetry: (ms) => {
        this.serverRetryMs = ms;
      },
      onEvent: (event) => {
        if (event.id) {
          stream.lastEventId = event.id;
          stream.onresumptiontoken?.(event.id);
        }
        // Priming events and keep-alives carry no data.
        if (!event.data || (event.event && event.event !== 'message')) return;
        try {
          const message: unknown = JSON.parse(event.data);
          if (!isJsonRpcMessage(message)) throw new Error(NOT_JSON_RPC);
          if (isResponse(message)) {
            answered = true;
            if (stream.replayMessageId !== undefined) message.id = stream.replayMessageId;
          } else if (stream.origin !== undefined) {
            if ('id' in message && message.id !== undefined)
              this.requestOrigins.set(message.id, stream.origin);
            else this.notificationOrigins.set(message, stream.origin);
          }
          this.enqueue(message);
        } catch (error) {
          this.report(error);
        }
      },
    });
    const ended = (error?: Error) => {
      if (stream.requestId !== undefined && stream.cancelled) this.cancels.delete(stream.requestId);
      if (this.closing || stream.cancelled?.aborted) return;
      if (error) this.report(new Error(`SSE stream disconnected: ${error.message}`, { cause: error }));
      // A request's stream can only be resumed from an event id, and is done once answered.
      const resume = stream.standalone || (!answered && stream.lastEventId !== undefined);
      if (resume) this.scheduleReconnection(stream, 0);
      else if (!answered && error) this.lose(`the response stream broke mid-call (${error.message})`);
      else if (!answered) this.unanswered(stream, 'the server ended the response stream without an answer');
    };
    // undici's body ignores setEncoding; the decoder keeps characters split across chunks whole.
    const decoder = new StringDecoder('utf8');
    body.on('data', (chunk: Buffer) => {
      try {
        parser.feed(decoder.write(chunk));
      } catch (error) {
        // Thrown from a 'data' listener it would be an uncaught exception; end the stream instead.
        body.destroy(error as Error);
      }
    });
    body.once('end', () => ended());
    body.once('error', (error) => ended(error));
  }

  /** The request of a stream that can no longer answer fails now rather than at its timeout. */
  private unanswered(stream: SseStream, reason: string): void {
    const id = stream.replayMessageId ?? stream.requestId;
    if (id === undefined) return;
    this.enqueue(errorResponse(id, reason, ErrorCode.ConnectionClosed));
  }

  private scheduleReconnection(stream: SseStream, attempt: number): void {
    if (attempt >= RECONNECTION.maxRetries) {
      this.report(new Error(`Maximum reconnection attempts (${RECONNECTION.maxRetries}) exceeded.`));
      // The server is gone, or refuses the session's stream: reconnect from scratch, with backoff.
      if (stream.standalone) this.lose("the server's event stream could not be reopened");
      else this.unanswered(stream, 'the response stream could not be resumed');
      return;
    }
    const delay =
      this.serverRetryMs ??
      Math.min(RECONNECTION.initialDelayMs * RECONNECTION.growFactor ** attempt, RECONNECTION.maxDelayMs);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closing) return;
      const sentSession = this._sessionId;
      this.openSseStream(stream).catch((error: unknown) => {
        if (this.closing) return;
        // A restarted server forgets the session at once; no retry of this stream can help.
        const lost = error instanceof StreamableHTTPError ? lostConnection(error, sentSession) : undefined;
        if (lost) return this.lose(lost);
        this.report(
          new Error(`Failed to reconnect SSE stream: ${(error as Error)?.message ?? String(error)}`, {
            cause: error,
          }),
        );
        this.scheduleReconnection(stream, attempt + 1);
      });
    }, delay);
    this.timers.add(timer);
  }

  /** Best effort: the server may refuse (405) or be gone, and neither may hold up shutdown. */
  private async terminateSession(): Promise<void> {
    if (!this._sessionId) return;
    try {
      const { body } = await this.request('DELETE', this.headers({}), {
        signal: AbortSignal.timeout(DELETE_TIMEOUT_MS),
      });
      await body.dump();
    } catch {
      // Nothing to do: the session expires on the server's side.
    }
    this._sessionId = undefined;
  }

  private headers(extra: Record<string, string>, perCall?: Record<string, string>): Record<string, string> {
    const headers = { ...this.staticHeaders, ...perCall };
    if (this._sessionId) headers['mcp-session-id'] = this._sessionId;
    if (this.protocolVersion) headers['mcp-protocol-version'] = this.protocolVersion;
    return Object.assign(headers, extra);
  }

  private async request(
    method: 'POST' | 'GET' | 'DELETE',
    headers: Record<string, string>,
    { body, signal = this.abort.signal }: { body?: string; signal?: AbortSignal } = {},
  ): Promise<Dispatcher.ResponseData> {
    try {
      // Timeouts off: Gatehouse enforces its own per-call timeout, and SSE streams may stay silent.
      return await this.dispatcher.request({
        origin: this.origin,
        path: this.path,
        method,
        headers,
        body,
        headersTimeout: 0,
        bodyTimeout: 0,
        signal,
      });
    } catch (error) {
      throw new DownstreamNetworkError(
        `${method} to ${this.where()} failed: ${this.redact(describeNetworkFailure(error))}`,
        { cause: error },
      );
    }
  }

  /** The endpoint without its query, which may carry a key. */
  private where(): string {
    return `${this.origin}${this.path.split('?')[0]}`;
  }

  /** Like the SDK: name where a redirect pointed, without userinfo, query or fragment. */
  private redirectText(status: number, headers: IncomingHttpHeaders): string | undefined {
    if (status < 300 || status >= 400) return undefined;
    const location = headerValue(headers, 'location');
    if (!location) return `Redirect (HTTP ${status}) not followed`;
    try {
      const target = new URL(location, `${this.origin}${this.path}`);
      return `Redirect to ${target.origin}${target.pathname} not followed`;
    } catch {
      return `Redirect (HTTP ${status}) not followed`;
    }
  }

  /** A server may echo the request back in an error body; configured header values never leave. */
  private redact(text: string | null | undefined): string {
    let result = text ?? '';
    for (const secret of this.secrets) result = result.split(secret).join('[redacted]');
    return result;
  }

  private report(error: unknown): void {
    if (this.closing) return;
    this.onerror?.(error instanceof Error ? error : new Error(String(error)));
  }
}

/** A header value, and each of its words (the token of "Bearer <token>"), longest first. */
function secretsOf(values: string[]): string[] {
  const pieces = values.flatMap((value) => [value, ...value.split(/\s+/)]);
  return [...new Set(pieces.filter((piece) => piece.length >= MIN_REDACTED_LENGTH))].sort(
    (a, b) => b.length - a.length,
  );
}

/**
 * Whether a failed POST means the connection is gone: the server forgot the session it had given us
 * (404 by the spec; SDK example servers answer 400 "No valid session ID"), or no answer came at all.
 */
function lostConnection(error: unknown, sentSession: string | undefined): string | undefined {
  if (error instanceof DownstreamNetworkError) return error.message;
  if (!(error instanceof StreamableHTTPError) || sentSession === undefined) return undefined;
  if (error.code === 404 || (error.code === 400 && /session/i.test(error.message))) {
    return `the server no longer knows Gatehouse's session (HTTP ${error.code}); it probably restarted`;
  }
  return undefined;
}

/** Node's and undici's network errors name their cause in a code; say it in words. */
const NETWORK_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running, on this port?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved (DNS did not answer)',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'connecting timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out',
  UND_ERR_SOCKET: 'the connection broke',
};

/** Why a request got no HTTP answer: refused, no such host, a TLS failure, or the error's own words. */
export function describeNetworkFailure(error: unknown): string {
  type Failure = Error & { code?: string; reason?: string; cause?: Failure };
  const failure = error as Failure | undefined;
  const code = failure?.code ?? failure?.cause?.code;
  if (code && NETWORK_FAILURES[code]) return `${NETWORK_FAILURES[code]} (${code})`;
  const message = (failure?.reason ?? failure?.message ?? String(error)).trim();
  if (code && /^(ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH)/.test(code))
    return `TLS error: ${message} (${code})`;
  return message;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isInitializedNotification(message: JSONRPCMessage): boolean {
  return 'method' in message && message.method === 'notifications/initialized' && !('id' in message);
}

/** At most `limit` bytes of a body as text; the rest is discarded with the connection. */
async function readBounded(body: Body, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
