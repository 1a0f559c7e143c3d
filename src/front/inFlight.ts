import { ErrorCode, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { errorResponse } from '../shared/jsonRpc.js';

/**
 * The ids of the requests a client has in flight on one session. JSON-RPC ids must be unique among
 * them, and the SDK's Protocol keys a request's state by its id (its abort controller; on HTTP, the
 * stream its answer goes to): a second request under an id still in flight would take over the
 * first one's, and the first would never be answered. So a transport claims every request's id
 * before the Protocol sees it and refuses a duplicate (`duplicateIdError`); the id is free again once
 * its response has been sent, or once the client has cancelled the request (the SDK sends no
 * response to a cancelled request).
 */
export function inFlightIds() {
  /** A token per claim: a release scheduled for one claim never frees a later claim of the same id. */
  const ids = new Map<RequestId, object>();

  return {
    /** Takes the id for a request; false when a request with this id is already in flight. */
    claim(id: RequestId): boolean {
      if (ids.has(id)) return false;
      ids.set(id, {});
      return true;
    },
    /** The response to `id` went out (or was dropped with its stream). */
    answered(id: RequestId): void {
      ids.delete(id);
    },
    /**
     * Watches what the client sends after it reached the Protocol. A `notifications/cancelled` frees
     * its request's id, but only once the Protocol has aborted that request (it does so in a
     * microtask), so that a request reusing the id is not aborted in its place.
     */
    observe(message: JSONRPCMessage): void {
      if (!('method' in message) || message.method !== 'notifications/cancelled' || 'id' in message) return;
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      const claim = id === undefined ? undefined : ids.get(id);
      if (claim === undefined) return;
      setImmediate(() => {
        if (ids.get(id!) === claim) ids.delete(id!);
      });
    },
    get size(): number {
      return ids.size;
    },
    clear(): void {
      ids.clear();
    },
  };
}

export type InFlightIds = ReturnType<typeof inFlightIds>;

/** The answer to a request whose id is already in flight in its session. */
export function duplicateIdError(id: RequestId): JSONRPCMessage {
  return errorResponse(
    id,
    `Invalid Request: request id ${JSON.stringify(id)} is already in flight in this session; use a new id`,
    ErrorCode.InvalidRequest,
  );
}
