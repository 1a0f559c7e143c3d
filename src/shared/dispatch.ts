import type { Protocol } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type {
  JSONRPCErrorResponse,
  JSONRPCMessage,
  JSONRPCNotification,
  JSONRPCRequest,
  JSONRPCResultResponse,
  MessageExtraInfo,
} from '@modelcontextprotocol/sdk/types.js';
import { isJsonRpcMessage } from './jsonLines.js';
import { isRequest, isResponse } from './jsonRpc.js';

/*
 * The SDK's Protocol tells an incoming message's kind by parsing it with zod schemas, one after the
 * other (`isJSONRPCResultResponse`, `isJSONRPCErrorResponse`, `isJSONRPCRequest`): up to three parses
 * of the whole envelope for every message, on both legs of every call, before the method's own schema
 * validates the params or the result. What that parse checks is the JSON-RPC envelope, which
 * `isJsonRpcMessage` checks as well without building a copy; the params and results are still
 * validated once, by the method's schema.
 */

/** The Protocol's own dispatch, which `connect` wires to the transport. */
interface Dispatch {
  _onresponse(response: JSONRPCResultResponse | JSONRPCErrorResponse): void;
  _onrequest(request: JSONRPCRequest, extra?: MessageExtraInfo): void;
  _onnotification(notification: JSONRPCNotification): void;
  _onerror(error: Error): void;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyProtocol = Protocol<any, any, any>;

function hasDispatch(protocol: object): boolean {
  const p = protocol as Partial<Record<keyof Dispatch, unknown>>;
  return (
    typeof p._onresponse === 'function' &&
    typeof p._onrequest === 'function' &&
    typeof p._onnotification === 'function' &&
    typeof p._onerror === 'function'
  );
}

/** The SDK's envelope schemas are strict: a member JSON-RPC does not define makes a message unknown. */
const ENVELOPE_MEMBERS = new Set(['jsonrpc', 'id', 'method', 'params', 'result', 'error']);

function onlyEnvelopeMembers(message: object): boolean {
  for (const key in message) if (!ENVELOPE_MEMBERS.has(key)) return false;
  return true;
}

/**
 * Makes `protocol` tell incoming messages apart by their shape once connected: a message that is not
 * a JSON-RPC 2.0 envelope is refused as the SDK refuses it (an "Unknown message type" error, nothing
 * dispatched). An SDK without the dispatch methods this relies on keeps its own.
 */
export function dispatchByShape<P extends AnyProtocol>(protocol: P): P {
  if (!hasDispatch(protocol)) return protocol;
  const dispatch = protocol as unknown as Dispatch;
  const connect = protocol.connect.bind(protocol);
  protocol.connect = async (transport: Transport, ...options: unknown[]) => {
    // What was listening before the Protocol took the transport over, as the SDK's own dispatch keeps it.
    const before = transport.onmessage;
    await (connect as (transport: Transport, ...options: unknown[]) => Promise<void>)(transport, ...options);
    transport.onmessage = (message: JSONRPCMessage, extra?: MessageExtraInfo) => {
      before?.(message, extra);
      if (!isJsonRpcMessage(message) || !onlyEnvelopeMembers(message)) {
        dispatch._onerror(new Error(`Unknown message type: ${JSON.stringify(message)}`));
      } else if (isResponse(message)) {
        dispatch._onresponse(message);
      } else if (isRequest(message)) {
        dispatch._onrequest(message, extra);
      } else {
        dispatch._onnotification(message as JSONRPCNotification);
      }
    };
  };
  return protocol;
}
