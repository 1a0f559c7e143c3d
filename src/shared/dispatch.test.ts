import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type JSONRPCMessage,
} from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { dispatchByShape } from './dispatch.js';

/** A server with shape dispatch, and the raw other end of its transport. */
async function serverWithRawPeer() {
  const server = dispatchByShape(new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } }));
  const errors: string[] = [];
  server.onerror = (error) => errors.push(error.message);
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [] }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => ({
    content: [{ type: 'text', text: `called ${request.params.name}` }],
  }));
  const [peer, serverSide] = InMemoryTransport.createLinkedPair();
  const received: JSONRPCMessage[] = [];
  peer.onmessage = (message) => received.push(message);
  await peer.start();
  await server.connect(serverSide);
  const send = async (message: unknown) => {
    await peer.send(message as JSONRPCMessage);
    // The Protocol answers a microtask or two later; a ping behind the message is answered after it.
    const id = `ping-${Math.random()}`;
    await peer.send({ jsonrpc: '2.0', id, method: 'ping' });
    await vi.waitFor(() => expect(received.some((m) => 'id' in m && m.id === id)).toBe(true));
  };
  return { received, errors, send };
}

describe('dispatchByShape', () => {
  it('dispatches requests to their handlers, which validate the params', async () => {
    const { received, send } = await serverWithRawPeer();
    await send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } });
    await send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 42 } });
    expect(received.find((m) => 'id' in m && m.id === 1)).toMatchObject({
      result: { content: [{ type: 'text', text: 'called echo' }] },
    });
    // The method's schema refuses it (the SDK's own handler wrapper answers InternalError).
    const refused = received.find((m) => 'id' in m && m.id === 2);
    expect(refused).toHaveProperty('error.message', expect.stringMatching(/name/));
    expect(refused).not.toHaveProperty('result');
  });

  it('refuses what is not a JSON-RPC 2.0 envelope, as the SDK does: an error, nothing answered', async () => {
    const { received, errors, send } = await serverWithRawPeer();
    await send({ jsonrpc: '2.0', id: 3, method: 'tools/list', extra: true });
    await send({ jsonrpc: '1.0', id: 4, method: 'tools/list' });
    await send({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: 'not an object' });
    expect(received.filter((m) => 'id' in m && [3, 4, 5].includes(m.id as number))).toEqual([]);
    expect(errors).toHaveLength(3);
    for (const error of errors) expect(error).toMatch(/^Unknown message type/);
  });

  it('settles the requests of a client: results to their callers, errors as McpErrors', async () => {
    const client = dispatchByShape(new Client({ name: 'c', version: '1' }));
    const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({
      tools: [{ name: 't', inputSchema: { type: 'object' } }],
    }));
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(b);
    await client.connect(a);
    await expect(client.listTools()).resolves.toMatchObject({ tools: [{ name: 't' }] });
    await expect(client.callTool({ name: 't' })).rejects.toMatchObject({ code: -32601 });
    await client.close();
  });
});
