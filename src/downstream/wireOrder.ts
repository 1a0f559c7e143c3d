import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type {
  JSONRPCMessage,
  JSONRPCNotification,
  MessageExtraInfo,
  RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { isNotification, isRequest, isResponse } from '../shared/jsonRpc.js';

/**
 * A downstream transport whose notifications Gatehouse takes as they come off the wire, before the SDK
 * sees any message after them. The SDK's Protocol runs notification handlers a microtask late but
 * settles a response at once, and drops a request's progress handler with its response: a progress
 * notification read in one chunk with its result (one stdout write, one SSE chunk) reached the caller
 * after the result, or not at all. Taken here in wire order, every notification a server sends before
 * a result is relayed before that result. Requests and responses go on to the SDK unchanged.
 *
 * It also keeps the server's initialize result as sent: the SDK's copy drops capabilities it does not
 * know, which Gatehouse passes on to its clients.
 */
export class WireOrderTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** The server's answer to initialize, every field kept. */
  initializeResult?: Record<string, unknown>;
  private initializeId?: RequestId;

  /** `take` returns whether it handled the notification; what it leaves goes to the SDK. */
  constructor(
    readonly inner: Transport,
    take: (notification: JSONRPCNotification) => boolean,
  ) {
    inner.onmessage = (message, extra) => {
      if (isNotification(message) && take(message)) return;
      if (isResponse(message) && message.id === this.initializeId && 'result' in message)
        this.initializeResult = message.result;
      this.onmessage?.(message, extra);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (isRequest(message) && message.method === 'initialize') this.initializeId = message.id;
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }
}
