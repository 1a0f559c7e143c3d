import { randomUUID } from 'node:crypto';
import {
  ErrorCode,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import { META } from '../shared/modern.js';
import { isObject } from '../shared/json.js';
import { errorResponse } from '../shared/jsonRpc.js';
import { serial } from '../shared/serial.js';
import type { Logger } from '../log.js';

/*
 * Gatehouse's `subscriptions/listen` toward a 2026-07-28 server (basic/patterns/subscriptions.mdx):
 * one open listen per connection carries what Gatehouse's clients want to hear of that server, the
 * list changes it announces and the resources subscribed to. The era has no `resources/subscribe`:
 * a client's subscribe or unsubscribe (through the aggregate, which keeps a server subscribed while
 * anyone wants the URI) changes the set of URIs, and a listen's filter is fixed when it is sent, so
 * Gatehouse opens a listen with the new filter, waits for the server's acknowledgement, and only then
 * closes the old one (stdio: notifications/cancelled; HTTP: its stream closed). No update falls in a
 * gap, and none is relayed twice: once the new listen is acknowledged, what still arrives on the old
 * one is dropped.
 */

type Json = Record<string, unknown>;

const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged';

/** How many closed listens an answer is still expected from, at most. */
const CLOSED_REMEMBERED = 16;

/** The list changes a listen can ask for, by the capability that announces them. */
const LIST_FLAGS = [
  ['toolsListChanged', 'tools'],
  ['promptsListChanged', 'prompts'],
  ['resourcesListChanged', 'resources'],
] as const;

export interface ListenWire {
  /** Send a message to the server, with the envelope where it needs one. */
  send(message: JSONRPCMessage): Promise<void>;
  /** End a request of ours the way the server's era and transport say. */
  cancel(id: RequestId): Promise<void>;
  /** The server's capabilities, as its discover result said. */
  capabilities(): Json;
  /** The request's `_meta` envelope. */
  envelope(): Json;
}

/** The subscription id a notification of the server carries, when it arrived on a listen. */
function subscriptionOf(message: JSONRPCNotification): unknown {
  const meta = message.params?._meta;
  return isObject(meta) ? meta[META.subscriptionId] : undefined;
}

/** The notification without the id of Gatehouse's listen: its clients subscribed otherwise. */
function withoutSubscriptionId(message: JSONRPCNotification): JSONRPCNotification {
  const { [META.subscriptionId]: _id, ...meta } = message.params!._meta as Json;
  const { _meta: _old, ...params } = message.params!;
  return { ...message, params: Object.keys(meta).length > 0 ? { ...params, _meta: meta } : params };
}

export class ModernListen {
  /** The resource URIs Gatehouse's clients hold subscribed on this server. */
  private readonly subscribed = new Set<string>();
  /** The listen whose notifications are relayed. */
  private current?: string;
  /** A listen sent and not yet acknowledged. */
  private pending?: { id: string; settle(ack: Json | Error): void };
  /** Listens Gatehouse closed: an answer that still comes for one is dropped. */
  private readonly closed = new Set<RequestId>();
  /** Changes of the listen, one after the other, each building on the last. */
  private readonly enqueue = serial();

  constructor(
    private readonly wire: ListenWire,
    private readonly log: Logger,
  ) {}

  /** The connection is up: listen for the list changes the server announces. */
  start(): void {
    this.enqueue(() => this.relisten()).catch((error: unknown) =>
      this.log.warn(
        { reason: String(error) },
        'subscriptions/listen not accepted; list changes will not be heard',
      ),
    );
  }

  /** The wire closed: a listen waiting for its acknowledgement never gets one. */
  closedWire(): void {
    this.pending?.settle(new Error('the connection closed before the server acknowledged it'));
  }

  /** resources/subscribe or resources/unsubscribe, answered once the listen carries the change. */
  async request(request: JSONRPCRequest): Promise<JSONRPCMessage> {
    const { method, id } = request;
    const uri = request.params?.uri;
    const fail = (code: number, message: string) => errorResponse(id, message, code);
    if (typeof uri !== 'string')
      return fail(ErrorCode.InvalidParams, `${method} needs params.uri (a string)`);
    const on = method === 'resources/subscribe';
    const resources = this.wire.capabilities().resources;
    if (on && !(isObject(resources) && resources.subscribe)) {
      return fail(
        ErrorCode.MethodNotFound,
        `${method} cannot reach this server: it speaks MCP 2026-07-28, where resource subscriptions ride ` +
          'subscriptions/listen, and its capabilities offer none (no resources.subscribe)',
      );
    }
    return this.enqueue(async () => {
      if (on === this.subscribed.has(uri)) return { jsonrpc: '2.0', id, result: {} };
      if (on) this.subscribed.add(uri);
      else this.subscribed.delete(uri);
      try {
        const honoured = await this.relisten();
        const kept = honoured?.resourceSubscriptions;
        if (on && !(Array.isArray(kept) && kept.includes(uri))) {
          this.subscribed.delete(uri);
          return fail(
            ErrorCode.InternalError,
            `${method} for ${uri}: the server's subscriptions/listen acknowledgement left the resource out`,
          );
        }
        return { jsonrpc: '2.0', id, result: {} };
      } catch (error) {
        if (on) this.subscribed.delete(uri);
        else this.subscribed.add(uri);
        return fail(
          ErrorCode.InternalError,
          `${method} for ${uri}: the server refused the subscriptions/listen that carries it (${String(error)})`,
        );
      }
    });
  }

  /**
   * A notification of the server: the acknowledgement of a listen is Gatehouse's; one that came on a
   * listen Gatehouse replaced is dropped (the new one carries it); the rest is relayed without the
   * listen's id. Undefined: not for the Client.
   */
  notification(message: JSONRPCNotification): JSONRPCNotification | undefined {
    const subscription = subscriptionOf(message);
    if (message.method === ACKNOWLEDGED) {
      if (this.pending && subscription === this.pending.id) {
        // From here on the new listen is the one heard, before the old one is even closed.
        this.current = this.pending.id;
        this.pending.settle(isObject(message.params?.notifications) ? message.params.notifications : {});
      }
      return undefined;
    }
    if (subscription === undefined) return message;
    if (subscription !== this.current) return undefined;
    return withoutSubscriptionId(message);
  }

  /** An answer to one of the listens: true when it was (the Client never sent them). */
  response(message: JSONRPCMessage & { id: RequestId }): boolean {
    if (this.pending && message.id === this.pending.id) {
      const error = (message as { error?: { message?: unknown } }).error;
      this.pending.settle(new Error(error ? String(error.message) : 'it answered before acknowledging'));
      return true;
    }
    if (message.id === this.current) {
      this.current = undefined;
      this.log.info(
        { error: 'error' in message ? message.error : undefined },
        'the server ended subscriptions/listen',
      );
      return true;
    }
    return this.closed.delete(message.id);
  }

  /** What a listen sent now asks for; undefined when nothing. */
  private filter(): Json | undefined {
    const capabilities = this.wire.capabilities();
    const notifications: Json = {};
    for (const [flag, capability] of LIST_FLAGS) {
      const offered = capabilities[capability];
      if (isObject(offered) && offered.listChanged) notifications[flag] = true;
    }
    if (this.subscribed.size > 0) notifications.resourceSubscriptions = [...this.subscribed];
    return Object.keys(notifications).length > 0 ? notifications : undefined;
  }

  /**
   * A listen of the current filter in place of the open one: the new one acknowledged first, then the
   * old one closed. Resolves with what the server agreed to honour.
   */
  private async relisten(): Promise<Json | undefined> {
    const old = this.current;
    const notifications = this.filter();
    let honoured: Json | undefined;
    if (notifications) {
      const id = `gatehouse-listen-${randomUUID()}`;
      const acknowledged = new Promise<Json>((resolve, reject) => {
        this.pending = { id, settle: (ack) => (ack instanceof Error ? reject(ack) : resolve(ack)) };
      });
      acknowledged.catch(() => undefined);
      try {
        await this.wire.send({
          jsonrpc: '2.0',
          id,
          method: 'subscriptions/listen',
          params: { notifications, _meta: this.wire.envelope() },
        });
        honoured = await acknowledged;
      } finally {
        this.pending = undefined;
      }
    } else {
      this.current = undefined;
    }
    if (old !== undefined) {
      this.closed.add(old);
      // A cancelled request should get no answer at all: remember only the latest few that might.
      if (this.closed.size > CLOSED_REMEMBERED) this.closed.delete(this.closed.values().next().value!);
      await this.wire.cancel(old);
    }
    return honoured;
  }
}
