import { randomUUID } from 'node:crypto';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError, type ErrorCode as GatehouseCode } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * The one place where errors become MCP wire errors. The SDK sends any thrown error's `message` to the
 * client, so: downstream MCP errors pass through unchanged (code, message, data), Gatehouse's own
 * errors keep their message, and anything else becomes an opaque message with an id to find in the log.
 */
const WIRE_CODES: Partial<Record<GatehouseCode, number>> = {
  UNKNOWN_TOOL: ErrorCode.InvalidParams,
  UNKNOWN_PROMPT: ErrorCode.InvalidParams,
  // The spec's "resource not found" code.
  UNKNOWN_RESOURCE: -32002,
  ROUTING_AMBIGUOUS: ErrorCode.InvalidRequest,
  CLIENT_CAPABILITY_MISSING: ErrorCode.MethodNotFound,
  DOWNSTREAM_TIMEOUT: ErrorCode.RequestTimeout,
  DOWNSTREAM_CLOSED: ErrorCode.ConnectionClosed,
  // Gatehouse's own, outside the range JSON-RPC and MCP reserve (a failed 2026-07-28 task carries it).
  CALL_NOT_APPROVED: -31000,
};

/** What the SDK's Protocol needs to answer with a JSON-RPC error: a code, a message, maybe data. */
export interface WireError extends Error {
  code: number;
  data?: unknown;
}

const SDK_PREFIX = /^MCP error -?\d+: /;

/**
 * Codes a 2026-07-28 client must not receive (basic/index.mdx, "Error Codes"): resource not found is
 * Invalid params there, whether Gatehouse or a legacy downstream said it.
 */
const MODERN_CODES: Record<number, number> = { [-32002]: ErrorCode.InvalidParams };

/** Which protocol era the client that gets the error speaks (front/era2026/ serves the modern one). */
export type Era = 'legacy' | 'modern';

export function toWireError(error: unknown, log: Logger, era: Era = 'legacy'): WireError {
  const code = (legacy: number) => (era === 'modern' ? (MODERN_CODES[legacy] ?? legacy) : legacy);
  if (error instanceof McpError) {
    // McpError prefixes "MCP error <code>: " to the message it received; relay the original text.
    return wireError(code(error.code), error.message.replace(SDK_PREFIX, ''), error.data);
  }
  if (error instanceof GatehouseError) {
    return wireError(code(WIRE_CODES[error.code] ?? ErrorCode.InternalError), error.message);
  }
  const ref = randomUUID();
  log.error({ err: error, ref }, 'unexpected error while handling a client request');
  return wireError(ErrorCode.InternalError, `Gatehouse internal error (ref ${ref}); see the Gatehouse log`);
}

function wireError(code: number, message: string, data?: unknown): WireError {
  const error = new Error(message) as WireError;
  error.code = code;
  if (data !== undefined) error.data = data;
  return error;
}

/** A failure the model should read as the outcome of its tool call rather than a protocol fault. */
export function toolErrorResult(text: string, meta?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text }],
    isError: true,
    ...(meta ? { _meta: { 'gatehouse/error': meta } } : {}),
  };
}

/** Wrap a request handler so that every error it throws leaves through toWireError. */
export function guarded<A extends unknown[], R>(log: Logger, handler: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R> => {
    try {
      return await handler(...args);
    } catch (error) {
      throw toWireError(error, log);
    }
  };
}
