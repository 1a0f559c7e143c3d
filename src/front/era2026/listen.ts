import {
  EmptyResultSchema,
  type Notification,
  type ServerCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { randomUUID } from 'node:crypto';
import { ErrorCode, McpError, type Result } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../log.js';
import type { Aggregate } from '../aggregate.js';
import type { Relay } from '../relay.js';
import { MODERN_REQUESTER } from '../sessions.js';
import type { Exchange, ModernRequest } from './dispatch.js';
import type { ApprovalTasks } from './tasks.js';
import { META } from '../../shared/modern.js';
import { requireTasks, type Envelope } from './wire.js';
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

/** What a listen request needs of the front that hands it over. */
export interface ListenContext {
  hub: ListenHub;
  /** sessions.maxListensPerCaller */
  maxPerCaller: number;
  /** Gatehouse's capabilities now (what a listener may opt in to). */
  capabilities: ServerCapabilities;
  tasks: Pick<ApprovalTasks, 'follow'>;
  aggregate: Pick<Aggregate, 'subscribe' | 'release'>;
  /** Everyone else holding resource subscriptions (sessions and listeners). */
  others: () => Requester[];
  log: Logger;
}

/**
 * A subscription: acknowledged with what Gatehouse honours, then open until the client cancels it
 * (no answer then) or Gatehouse stops (answered, so the client knows it ended gracefully).
 */
export async function listen(
  request: ModernRequest,
  envelope: Envelope,
  exchange: Exchange,
  ctx: ListenContext,
): Promise<Result> {
  const { hub, tasks, log } = ctx;
  const filter = request.params?.notifications;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new McpError(
      ErrorCode.InvalidParams,
      'Invalid subscriptions/listen request: params.notifications is required (an object)',
    );
  }
  const wanted = filter as Record<string, unknown>;
  if (wanted.taskIds !== undefined) requireTasks(envelope, 'task notifications');
  if (wanted.taskIds !== undefined && !Array.isArray(wanted.taskIds)) {
    throw new McpError(
      ErrorCode.InvalidParams,
      'Invalid subscriptions/listen request: params.notifications.taskIds must be an array of task ids',
    );
  }
  if (hub.countOf(exchange.caller.id) >= ctx.maxPerCaller) {
    throw new McpError(
      ErrorCode.InvalidRequest,
      `Too many subscriptions: this caller already holds ${ctx.maxPerCaller} open subscriptions/listen ` +
        'requests (the limit sessions.maxListensPerCaller); close one first',
    );
  }
  const caps = ctx.capabilities;
  const offered: Record<ListChange, boolean> = {
    toolsListChanged: true,
    promptsListChanged: caps.prompts !== undefined,
    resourcesListChanged: caps.resources !== undefined,
  };
  const changes = new Set(
    (Object.keys(LIST_CHANGES) as ListChange[]).filter(
      (change) => wanted[change] === true && offered[change],
    ),
  );
  const tag = { [META.subscriptionId]: request.id };
  // Resource subscriptions are held like a session's: the server stays subscribed while anyone
  // (a session or a listener) wants the URI. One the servers refuse is left out of the acknowledgement.
  const subscriber: Requester = {
    id: `${MODERN_REQUESTER}${randomUUID()}`,
    caller: exchange.caller,
    askedFor: new Set(),
    subscriptions: new Set(),
  };
  const { others } = ctx;
  const uris = Array.isArray(wanted.resourceSubscriptions) ? wanted.resourceSubscriptions : [];
  if (caps.resources?.subscribe) {
    for (const uri of new Set(uris)) {
      if (typeof uri !== 'string') continue;
      await ctx.aggregate
        .subscribe(uri, subscriber, { signal: exchange.signal }, true, others)
        .catch((error: unknown) =>
          log.debug({ uri, reason: String(error) }, 'resource subscription refused'),
        );
    }
  }
  const release = () => void ctx.aggregate.release(subscriber, others);
  // Nothing is sent on the stream before its acknowledgement: task changes wait for it.
  let acknowledged = false;
  const early: Record<string, unknown>[] = [];
  const sendTask = (params: Record<string, unknown>) =>
    acknowledged ? exchange.notify({ method: 'notifications/tasks', params }) : void early.push(params);
  const tasksFollowed = await tasks.follow(
    (wanted.taskIds as unknown[] | undefined) ?? [],
    exchange.caller,
    (task) => sendTask({ ...task, _meta: tag }),
  );
  const honoured: Record<string, unknown> = Object.fromEntries([...changes].map((c) => [c, true]));
  if (wanted.resourceSubscriptions !== undefined)
    honoured.resourceSubscriptions = [...subscriber.subscriptions];
  if (wanted.taskIds !== undefined) honoured.taskIds = tasksFollowed.followed;
  exchange.notify({
    method: 'notifications/subscriptions/acknowledged',
    params: { _meta: tag, notifications: honoured },
  });
  acknowledged = true;
  for (const params of early) exchange.notify({ method: 'notifications/tasks', params });
  return new Promise<Result>((resolve, reject) => {
    const close = hub.open({
      callerId: exchange.caller.id,
      changes,
      subscriber,
      notify: (method, params) => exchange.notify({ method, params: { ...params, _meta: tag } }),
      end: () => {
        tasksFollowed.stop();
        release();
        resolve({ _meta: tag });
      },
    });
    const cancelled = () => {
      close();
      release();
      tasksFollowed.stop();
      reject(exchange.signal.reason);
    };
    if (exchange.signal.aborted) cancelled();
    else exchange.signal.addEventListener('abort', cancelled, { once: true });
  });
}
