import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import type {
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResultResponse,
  RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/*
 * Shape checks for messages already validated as JSON-RPC (JSONRPCMessageSchema): telling the kinds
 * apart needs no second schema parse, which the SDK's own `isJSONRPC*` guards do on every message.
 */

export const isRequest = (m: JSONRPCMessage): m is JSONRPCRequest => 'method' in m && 'id' in m;

/** A result or error that names the request it answers. */
export const isResponse = (
  m: JSONRPCMessage,
): m is (JSONRPCResultResponse | JSONRPCErrorResponse) & { id: RequestId } =>
  !('method' in m) && m.id !== undefined;

export const isNotification = (m: JSONRPCMessage): m is JSONRPCNotification =>
  'method' in m && (m as { id?: unknown }).id === undefined;

/** A JSON-RPC error answering request `id`: an internal error unless `code` says otherwise. */
export const errorResponse = (
  id: RequestId,
  message: string,
  code: number = ErrorCode.InternalError,
): JSONRPCErrorResponse => ({ jsonrpc: '2.0', id, error: { code, message } });
