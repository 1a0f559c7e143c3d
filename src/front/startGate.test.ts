import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { StartGate } from './startGate.js';

/** A transport whose client is the test: `from` delivers a message as if the client had sent it. */
function client() {
  const inner: Transport & { from(message: JSONRPCMessage): void; sent: JSONRPCMessage[]; starts: number } = {
    sent: [],
    starts: 0,
    start: async () => void (inner.starts += 1),
    send: async (message) => void inner.sent.push(message),
    close: async () => inner.onclose?.(),
    from: (message) => inner.onmessage?.(message),
  };
  return inner;
}

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const request = (id: number, method: string): JSONRPCMessage => ({ jsonrpc: '2.0', id, method });
const initialized: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/initialized' };
const flush = () => new Promise((resolve) => setImmediate(resolve));

async function gated(discoverBy: Promise<void>, maxHeld?: number) {
  const inner = client();
  const gate = new StartGate(inner, discoverBy, maxHeld);
  const received: unknown[] = [];
  gate.onmessage = (message) => void received.push('method' in message ? message.method : message);
  await gate.start();
  return { inner, gate, received };
}

describe('StartGate', () => {
  it('holds what comes before open() and passes it on in order, then everything at once', async () => {
    const { inner, gate, received } = await gated(new Promise(() => undefined));
    inner.from(request(1, 'initialize'));
    inner.from(initialized);
    inner.from(request(2, 'tools/list'));
    await flush();
    expect(received).toEqual([]);
    gate.open();
    expect(received).toEqual(['initialize', 'notifications/initialized', 'tools/list']);
    inner.from(request(3, 'tools/call'));
    expect(received.at(-1)).toBe('tools/call');
  });

  it('holds at most maxHeld messages: a request past that is refused at once, a notification dropped', async () => {
    const { inner, gate, received } = await gated(new Promise(() => undefined), 2);
    inner.from(request(1, 'initialize'));
    inner.from(initialized);
    inner.from(request(2, 'tools/list'));
    inner.from(initialized);
    await flush();
    expect(inner.sent).toMatchObject([
      {
        id: 2,
        error: {
          code: -32603,
          message: expect.stringContaining('still starting and already holds 2 messages'),
        },
      },
    ]);
    gate.open();
    expect(received).toEqual(['initialize', 'notifications/initialized']);
  });

  it('passes server/discover on once discoverBy settles, ahead of what it holds', async () => {
    const discoverBy = deferred();
    const { inner, gate, received } = await gated(discoverBy.promise);
    inner.from(request(1, 'tools/list'));
    inner.from(request(2, 'server/discover'));
    await flush();
    expect(received).toEqual([]);
    discoverBy.resolve();
    await flush();
    expect(received).toEqual(['server/discover']);
    gate.open();
    expect(received).toEqual(['server/discover', 'tools/list']);
  });

  it('passes a waiting server/discover on when it opens first', async () => {
    const { inner, gate, received } = await gated(new Promise(() => undefined));
    inner.from(request(1, 'server/discover'));
    gate.open();
    await flush();
    expect(received).toEqual(['server/discover']);
  });

  it('answers nothing once closed, nor when the start failed', async () => {
    const discoverBy = deferred();
    const { inner, gate, received } = await gated(discoverBy.promise);
    inner.from(request(1, 'server/discover'));
    await gate.close();
    discoverBy.resolve();
    await flush();
    expect(received).toEqual([]);

    const failed = deferred();
    const second = await gated(failed.promise);
    second.inner.from(request(1, 'server/discover'));
    failed.reject(new Error('the servers collide'));
    await flush();
    expect(second.received).toEqual([]);
  });

  it('starts once: the session connected at the end of the start starts it again', async () => {
    const { inner, gate, received } = await gated(new Promise(() => undefined));
    await gate.start();
    expect(inner.starts).toBe(1);
    gate.open();
    inner.from(request(1, 'tools/list'));
    expect(received).toEqual(['tools/list']);
  });

  it('sends through to the client', async () => {
    const { inner, gate } = await gated(new Promise(() => undefined));
    await gate.send({ jsonrpc: '2.0', id: 1, result: {} });
    expect(inner.sent).toEqual([{ jsonrpc: '2.0', id: 1, result: {} }]);
  });
});
