import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { isJsonRpcMessage } from '../shared/jsonLines.js';
import { isRequest, isResponse } from '../shared/jsonRpc.js';
import { duplicateIdError, inFlightIds } from './inFlight.js';

/** The spec lets a server answer a POST with one JSON body or an SSE stream; SSE is kept for calls that talk. */
const JSON_WINDOW_MS = 1_000;
/** A comment line on quiet SSE streams, so idle proxies and client body timeouts leave them open. */
const KEEP_ALIVE_MS = 15_000;
/** The SDK's limit on a JSON-RPC batch (protocol versions before 2025-06-18 allow batches). */
const MAX_BATCH = 100;

/** The codes the SDK's transport answers with, which clients already know. */
export const SERVER_ERROR = -32000;
const SESSION_NOT_FOUND = -32001;
const INVALID_REQUEST = -32600;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

export interface HttpSessionTransportOptions {
  sessionId: string;
  /** Runs when the initialize request is accepted, before it reaches the server. */
  onInitialized(): void;
  /** Overrides for tests; production uses the defaults above. */
  jsonWindowMs?: number;
  keepAliveMs?: number;
  now?: () => number;
}

/**
 * The answer to one POST that carried requests. It starts undecided: if every response is ready
 * within the JSON window and nothing else is sent first, it goes out as one JSON body (cheapest for
 * both ends); the first notification or server request for it, or the window passing, turns it into
 * an SSE stream.
 */
interface PostAnswer {
  res: ServerResponse;
  batch: boolean;
  /** Requests still waiting for their response. */
  waiting: Set<RequestId>;
  /** Responses held back while the answer may still become a JSON body (and refusals of duplicate ids). */
  held: JSONRPCMessage[];
  sse: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Streamable HTTP (MCP 2025-11-25, and the versions before it the SDK negotiates) on Node's own
 * request and response objects, for one client session. The SDK's transport goes through Web
 * `Request`/`Response` and streams on every call; this one writes to the socket directly, which is
 * most of Gatehouse's HTTP overhead (see bench/). Host, Origin, authentication and the session
 * lookup happen before a request gets here (front/http.ts).
 */
export class HttpSessionTransport implements Transport {
  readonly sessionId: string;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;

  private initialized = false;
  private closed = false;
  private readonly answers = new Map<RequestId, PostAnswer>();
  /** Requests the Protocol has not answered yet, including those whose POST the client gave up on. */
  private readonly inFlight = inFlightIds();
  private standalone?: { res: ServerResponse; timer?: NodeJS.Timeout };
  private readonly jsonWindowMs: number;
  private readonly keepAliveMs: number;
  private readonly now: () => number;
  private lastActivity: number;

  constructor(private readonly options: HttpSessionTransportOptions) {
    this.sessionId = options.sessionId;
    this.jsonWindowMs = options.jsonWindowMs ?? JSON_WINDOW_MS;
    this.keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
    this.now = options.now ?? Date.now;
    this.lastActivity = this.now();
  }

  /**
   * Since when this session has been idle, or undefined while it is busy: a session is busy while a
   * request of it is in flight (answered or not, its POST still open or not) or its GET stream is
   * open, and idle from the last request, answer or stream close after that.
   */
  idleSince(): number | undefined {
    return this.inFlight.size > 0 || this.standalone ? undefined : this.lastActivity;
  }

  async start(): Promise<void> {}

  /** One HTTP request of this session; `body` is the parsed JSON of a POST. */
  handleRequest(req: IncomingMessage, res: ServerResponse, body?: unknown): void {
    if (this.closed) return replyError(res, 404, SESSION_NOT_FOUND, 'Session not found');
    this.lastActivity = this.now();
    switch (req.method) {
      case 'POST':
        return this.handlePost(req, res, body);
      case 'GET':
        return this.handleGet(req, res);
      case 'DELETE':
        return this.handleDelete(req, res);
      default:
        res.setHeader('allow', 'GET, POST, DELETE');
        return replyError(res, 405, SERVER_ERROR, 'Method not allowed.');
    }
  }

  private handlePost(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return replyError(
        res,
        406,
        SERVER_ERROR,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
    }
    if (!isJsonMediaType(req.headers['content-type'])) {
      return replyError(
        res,
        415,
        SERVER_ERROR,
        'Unsupported Media Type: Content-Type must be application/json',
      );
    }
    const batch = Array.isArray(body);
    const raw = batch ? (body as unknown[]) : [body];
    if (raw.length === 0 || raw.length > MAX_BATCH) {
      return replyError(
        res,
        400,
        INVALID_REQUEST,
        `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`,
      );
    }
    const messages: JSONRPCMessage[] = [];
    for (const [index, item] of raw.entries()) {
      // Checked, not parsed: the message goes on as the client sent it (key order, unknown fields).
      if (!isJsonRpcMessage(item)) {
        const where = batch ? ` (message ${index} of the batch)` : '';
        return replyError(res, 400, INVALID_REQUEST, `Invalid Request: not a JSON-RPC message${where}`);
      }
      messages.push(item);
    }

    const initialize = messages.some((m) => 'method' in m && m.method === 'initialize');
    if (initialize) {
      if (this.initialized) {
        return replyError(res, 400, INVALID_REQUEST, 'Invalid Request: Server already initialized');
      }
      if (messages.length > 1) {
        return replyError(
          res,
          400,
          INVALID_REQUEST,
          'Invalid Request: Only one initialization request is allowed',
        );
      }
      this.initialized = true;
      this.options.onInitialized();
    } else {
      const refusal = this.checkSessionHeaders(req);
      if (refusal) return refusal(res);
    }

    const extra: MessageExtraInfo = { requestInfo: { headers: req.headers } };
    if (!messages.some(isRequest)) {
      this.deliver(messages, extra);
      res.writeHead(202).end();
      return;
    }

    const answer: PostAnswer = { res, batch, waiting: new Set(), held: [], sse: false };
    // A request whose id is in flight is refused in this answer and never reaches the Protocol.
    const accepted = messages.filter((message) => {
      if (!isRequest(message)) return true;
      if (!this.inFlight.claim(message.id)) {
        answer.held.push(duplicateIdError(message.id));
        return false;
      }
      answer.waiting.add(message.id);
      this.answers.set(message.id, answer);
      return true;
    });
    if (answer.waiting.size === 0) {
      this.deliver(accepted, extra);
      this.finish(answer);
      return;
    }
    answer.timer = setTimeout(() => this.openStream(answer), this.jsonWindowMs);
    answer.timer.unref();
    // A client that goes away drops its answers; the calls themselves run on (a disconnect is not a
    // cancellation: the client sends notifications/cancelled for that).
    res.once('close', () => this.forget(answer));
    this.deliver(accepted, extra);
  }

  private deliver(messages: JSONRPCMessage[], extra: MessageExtraInfo): void {
    for (const message of messages) {
      this.onmessage?.(message, extra);
      this.inFlight.observe(message);
    }
  }

  private handleGet(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      return replyError(res, 406, SERVER_ERROR, 'Not Acceptable: Client must accept text/event-stream');
    }
    const refusal = this.checkSessionHeaders(req);
    if (refusal) return refusal(res);
    if (this.standalone) {
      return replyError(res, 409, SERVER_ERROR, 'Conflict: Only one SSE stream is allowed per session');
    }
    const stream = { res, timer: this.keepAlive(res) };
    this.standalone = stream;
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId });
    res.flushHeaders();
    res.once('close', () => {
      clearInterval(stream.timer);
      if (this.standalone === stream) this.standalone = undefined;
      this.lastActivity = this.now();
    });
  }

  private handleDelete(req: IncomingMessage, res: ServerResponse): void {
    const refusal = this.checkSessionHeaders(req);
    if (refusal) return refusal(res);
    res.writeHead(200).end();
    void this.close();
  }

  /** What a request after initialize must carry; undefined when it may go on. */
  private checkSessionHeaders(req: IncomingMessage): ((res: ServerResponse) => void) | undefined {
    if (!this.initialized) {
      return (res) => replyError(res, 400, SERVER_ERROR, 'Bad Request: Server not initialized');
    }
    if (req.headers['mcp-session-id'] !== this.sessionId) {
      return (res) => replyError(res, 404, SESSION_NOT_FOUND, 'Session not found');
    }
    const version = req.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      const message =
        `Bad Request: Unsupported protocol version: ${version} ` +
        `(supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`;
      return (res) => replyError(res, 400, SERVER_ERROR, message);
    }
    return undefined;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isResponse(message)) {
      this.inFlight.answered(message.id);
      this.lastActivity = this.now();
      const answer = this.answers.get(message.id);
      if (!answer) throw new Error(`No connection established for request ID: ${String(message.id)}`);
      this.answers.delete(message.id);
      answer.waiting.delete(message.id);
      if (answer.sse) writeEvent(answer.res, message);
      else answer.held.push(message);
      if (answer.waiting.size === 0) this.finish(answer);
      return;
    }
    const related = options?.relatedRequestId;
    if (related === undefined) {
      // Without a GET stream the client cannot take messages that belong to no request: the
      // SDK's transport drops them too, and list_changed will be seen on the next list.
      if (this.standalone) writeEvent(this.standalone.res, message);
      return;
    }
    const answer = this.answers.get(related);
    if (!answer) throw new Error(`No connection established for request ID: ${String(related)}`);
    this.openStream(answer);
    writeEvent(answer.res, message);
  }

  /** Turns an undecided answer into an SSE stream (once), sending what was held back. */
  private openStream(answer: PostAnswer): void {
    if (answer.sse) return;
    clearTimeout(answer.timer);
    answer.sse = true;
    if (answer.res.destroyed) return;
    answer.res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId });
    answer.res.flushHeaders();
    for (const message of answer.held.splice(0)) writeEvent(answer.res, message);
    answer.timer = this.keepAlive(answer.res);
  }

  private finish(answer: PostAnswer): void {
    // The JSON window's timeout or the stream's keep-alive interval: clearTimeout ends either.
    clearTimeout(answer.timer);
    if (answer.res.destroyed) return;
    if (answer.sse) {
      answer.res.end();
      return;
    }
    const payload = JSON.stringify(answer.batch ? answer.held : answer.held[0]);
    answer.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      'mcp-session-id': this.sessionId,
    });
    answer.res.end(payload);
  }

  private forget(answer: PostAnswer): void {
    clearTimeout(answer.timer);
    for (const id of answer.waiting) {
      if (this.answers.get(id) === answer) this.answers.delete(id);
    }
  }

  private keepAlive(res: ServerResponse): NodeJS.Timeout {
    const timer = setInterval(() => res.write(': keepalive\n\n'), this.keepAliveMs);
    timer.unref();
    return timer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // A request still waiting gets an error rather than a stream that ends without an answer,
    // which a client would wait on until its own timeout.
    for (const answer of new Set(this.answers.values())) {
      for (const id of answer.waiting) {
        const error = { code: SERVER_ERROR, message: 'Gatehouse closed this MCP session' };
        const message: JSONRPCMessage = { jsonrpc: '2.0', id, error };
        if (answer.sse) writeEvent(answer.res, message);
        else answer.held.push(message);
      }
      answer.waiting.clear();
      this.finish(answer);
    }
    this.answers.clear();
    this.inFlight.clear();
    if (this.standalone) {
      clearInterval(this.standalone.timer);
      this.standalone.res.end();
      this.standalone = undefined;
    }
    this.onclose?.();
  }
}

function writeEvent(res: ServerResponse, message: JSONRPCMessage): void {
  if (!res.destroyed) res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

function isJsonMediaType(value: string | undefined): boolean {
  return value?.split(';')[0]?.trim().toLowerCase() === 'application/json';
}

/** A JSON-RPC error body with `id: null`, the shape every MCP transport error takes. */
export function replyError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
