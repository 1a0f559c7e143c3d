import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { errorResponse, isRequest } from '../shared/jsonRpc.js';

/**
 * How many messages the gate holds while Gatehouse starts. A client has no reason to send more before
 * its first answer; past this, requests are refused at once instead of growing memory without bound.
 */
export const MAX_HELD_MESSAGES = 1_000;

/**
 * The stdio front while Gatehouse is still starting: it reads its client from the moment it is
 * connected, and holds what the client sends until Gatehouse can answer it. Everything is held, in
 * order, until `open()` (the downstream servers have had their first attempt and approvals are
 * recovered), except the `server/discover` probe, which goes on as soon as `discoverBy` settles:
 * a client such as Claude Code gives the probe a couple of seconds from launch and otherwise falls back
 * to the older protocol era. The probe is a question about Gatehouse, answered on its own, so it may
 * pass what is held; its answer tells of the servers still connecting (see DownstreamPool.declaredCapabilities).
 */
export class StartGate implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  /** What came before open(), in order; undefined once open. */
  private held: [JSONRPCMessage, MessageExtraInfo | undefined][] | undefined = [];
  private readonly opened: Promise<void>;
  private release!: () => void;
  private readonly discoverAfter: Promise<void>;
  private closed = false;
  private started = false;

  constructor(
    private readonly inner: Transport,
    discoverBy: Promise<void>,
    private readonly maxHeld = MAX_HELD_MESSAGES,
  ) {
    this.opened = new Promise((resolve) => (this.release = resolve));
    this.discoverAfter = Promise.race([discoverBy, this.opened]);
  }

  /** Once: the front starts reading before the session that answers is connected, which starts it again. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.inner.onmessage = (message, extra) => this.receive(message, extra);
    this.inner.onerror = (error) => this.onerror?.(error);
    this.inner.onclose = () => this.onclose?.();
    await this.inner.start();
  }

  /** Gatehouse has started: what was held goes on in the order it came, and from now on everything at once. */
  open(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const [message, extra] of held) this.onmessage?.(message, extra);
    this.release();
  }

  private receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (!this.held) this.onmessage?.(message, extra);
    else if (isRequest(message) && message.method === 'server/discover')
      // A start that fails closes the gate: the probe is not answered.
      void this.discoverAfter.then(
        () => !this.closed && this.onmessage?.(message, extra),
        () => undefined,
      );
    else if (this.held.length < this.maxHeld) this.held.push([message, extra]);
    else if (isRequest(message)) {
      void this.inner
        .send(
          errorResponse(
            message.id,
            `Gatehouse is still starting and already holds ${this.maxHeld} messages for when it has started; ` +
              `this ${message.method} request was not taken. Send it again once Gatehouse answers.`,
          ),
        )
        .catch(() => undefined);
    }
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  setProtocolVersion(version: string): void {
    this.inner.setProtocolVersion?.(version);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.held = [];
    await this.inner.close();
  }
}
