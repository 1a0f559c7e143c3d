import {
  EmptyResultSchema,
  type Notification,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import type { Relay } from '../relay.js';
import type { Requester } from '../sessions.js';

/*
 * `subscriptions/listen` (basic/patterns/subscriptions.mdx): a modern client opts in to change
 * notifications on one long-lived request; every notification on it carries the request's id as
 * `io.modelcontextprotocol/subscriptionId`. Legacy sessions get the same changes from the relay.
 */

/** The list changes a listen request can opt in to. */
export const LIST_CHANGES = {
  toolsListChanged: 'notifications/tools/list_changed',
  promptsListChanged: 'notifications/prompts/list_changed',
  resourcesListChanged: 'notifications/resources/list_changed',
} as const;

export type ListChange = keyof typeof LIST_CHANGES;

const RESOURCE_UPDATED = 'notifications/resources/updated';

interface Listener {
  callerId: string;
  changes: ReadonlySet<ListChange>;
  /** Its resource subscriptions: `subscriptions` are the URIs it holds the servers subscribed for. */
  subscriber: Requester;
  notify(method: string, params?: Record<string, unknown>): void;
  /** The server ends the subscription (shutdown): it answers the listen request and closes. */
  end(): void;
}

/** The open listen requests of this process; they hold no state beyond their request. */
export function createListenHub() {
  const listeners = new Set<Listener>();
  return {
    /** Registers a listener; the returned function removes it. */
    open(listener: Listener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Open listens of one caller (sessions.maxListensPerCaller bounds them). */
    countOf(callerId: string): number {
      let count = 0;
      for (const listener of listeners) if (listener.callerId === callerId) count += 1;
      return count;
    },
    changed(change: ListChange): void {
      for (const listener of listeners)
        if (listener.changes.has(change)) listener.notify(LIST_CHANGES[change]);
    },
    /** A server says a resource changed: the listeners subscribed to it hear it as the server said it. */
    updated(params: Record<string, unknown>): void {
      const uri = params.uri;
      if (typeof uri !== 'string') return;
      for (const listener of listeners) {
        if (listener.subscriber.subscriptions.has(uri)) listener.notify(RESOURCE_UPDATED, params);
      }
    },
    /** The listeners holding resource subscriptions, beside the legacy sessions that do. */
    subscribers(): Requester[] {
      return [...listeners].map((l) => l.subscriber).filter((s) => s.subscriptions.size > 0);
    },
    /** Shutdown: every subscription ends gracefully, with its response. */
    endAll(): void {
      for (const listener of [...listeners]) listener.end();
      listeners.clear();
    },
    get size() {
      return listeners.size;
    },
  };
}

export type ListenHub = ReturnType<typeof createListenHub>;

/**
 * The relay, telling listen streams too: every path on which legacy sessions hear of a changed list
 * (a server's notification, its restart, a policy reload or changed tools) reaches the hub as well.
 */
export function relayingToListeners(relay: Relay, hub: ListenHub): Relay {
  const tellServerLists = (caps: ServerCapabilities) => {
    if (caps.prompts) hub.changed('promptsListChanged');
    if (caps.resources) hub.changed('resourcesListChanged');
  };
  return {
    ...relay,
    onNotification(connection: DownstreamConnection, notification: Notification, origin) {
      relay.onNotification(connection, notification, origin);
      if (notification.method === RESOURCE_UPDATED && notification.params) hub.updated(notification.params);
      if (notification.method === LIST_CHANGES.promptsListChanged) hub.changed('promptsListChanged');
      if (notification.method === LIST_CHANGES.resourcesListChanged) hub.changed('resourcesListChanged');
    },
    onServerReconnected(connection: DownstreamConnection) {
      relay.onServerReconnected(connection);
      tellServerLists(connection.capabilities);
      // Subscriptions do not survive a server's restart: renew the listeners' too (the relay renews
      // the sessions'; a second subscribe to a URI is harmless).
      const uris = new Set(hub.subscribers().flatMap((s) => [...s.subscriptions]));
      for (const uri of uris) {
        void connection
          .request({ method: 'resources/subscribe', params: { uri } }, EmptyResultSchema, {
            sessionId: 'gatehouse',
          })
          .catch(() => undefined);
      }
    },
    onToolsChanged() {
      relay.onToolsChanged();
      hub.changed('toolsListChanged');
    },
  };
}
