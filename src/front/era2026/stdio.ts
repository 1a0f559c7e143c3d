import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { GatehouseError } from '../../errors.js';
import type { Caller } from '../../pipeline/toolCall.js';
import { isNotification, isRequest, isResponse } from '../../shared/jsonRpc.js';
import type { ModernFront } from './dispatch.js';
import { isModernRequest } from './wire.js';

/**
 * Both protocol eras on one stdio connection (basic/versioning.mdx, "A dual-era server selects its
 * behavior from how the client opens"). Requests that carry the 2026-07-28 envelope (and the
 * `server/discover` probe) are answered by the modern front, each on its own; everything else reaches
 * the SDK v1 Server of the legacy session exactly as before. The legacy session speaks first only once
 * the client has initialized it: a modern client never gets list changes or notices it did not ask for.
 */
export class EraSplitTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** Modern requests being answered, by id: notifications/cancelled aborts one. */
  private readonly modern = new Map<RequestId, AbortController>();
  private legacyOpened = false;

  constructor(
    private readonly inner: Transport,
    private readonly front: ModernFront,
    private readonly caller: Omit<Caller, 'client'>,
  ) {}

  async start(): Promise<void> {
    this.inner.onmessage = (message, extra) => this.receive(message, extra);
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onclose = () => {
      this.abortAll('the client closed the connection');
      this.onclose?.();
    };
    await this.inner.start();
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (isModernRequest(message)) {
      void this.serve(message);
      return;
    }
    if (isNotification(message) && message.method === 'notifications/cancelled') {
      const params = message.params as { requestId?: RequestId; reason?: string } | undefined;
      const running = params?.requestId !== undefined ? this.modern.get(params.requestId) : undefined;
      if (running) {
        running.abort(
          new GatehouseError('CLIENT_CANCELLED', params?.reason ?? 'the client cancelled the request'),
        );
        return;
      }
    }
    if (isRequest(message) && message.method === 'initialize') this.legacyOpened = true;
    this.onmessage?.(message, extra);
  }

  private async serve(request: { id: RequestId; method: string; params?: Record<string, unknown> }) {
    const controller = new AbortController();
    this.modern.set(request.id, controller);
    const reply = await this.front.answer(request, {
      caller: this.caller,
      signal: controller.signal,
      notify: (notification) => {
        if (!controller.signal.aborted) {
          void this.inner.send({ jsonrpc: '2.0', ...notification } as JSONRPCMessage).catch(() => undefined);
        }
      },
    });
    this.modern.delete(request.id);
    // A cancelled request gets no answer (its id was freed when the cancellation passed).
    if (reply) await this.inner.send(reply).catch((error: Error) => this.onerror?.(error));
  }

  /** The legacy session's messages: answers always, its own notifications and requests once it is open. */
  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (!this.legacyOpened && !isResponse(message)) return Promise.resolve();
    return this.inner.send(message, options);
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  private abortAll(reason: string): void {
    for (const controller of this.modern.values())
      controller.abort(new GatehouseError('CLIENT_CANCELLED', reason));
    this.modern.clear();
  }

  async close(): Promise<void> {
    this.abortAll('Gatehouse is stopping');
    await this.inner.close();
  }
}
