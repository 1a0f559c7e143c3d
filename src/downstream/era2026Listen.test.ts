import type { JSONRPCMessage, JSONRPCNotification, RequestId } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ModernListen } from './era2026Listen.js';

type Json = Record<string, unknown>;
const ID = 'io.modelcontextprotocol/subscriptionId';
const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A listen over a fake wire: what it sent and cancelled, and a way to answer as the server. */
function fixture(capabilities: Json = { tools: { listChanged: true }, resources: { subscribe: true } }) {
  const sent: (JSONRPCMessage & { id: string; params: Json })[] = [];
  const cancelled: RequestId[] = [];
  const listen = new ModernListen(
    {
      send: async (message) => void sent.push(message as never),
      cancel: async (id) => void cancelled.push(id),
      capabilities: () => capabilities,
      envelope: () => ({ 'io.modelcontextprotocol/protocolVersion': '2026-07-28' }),
    },
    pino({ level: 'silent' }),
  );
  const last = () => sent.at(-1)!;
  /** The server acknowledges the last listen, honouring `honoured` (what it asked for, by default). */
  const acknowledge = (honoured?: Json) =>
    listen.notification({
      jsonrpc: '2.0',
      method: 'notifications/subscriptions/acknowledged',
      params: { _meta: { [ID]: last().id }, notifications: honoured ?? last().params.notifications },
    });
  const updated = (subscription: string): JSONRPCNotification => ({
    jsonrpc: '2.0',
    method: 'notifications/resources/updated',
    params: { uri: 'r://a', _meta: { [ID]: subscription, other: 1 } },
  });
  return { listen, sent, cancelled, last, acknowledge, updated };
}

const subscribe = (uri: string, id = 1) => ({
  jsonrpc: '2.0' as const,
  id,
  method: 'resources/subscribe',
  params: { uri },
});
const unsubscribe = (uri: string, id = 2) => ({ ...subscribe(uri, id), method: 'resources/unsubscribe' });

describe('ModernListen', () => {
  it('listens for the list changes the server announces, and keeps the acknowledgement to itself', async () => {
    const f = fixture();
    f.listen.start();
    await flush();
    expect(f.last()).toMatchObject({
      method: 'subscriptions/listen',
      params: {
        notifications: { toolsListChanged: true },
        _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' },
      },
    });
    expect(f.acknowledge()).toBeUndefined();
  });

  it('moves a subscription into a new listen, answers once it is acknowledged, then closes the old one', async () => {
    const f = fixture();
    f.listen.start();
    await flush();
    f.acknowledge();
    const first = f.last().id;
    const answer = f.listen.request(subscribe('r://a'));
    await flush();
    expect(f.last().params.notifications).toEqual({
      toolsListChanged: true,
      resourceSubscriptions: ['r://a'],
    });
    expect(f.cancelled).toEqual([]);
    // Until the new listen is acknowledged, the old one is heard; the listen's id is Gatehouse's.
    expect(f.listen.notification(f.updated(first))).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/resources/updated',
      params: { uri: 'r://a', _meta: { other: 1 } },
    });
    f.acknowledge();
    expect(await answer).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    expect(f.cancelled).toEqual([first]);
    // What still arrives on the old listen is dropped: the new one carries it.
    expect(f.listen.notification(f.updated(first))).toBeUndefined();
    expect(f.listen.notification(f.updated(f.last().id))).toMatchObject({ params: { uri: 'r://a' } });
    // The old listen's answer, if the server sends one, is Gatehouse's too.
    expect(f.listen.response({ jsonrpc: '2.0', id: first, result: {} })).toBe(true);
  });

  it('closes the listen when nothing is left to hear', async () => {
    const f = fixture({ resources: { subscribe: true } });
    const on = f.listen.request(subscribe('r://a'));
    await flush();
    f.acknowledge();
    await on;
    const only = f.last().id;
    const before = f.sent.length;
    expect(await f.listen.request(unsubscribe('r://a'))).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    expect(f.sent.length).toBe(before);
    expect(f.cancelled).toEqual([only]);
  });

  it('refuses a subscription clearly where the server offers none, or leaves it out, or refuses the listen', async () => {
    const none = fixture({ tools: {} });
    expect(await none.listen.request(subscribe('r://a'))).toMatchObject({
      id: 1,
      error: {
        code: -32601,
        message: expect.stringContaining('resources/subscribe cannot reach this server'),
      },
    });
    const f = fixture();
    const left = f.listen.request(subscribe('r://a'));
    await flush();
    f.acknowledge({ toolsListChanged: true });
    expect(await left).toMatchObject({
      error: { message: expect.stringContaining('acknowledgement left the resource out') },
    });
    const refused = f.listen.request(subscribe('r://b', 3));
    await flush();
    expect(
      f.listen.response({ jsonrpc: '2.0', id: f.last().id, error: { code: -32603, message: 'full' } }),
    ).toBe(true);
    expect(await refused).toMatchObject({
      id: 3,
      error: {
        message: expect.stringContaining('refused the subscriptions/listen that carries it (Error: full)'),
      },
    });
    // Neither is held: the next listen asks for neither.
    const again = f.listen.request(subscribe('r://c', 4));
    await flush();
    expect(f.last().params.notifications).toEqual({
      toolsListChanged: true,
      resourceSubscriptions: ['r://c'],
    });
    f.acknowledge();
    await again;
  });

  it('fails a listen waiting for its acknowledgement when the wire closes', async () => {
    const f = fixture();
    const answer = f.listen.request(subscribe('r://a'));
    await flush();
    f.listen.closedWire();
    expect(await answer).toMatchObject({ error: { message: expect.stringContaining('connection closed') } });
  });
});
