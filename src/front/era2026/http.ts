import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Caller } from '../../pipeline/toolCall.js';
import type { DownstreamPool } from '../../downstream/pool.js';
import { toWireError } from '../errors.js';
import type { ModernFront } from './dispatch.js';
import { headerMismatch, versionMismatch } from './headers.js';
import { claimedVersion, isModernRequest, MODERN_ERRORS, MODERN_VERSIONS, readEnvelope } from './wire.js';

/** A comment line on quiet listen streams, so idle proxies and client body timeouts leave them open. */
const KEEP_ALIVE_MS = 15_000;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * Whether a POST without a session belongs to the modern era: its body is a modern request, or its
 * MCP-Protocol-Version header names a modern revision (then even a malformed body is answered the
 * modern way). Legacy clients open with `initialize` and never send either.
 */
export function isModernPost(req: IncomingMessage, body: unknown): boolean {
  const version = req.headers['mcp-protocol-version'];
  return (
    isModernRequest(body) ||
    (typeof version === 'string' && (MODERN_VERSIONS as readonly string[]).includes(version))
  );
}

export interface ModernHttpOptions {
  front: ModernFront;
  pool: DownstreamPool;
  logger: Logger;
}

/**
 * One 2026-07-28 POST (basic/transports/streamable-http.mdx): no session; its headers must match its
 * body; it is answered with one JSON body, or with an SSE stream once something is sent before the
 * answer (progress, a subscription's notifications). Closing that stream, or hanging up before the
 * JSON body, cancels the request.
 */
export async function serveModernPost(
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  caller: Omit<Caller, 'client'>,
  options: ModernHttpOptions,
): Promise<void> {
  const log = options.logger;
  const message = body as { method?: unknown; id?: unknown; params?: unknown } | null;
  const isMessage = typeof message === 'object' && message !== null && typeof message.method === 'string';
  if (isMessage && message.id === undefined) {
    // Notifications mean nothing on this transport at 2026-07-28 (cancelling is closing the stream).
    res.writeHead(202).end();
    return;
  }
  const id = message?.id;
  if (!isMessage || (typeof id !== 'string' && typeof id !== 'number')) {
    return replyJson(
      res,
      400,
      errorFor(undefined, ErrorCode.InvalidRequest, 'Invalid Request: the body must be one JSON-RPC request'),
    );
  }
  const params = typeof message.params === 'object' && message.params !== null ? message.params : undefined;
  const request = {
    id,
    method: message.method as string,
    ...(params ? { params: params as Record<string, unknown> } : {}),
  };
  const versions = versionMismatch(req.headers, claimedVersion(request.params));
  if (versions) return refuseMismatch(res, request, versions, log);
  try {
    readEnvelope(request.method, request.params);
  } catch (error) {
    // A malformed envelope or an unsupported version: 400, with the error that says which.
    const wire = toWireError(error, log, 'modern');
    return replyJson(res, 400, errorFor(request.id, wire.code, wire.message, wire.data));
  }
  const tool =
    request.method === 'tools/call'
      ? options.pool.tools.byExposedName.get(String(request.params?.name))
      : undefined;
  const mismatch = headerMismatch(req.headers, {
    method: request.method,
    ...(request.params ? { params: request.params } : {}),
    protocolVersion: claimedVersion(request.params),
    ...(tool ? { inputSchema: tool.item.inputSchema } : {}),
  });
  if (mismatch) return refuseMismatch(res, request, mismatch, log);

  const controller = new AbortController();
  let streaming = false;
  let keepAlive: NodeJS.Timeout | undefined;
  const event = (message: unknown) => res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
  res.on('close', () => {
    clearInterval(keepAlive);
    if (!res.writableFinished) {
      controller.abort(new GatehouseError('CLIENT_CANCELLED', 'the client closed the request stream'));
    }
  });
  const reply = await options.front.answer(request, {
    caller,
    signal: controller.signal,
    notify: (notification) => {
      if (controller.signal.aborted || res.writableEnded) return;
      if (!streaming) {
        streaming = true;
        res.writeHead(200, SSE_HEADERS);
        if (request.method === 'subscriptions/listen') {
          keepAlive = setInterval(() => res.write(':\n\n'), KEEP_ALIVE_MS);
          keepAlive.unref();
        }
      }
      event({ jsonrpc: '2.0', ...notification });
    },
  });
  clearInterval(keepAlive);
  if (!reply || res.writableEnded) return;
  if (streaming) {
    event(reply);
    res.end();
    return;
  }
  replyJson(res, statusOf(reply), reply);
}

function refuseMismatch(
  res: ServerResponse,
  request: { id: string | number; method: string },
  mismatch: string,
  log: ModernHttpOptions['logger'],
): void {
  log.warn({ method: request.method, mismatch }, 'modern request refused: headers do not match the body');
  replyJson(res, 400, errorFor(request.id, MODERN_ERRORS.headerMismatch, `Header mismatch: ${mismatch}`));
}

/** 404 for an unknown method (what tells a modern client the method, not the endpoint, is missing). */
function statusOf(reply: JSONRPCMessage): number {
  const error = (reply as { error?: { code: number } }).error;
  if (!error) return 200;
  if (error.code === ErrorCode.MethodNotFound) return 404;
  const modern: number[] = Object.values(MODERN_ERRORS);
  return modern.includes(error.code) ? 400 : 200;
}

function errorFor(id: unknown, code: number, message: string, data?: unknown): object {
  return {
    jsonrpc: '2.0',
    ...(id !== undefined ? { id } : {}),
    error: { code, message, ...(data !== undefined ? { data } : {}) },
  };
}

function replyJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
