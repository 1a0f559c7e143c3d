import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { WireOrderTransport } from './wireOrder.js';

const INITIALIZED = {
  protocolVersion: '2025-06-18',
  capabilities: { tools: {}, 'vendor/feature': { on: true } },
  serverInfo: { name: 'far', version: '1', probe: 'info' },
};

/** A client on a WireOrderTransport, and a far end that answers each request with `frames`. */
async function connect(frames: (id: string | number) => JSONRPCMessage[]) {
  const [near, far] = InMemoryTransport.createLinkedPair();
  const events: string[] = [];
  const wire = new WireOrderTransport(near, (notification) => {
    events.push(`took ${notification.method}`);
    return notification.method !== 'notifications/cancelled';
  });
  far.onmessage = (message) => {
    if (!('method' in message) || !('id' in message)) return;
    // Sent back to back, in one tick: as if read from one chunk.
    const answer =
      message.method === 'initialize'
        ? [{ jsonrpc: '2.0' as const, id: message.id, result: INITIALIZED }]
        : frames(message.id);
    for (const frame of answer) void far.send(frame);
  };
  const client = new Client({ name: 'near', version: '1' });
  await client.connect(wire);
  return { client, wire, events };
}

describe('WireOrderTransport', () => {
  it('hands over a notification before the SDK settles the response read with it', async () => {
    const { client, events } = await connect((id) => [
      { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 1 } },
      { jsonrpc: '2.0', method: 'notifications/vendor/stream', params: { chunk: 1 } },
      { jsonrpc: '2.0', id, result: { content: [] } },
    ]);
    await client.callTool({ name: 'anything' }).then(() => events.push('result'));
    expect(events).toEqual(['took notifications/progress', 'took notifications/vendor/stream', 'result']);
  });

  it('keeps the initialize result as the server sent it', async () => {
    const { client, wire } = await connect(() => []);
    expect(wire.initializeResult).toEqual(INITIALIZED);
    // The SDK's own copy lacks what its schema does not know.
    expect(client.getServerCapabilities()).not.toHaveProperty('vendor/feature');
  });
});
