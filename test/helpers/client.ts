import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  type ClientCapabilities,
  type CreateMessageRequest,
  type ElicitRequest,
  type Notification,
  type Root,
} from '@modelcontextprotocol/sdk/types.js';

export interface TestClientOptions {
  /**
   * `full`: sampling, elicitation (form and URL) and roots, answered by canned handlers; `declared`: the
   * same capabilities but no handlers (the SDK answers "Method not found"); `none`: no capabilities.
   */
  capabilities?: 'full' | 'declared' | 'none';
  roots?: Root[];
  name?: string;
  /** Declare MCP tasks (2025-11-25): the client follows calls it asks for as tasks. */
  tasks?: boolean;
}

/** An SDK Client playing the LLM client: canned answers to server requests, every notification recorded. */
export interface TestClient {
  client: Client;
  notifications: Notification[];
  /** The server-initiated requests this client answered, in order. */
  serverRequests: { method: string; params: unknown }[];
  /** Resolves with the first notification (already received or still to come) that matches. */
  waitForNotification(
    method: string,
    match?: (n: Notification) => boolean,
    timeoutMs?: number,
  ): Promise<Notification>;
  /** A `match` for waitForNotification that skips everything received before this call. */
  fromNow(): (n: Notification) => boolean;
  close(): Promise<void>;
}

/** What Gatehouse declares to its downstreams: a direct client declares the same, so both see the same tools. */
export const FULL_CAPABILITIES: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
};

export const CANNED_SAMPLE = (request: CreateMessageRequest) => ({
  model: 'test-model',
  role: 'assistant' as const,
  stopReason: 'endTurn',
  content: { type: 'text' as const, text: `sampled ${request.params.messages.length} message(s)` },
});

export const CANNED_ELICIT = (request: ElicitRequest) =>
  request.params.mode === 'url'
    ? { action: 'accept' as const }
    : { action: 'accept' as const, content: { name: 'Ada Lovelace', check: true, integer: 7 } };

export async function connectTestClient(
  transport: Transport,
  options: TestClientOptions = {},
): Promise<TestClient> {
  const mode = options.capabilities ?? 'full';
  const client = new Client(
    { name: options.name ?? 'gatehouse-test-client', version: '1.0.0' },
    {
      capabilities: {
        ...(mode === 'none' ? {} : FULL_CAPABILITIES),
        ...(options.tasks ? { tasks: { list: {}, cancel: {} } } : {}),
      },
    },
  );
  const notifications: Notification[] = [];
  const serverRequests: TestClient['serverRequests'] = [];
  const waiters = new Set<() => void>();
  client.fallbackNotificationHandler = async (notification) => {
    notifications.push(notification);
    for (const wake of waiters) wake();
  };
  if (mode === 'full') {
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      serverRequests.push({ method: request.method, params: request.params });
      return CANNED_SAMPLE(request);
    });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      serverRequests.push({ method: request.method, params: request.params });
      return CANNED_ELICIT(request);
    });
    client.setRequestHandler(ListRootsRequestSchema, async (request) => {
      serverRequests.push({ method: request.method, params: request.params });
      return { roots: options.roots ?? [] };
    });
  }
  await client.connect(transport);

  function waitForNotification(
    method: string,
    match: (n: Notification) => boolean = () => true,
    timeoutMs = 10_000,
  ) {
    return new Promise<Notification>((resolve, reject) => {
      const check = () => {
        const found = notifications.find((n) => n.method === method && match(n));
        if (!found) return false;
        waiters.delete(wake);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const wake = () => void check();
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(
          new Error(
            `no ${method} notification within ${timeoutMs} ms; got: ${notifications.map((n) => n.method).join(', ')}`,
          ),
        );
      }, timeoutMs);
      waiters.add(wake);
      check();
    });
  }

  function fromNow() {
    const seen = notifications.length;
    return (n: Notification) => notifications.indexOf(n) >= seen;
  }

  return { client, notifications, serverRequests, waitForNotification, fromNow, close: () => client.close() };
}
