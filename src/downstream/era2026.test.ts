import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EraNegotiatingTransport, modernRequestHeaders } from './era2026.js';

/** The wire below the transport: what was sent, and a way to answer as the server. */
function fakeWire(refuseDiscover?: Error) {
  const sent: { message: JSONRPCMessage; options?: TransportSendOptions }[] = [];
  const inner: Transport & { version?: string } = {
    start: async () => undefined,
    close: async () => inner.onclose?.(),
    send: async (message, options) => {
      if (refuseDiscover && 'method' in message && message.method === 'server/discover') throw refuseDiscover;
      sent.push({ message, options });
    },
    setProtocolVersion: (version) => (inner.version = version),
  };
  const transport = new EraNegotiatingTransport(
    inner,
    { clientInfo: { name: 'gatehouse', version: '1' }, capabilities: { elicitation: { form: {} } } },
    pino({ level: 'silent' }),
  );
  const received: JSONRPCMessage[] = [];
  transport.onmessage = (message) => received.push(message);
  const lastSent = () => sent[sent.length - 1]!.message as JSONRPCMessage & Record<string, never>;
  const answer = (message: Record<string, unknown>) =>
    inner.onmessage!({ jsonrpc: '2.0', ...message } as JSONRPCMessage);
  return { inner, transport, sent, received, lastSent, answer };
}

const INITIALIZE = {
  jsonrpc: '2.0' as const,
  id: 0,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'gatehouse', version: '1' },
  },
};

const DISCOVERED = {
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: { listChanged: true } },
  instructions: 'be kind',
  resultType: 'complete',
  _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'modern', version: '2' } },
};

/** A transport that negotiated the modern era with `DISCOVERED`. */
async function modern() {
  const wire = fakeWire();
  const sending = wire.transport.send(INITIALIZE);
  await Promise.resolve();
  wire.answer({ id: wire.lastSent().id, result: DISCOVERED });
  await sending;
  return wire;
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('EraNegotiatingTransport', () => {
  it('probes with server/discover and answers initialize from it when the server speaks 2026-07-28', async () => {
    const wire = await modern();
    expect(wire.sent[0]!.message).toMatchObject({
      method: 'server/discover',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientInfo': { name: 'gatehouse', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } },
        },
      },
    });
    expect(wire.inner.version).toBe('2026-07-28');
    expect(wire.transport.era).toBe('modern');
    expect(wire.received).toEqual([
      {
        jsonrpc: '2.0',
        id: 0,
        result: {
          protocolVersion: '2025-11-25',
          capabilities: { tools: { listChanged: true } },
          serverInfo: { name: 'modern', version: '2' },
          instructions: 'be kind',
        },
      },
    ]);
    // No initialize, no initialized: a listen for the list changes the server offers instead.
    await wire.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(wire.sent.map((s) => (s.message as { method?: string }).method)).toEqual([
      'server/discover',
      'subscriptions/listen',
    ]);
    expect(wire.lastSent()).toMatchObject({ params: { notifications: { toolsListChanged: true } } });
  });

  it('sends every request with the envelope and relays results without the modern-only fields', async () => {
    const wire = await modern();
    await wire.transport.send(
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', _meta: { progressToken: 7 } } },
      { relatedRequestId: 5 },
    );
    expect(wire.lastSent()).toMatchObject({
      id: 1,
      params: {
        name: 'x',
        _meta: { progressToken: 7, 'io.modelcontextprotocol/protocolVersion': '2026-07-28' },
      },
    });
    wire.answer({
      id: 1,
      result: {
        content: [],
        resultType: 'complete',
        ttlMs: 0,
        cacheScope: 'private',
        _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'modern', version: '2' }, kept: true },
      },
    });
    expect(wire.received.at(-1)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { content: [], _meta: { kept: true } },
    });
  });

  it('sends initialize when discover is refused, over stdio (an error) and over HTTP (a 4xx)', async () => {
    const stdio = fakeWire();
    const sending = stdio.transport.send(INITIALIZE);
    await Promise.resolve();
    stdio.answer({ id: stdio.lastSent().id, error: { code: -32601, message: 'Method not found' } });
    await sending;
    expect(stdio.lastSent()).toEqual(INITIALIZE);
    expect(stdio.transport.era).toBe('legacy');
    // Cleared: the HTTP transport sends no MCP-Protocol-Version with initialize.
    expect(stdio.inner.version).toBe('');

    const http = fakeWire(Object.assign(new Error('HTTP 400'), { code: 400 }));
    await http.transport.send(INITIALIZE);
    expect(http.sent.map((s) => s.message)).toEqual([INITIALIZE]);
    expect(http.transport.era).toBe('legacy');
  });

  it('does not fall back on 401: the credentials are wrong in either era', async () => {
    const http = fakeWire(Object.assign(new Error('HTTP 401'), { code: 401 }));
    await expect(http.transport.send(INITIALIZE)).rejects.toThrow('HTTP 401');
  });

  it('sends initialize to a server whose discover lists no 2026-07-28', async () => {
    const wire = fakeWire();
    const sending = wire.transport.send(INITIALIZE);
    await Promise.resolve();
    wire.answer({ id: wire.lastSent().id, result: { ...DISCOVERED, supportedVersions: ['2025-11-25'] } });
    await sending;
    expect(wire.lastSent()).toEqual(INITIALIZE);
  });

  it('sends initialize to a server of both eras, whose older era Gatehouse relays in full', async () => {
    const wire = fakeWire();
    const sending = wire.transport.send(INITIALIZE);
    await Promise.resolve();
    wire.answer({
      id: wire.lastSent().id,
      result: { ...DISCOVERED, supportedVersions: ['2026-07-28', '2025-11-25'] },
    });
    await sending;
    expect(wire.lastSent()).toEqual(INITIALIZE);
    expect(wire.transport.era).toBe('legacy');
  });

  it('fails initialize clearly when discover answers garbage', async () => {
    const wire = fakeWire();
    const sending = wire.transport.send(INITIALIZE);
    await Promise.resolve();
    wire.answer({ id: wire.lastSent().id, result: { supportedVersions: 'all' } });
    await sending;
    expect(wire.received).toEqual([
      {
        jsonrpc: '2.0',
        id: 0,
        error: {
          code: -32603,
          message: expect.stringMatching(
            /^the server answered server\/discover with something that is not a 2026-07-28 DiscoverResult \(supportedVersions: .*\); Gatehouse did not connect to it$/,
          ),
        },
      },
    ]);
  });

  it('lets the Client see the close when the server exits during the probe', async () => {
    const wire = fakeWire();
    let closed = false;
    wire.transport.onclose = () => (closed = true);
    const sending = wire.transport.send(INITIALIZE);
    await Promise.resolve();
    await wire.inner.close();
    await expect(sending).resolves.toBeUndefined();
    expect(closed).toBe(true);
  });

  it("turns input requests into the Client's server requests and retries with the answers and the state", async () => {
    const wire = await modern();
    await wire.transport.send(
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'confirm' } },
      { relatedRequestId: 9 },
    );
    wire.answer({
      id: 3,
      result: {
        resultType: 'input_required',
        inputRequests: {
          ok: {
            method: 'elicitation/create',
            params: { mode: 'form', message: 'Sure?', requestedSchema: {} },
          },
          where: {
            method: 'elicitation/create',
            params: { mode: 'url', message: 'Log in', url: 'https://x' },
          },
        },
        requestState: 'server-state',
      },
    });
    const asked = wire.received.slice(-2) as {
      id: string;
      method: string;
      params: Record<string, unknown>;
    }[];
    expect(asked.map((r) => r.method)).toEqual(['elicitation/create', 'elicitation/create']);
    // A 2025-era client needs an elicitationId on a URL elicitation.
    expect(asked[1]!.params.elicitationId).toEqual(expect.any(String));
    expect(wire.transport.originOf(asked[0]!.id)).toBe(9);
    await wire.transport.send({
      jsonrpc: '2.0',
      id: asked[0]!.id,
      result: { action: 'accept', content: { y: 1 } },
    });
    const before = wire.sent.length;
    await wire.transport.send({ jsonrpc: '2.0', id: asked[1]!.id, result: { action: 'accept' } });
    expect(wire.sent.length).toBe(before + 1);
    const retry = wire.lastSent() as unknown as { id: string; params: Record<string, unknown> };
    expect(retry.id).not.toBe(3);
    expect(retry.params).toMatchObject({
      name: 'confirm',
      inputResponses: { ok: { action: 'accept', content: { y: 1 } }, where: { action: 'accept' } },
      requestState: 'server-state',
    });
    expect(wire.sent.at(-1)!.options).toEqual({ relatedRequestId: 9 });
    wire.answer({
      id: retry.id,
      result: { content: [{ type: 'text', text: 'done' }], resultType: 'complete' },
    });
    expect(wire.received.at(-1)).toEqual({
      jsonrpc: '2.0',
      id: 3,
      result: { content: [{ type: 'text', text: 'done' }] },
    });
  });

  it('fails the call with an error naming what the client did not give', async () => {
    const wire = await modern();
    await wire.transport.send({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'x' } });
    wire.answer({
      id: 4,
      result: {
        resultType: 'input_required',
        inputRequests: { m: { method: 'sampling/createMessage', params: {} } },
      },
    });
    const asked = wire.received.at(-1) as { id: string };
    await wire.transport.send({
      jsonrpc: '2.0',
      id: asked.id,
      error: { code: -32601, message: 'no sampling here' },
    });
    expect(wire.received.at(-1)).toEqual({
      jsonrpc: '2.0',
      id: 4,
      error: {
        code: -32601,
        message:
          'the server asked for input (sampling/createMessage) that the client did not give: no sampling here',
      },
    });
  });

  it('fails clearly on an input request it cannot relay, and on endless rounds', async () => {
    const wire = await modern();
    await wire.transport.send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'x' } });
    wire.answer({
      id: 5,
      result: { resultType: 'input_required', inputRequests: { t: { method: 'tasks/get', params: {} } } },
    });
    expect(wire.received.at(-1)).toMatchObject({
      id: 5,
      error: {
        message: expect.stringContaining(
          'asked for input by tasks/get (key "t"), which Gatehouse cannot relay',
        ),
      },
    });

    await wire.transport.send({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'x' } });
    for (let round = 0; round <= 16; round += 1) {
      wire.answer({
        id: wire.lastSent().id,
        result: { resultType: 'input_required', requestState: `s${round}` },
      });
      await flush();
    }
    expect(wire.received.at(-1)).toMatchObject({
      id: 6,
      error: { message: expect.stringContaining('asked for input more than 16 times for one tools/call') },
    });
  });

  it("withdraws the Client's input requests when the call is cancelled, and tells the server nothing twice", async () => {
    const wire = await modern();
    await wire.transport.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'x' } });
    wire.answer({
      id: 7,
      result: { resultType: 'input_required', inputRequests: { r: { method: 'roots/list' } } },
    });
    const asked = wire.received.at(-1) as { id: string; params?: unknown };
    expect(asked.params).toBeUndefined();
    const before = wire.sent.length;
    await wire.transport.send({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 7 },
    });
    expect(wire.received.at(-1)).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: asked.id, reason: undefined },
    });
    // The server answered already (input_required): there is nothing of it to cancel.
    expect(wire.sent.length).toBe(before);
  });

  it('cancels a request under way with notifications/cancelled for its wire id (stdio)', async () => {
    const wire = await modern();
    await wire.transport.send({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'x' } });
    await wire.transport.send({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 8, reason: 'r' },
    });
    expect(wire.lastSent()).toEqual({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 8, reason: 'r' },
    });
  });

  it('cancels a request under way by closing its stream when the transport can (HTTP)', async () => {
    const wire = await modern();
    const closed: unknown[] = [];
    Object.assign(wire.inner, { cancelRequest: (id: unknown) => closed.push(id) });
    await wire.transport.send({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'x' } });
    const before = wire.sent.length;
    await wire.transport.send({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId: 9 },
    });
    expect(closed).toEqual([9]);
    expect(wire.sent.length).toBe(before);
  });
});

describe('modernRequestHeaders', () => {
  it('names the method, and the tool, prompt or resource, Base64-encoded when not plain ASCII', () => {
    expect(
      modernRequestHeaders({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo' } }),
    ).toEqual({
      'mcp-method': 'tools/call',
      'mcp-name': 'echo',
    });
    expect(
      modernRequestHeaders({ jsonrpc: '2.0', id: 1, method: 'resources/read', params: { uri: 'file:///é' } }),
    ).toEqual({
      'mcp-method': 'resources/read',
      'mcp-name': `=?base64?${Buffer.from('file:///é').toString('base64')}?=`,
    });
    expect(modernRequestHeaders({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).toEqual({
      'mcp-method': 'tools/list',
    });
  });
});
