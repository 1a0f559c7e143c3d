import type { Notification, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import type { Relay } from '../relay.js';

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

interface Listener {
  callerId: string;
  changes: ReadonlySet<ListChange>;
  notify(method: string): void;
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
      if (notification.method === LIST_CHANGES.promptsListChanged) hub.changed('promptsListChanged');
      if (notification.method === LIST_CHANGES.resourcesListChanged) hub.changed('resourcesListChanged');
    },
    onServerReconnected(connection: DownstreamConnection) {
      relay.onServerReconnected(connection);
      tellServerLists(connection.capabilities);
    },
    onToolsChanged() {
      relay.onToolsChanged();
      hub.changed('toolsListChanged');
    },
  };
}
