import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { Exchange, ModernFront, ModernRequest } from './dispatch.js';
import { EraSplitTransport } from './stdio.js';

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** An inner transport that records what is written and lets the test deliver what the client sends. */
function wire() {
  const sent: JSONRPCMessage[] = [];
  const inner: Transport = {
    start: async () => undefined,
    send: async (message) => void sent.push(message),
    close: async () => inner.onclose?.(),
  };
  return { inner, sent, receive: (message: object) => inner.onmessage!(message as JSONRPCMessage) };
}

/** A front that answers each request with its method, or waits (for cancellation) on `wait`. */
function front() {
  const seen: { request: ModernRequest; exchange: Exchange }[] = [];
  const modern = {
    answer: async (request: ModernRequest, exchange: Exchange) => {
      seen.push({ request, exchange });
      exchange.notify({ method: 'notifications/progress', params: { progressToken: 1, progress: 1 } });
      if (request.method === 'wait') {
        await new Promise((resolve) => exchange.signal.addEventListener('abort', resolve));
        return undefined;
      }
      return { jsonrpc: '2.0', id: request.id, result: { method: request.method } } as JSONRPCMessage;
    },
  } as unknown as ModernFront;
  return { modern, seen };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('EraSplitTransport', () => {
  it('sends enveloped requests and server/discover to the modern front, everything else to the legacy Server', async () => {
    const { inner, sent, receive } = wire();
    const { modern, seen } = front();
    const split = new EraSplitTransport(inner, modern, { id: 'alice', groups: [], transport: 'stdio' });
    const legacy: JSONRPCMessage[] = [];
    split.onmessage = (message) => void legacy.push(message);
    await split.start();

    receive({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: ENVELOPE } });
    receive({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: ENVELOPE } });
    receive({ jsonrpc: '2.0', id: 3, method: 'initialize', params: { protocolVersion: '2025-11-25' } });
    receive({ jsonrpc: '2.0', id: 4, method: 'tools/list' });
    await flush();

    expect(seen.map((s) => s.request.method)).toEqual(['server/discover', 'tools/list']);
    expect(seen[0]!.exchange.caller).toEqual({ id: 'alice', groups: [], transport: 'stdio' });
    expect(legacy.map((m) => (m as { id: number }).id)).toEqual([3, 4]);
    expect(sent).toContainEqual({ jsonrpc: '2.0', id: 1, result: { method: 'server/discover' } });
    expect(sent).toContainEqual({
      jsonrpc: '2.0',
      method: 'notifications/progress',
      params: { progressToken: 1, progress: 1 },
    });
  });

  it('the legacy session speaks first only after initialize; its answers always go', async () => {
    const { inner, sent, receive } = wire();
    const split = new EraSplitTransport(inner, front().modern, { id: 'a', groups: [], transport: 'stdio' });
    await split.start();
    const notice = { jsonrpc: '2.0', method: 'notifications/tools/list_changed' } as JSONRPCMessage;
    await split.send(notice);
    await split.send({ jsonrpc: '2.0', id: 7, result: {} } as JSONRPCMessage);
    expect(sent).toEqual([{ jsonrpc: '2.0', id: 7, result: {} }]);
    receive({ jsonrpc: '2.0', id: 8, method: 'initialize', params: {} });
    await split.send(notice);
    expect(sent).toContainEqual(notice);
  });

  it('notifications/cancelled for a modern request aborts it, and no answer is written; others reach the legacy Server', async () => {
    const { inner, sent, receive } = wire();
    const { modern, seen } = front();
    const split = new EraSplitTransport(inner, modern, { id: 'a', groups: [], transport: 'stdio' });
    const legacy: JSONRPCMessage[] = [];
    split.onmessage = (message) => void legacy.push(message);
    await split.start();
    receive({ jsonrpc: '2.0', id: 'w', method: 'wait', params: { _meta: ENVELOPE } });
    await flush();
    receive({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 'w', reason: 'enough' },
    });
    receive({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'legacy-1' } });
    await flush();
    expect(seen[0]!.exchange.signal.aborted).toBe(true);
    expect(String(seen[0]!.exchange.signal.reason)).toContain('enough');
    expect(sent.some((m) => (m as { id?: unknown }).id === 'w')).toBe(false);
    expect(legacy).toEqual([
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'legacy-1' } },
    ]);
  });
});
