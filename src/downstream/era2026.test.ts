import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage, LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EraNegotiatingTransport, modernRequestHeaders } from './era2026.js';
import { shouldFallBackToSse } from './http.js';

/**
 * The wire below the transport: what was sent, and a way to answer as the server. `refuse` makes
 * sending a method throw, as the HTTP transport throws a status it got for the POST.
 */
function fakeWire(
  refuse: Record<string, Error> = {},
  levels: Record<string, LoggingLevel> = {},
  over: { http?: boolean; log?: pino.Logger } = {},
) {
  const sent: { message: JSONRPCMessage; options?: TransportSendOptions }[] = [];
  const inner: Transport & { version?: string; cancelRequest?: () => void } = {
    // How the era transport tells HTTP (which carries headers) from stdio.
    ...(over.http ? { cancelRequest: () => undefined } : {}),
    start: async () => undefined,
    close: async () => inner.onclose?.(),
    send: async (message, options) => {
      sent.push({ message, options });
      const thrown = 'method' in message ? refuse[message.method] : undefined;
      if (thrown) throw thrown;
    },
    setProtocolVersion: (version) => (inner.version = version),
  };
  const transport = new EraNegotiatingTransport(
    inner,
    { clientInfo: { name: 'gatehouse', version: '1' }, capabilities: { elicitation: { form: {} } } },
    over.log ?? pino({ level: 'silent' }),
    (related) => levels[String(related)],
  );
  const received: JSONRPCMessage[] = [];
  transport.onmessage = (message) => received.push(message);
  const lastSent = () => sent[sent.length - 1]!.message as JSONRPCMessage & Record<string, never>;
  const answer = (message: Record<string, unknown>) =>
    inner.onmessage!({ jsonrpc: '2.0', ...message } as JSONRPCMessage);
  const methods = () => sent.map((s) => (s.message as { method?: string }).method);
  return { inner, transport, sent, received, lastSent, answer, methods };
}

const httpStatus = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code });

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

const INITIALIZED = {
  protocolVersion: '2025-11-25',
  capabilities: { tools: {}, completions: {} },
  serverInfo: { name: 'both', version: '3' },
};

/** How a server of the 2026-07-28 era only (the v2 SDK's) refuses initialize. */
const UNSUPPORTED = {
  code: -32022,
  message: 'Unsupported protocol version: 2025-11-25',
  data: { supported: ['2026-07-28'], requested: '2025-11-25' },
};

const DISCOVERED = {
  supportedVersions: ['2026-07-28'],
  capabilities: { tools: { listChanged: true } },
  instructions: 'be kind',
  resultType: 'complete',
  _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'modern', version: '2' } },
};

const flush = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Start the negotiation on `wire` and answer as the server: `initialize` with a result or an error
 * (or nothing, when the wire throws it), then `server/discover` if it comes.
 */
async function negotiate(
  wire: ReturnType<typeof fakeWire>,
  answers: { initialize?: Record<string, unknown>; discover?: Record<string, unknown> },
) {
  const sending = wire.transport.send(INITIALIZE);
  sending.catch(() => undefined);
  for (const method of ['initialize', 'server/discover'] as const) {
    await flush();
    const answer = method === 'initialize' ? answers.initialize : answers.discover;
    if (answer && wire.methods().at(-1) === method) wire.answer({ id: wire.lastSent().id, ...answer });
  }
  return sending;
}

/** A transport that negotiated the modern era: initialize refused as the v2 SDK does, then `DISCOVERED`. */
/** A tool definition as a server lists it, its inputSchema an object of these properties. */
const tool = (name: string, properties: Record<string, unknown>) => ({
  name,
  inputSchema: { type: 'object', properties },
});

async function modern(levels: Record<string, LoggingLevel> = {}, over: Parameters<typeof fakeWire>[2] = {}) {
  const wire = fakeWire({}, levels, over);
  await negotiate(wire, { initialize: { error: UNSUPPORTED }, discover: { result: DISCOVERED } });
  expect(wire.transport.era).toBe('modern');
  return wire;
}

describe('EraNegotiatingTransport', () => {
  it('sends initialize first, and stays in the 2025-11-25 era with a server that takes it (one of both eras)', async () => {
    const wire = fakeWire();
    await negotiate(wire, { initialize: { result: INITIALIZED } });
    expect(wire.sent.map((s) => s.message)).toEqual([INITIALIZE]);
    expect(wire.transport.era).toBe('legacy');
    // No protocol version header with initialize; the Client sets the agreed one afterwards.
    expect(wire.inner.version).toBeUndefined();
    expect(wire.received).toEqual([{ jsonrpc: '2.0', id: 0, result: INITIALIZED }]);
    wire.transport.setProtocolVersion('2025-11-25');
    expect(wire.inner.version).toBe('2025-11-25');
    // From here every message passes as it is: no envelope, no discover.
    await wire.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await wire.transport.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(wire.sent.slice(1).map((s) => s.message)).toEqual([
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
    ]);
    wire.answer({ id: 1, result: { tools: [], resultType: 'complete' } });
    expect(wire.received.at(-1)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { tools: [], resultType: 'complete' },
    });
  });

  it('probes server/discover after a refused initialize and answers initialize from it (2026-07-28 only)', async () => {
    const wire = await modern();
    expect(wire.sent[0]!.message).toEqual(INITIALIZE);
    expect(wire.sent[1]!.message).toMatchObject({
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
    // The refusal is the negotiation's: the Client sees only the answer to its initialize.
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
    // The Client sets the version it asked for; the wire keeps 2026-07-28.
    wire.transport.setProtocolVersion('2025-11-25');
    expect(wire.inner.version).toBe('2026-07-28');
    // No initialized: a listen for the list changes the server offers instead.
    await wire.transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(wire.methods()).toEqual(['initialize', 'server/discover', 'subscriptions/listen']);
    expect(wire.lastSent()).toMatchObject({ params: { notifications: { toolsListChanged: true } } });
  });

  it('probes server/discover after an HTTP 4xx to initialize (the v2 SDK answers 400 over HTTP)', async () => {
    const wire = fakeWire({ initialize: httpStatus(400) });
    await negotiate(wire, { discover: { result: DISCOVERED } });
    expect(wire.methods()).toEqual(['initialize', 'server/discover']);
    expect(wire.transport.era).toBe('modern');
    expect(wire.received).toMatchObject([{ id: 0, result: { serverInfo: { name: 'modern' } } }]);
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

  it("sends the Mcp-Param headers a tool's inputSchema asks for, as its latest tools/list says", async () => {
    const wire = await modern();
    const regional = tool('regional', {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      where: { type: 'object', properties: { zone: { type: 'integer', 'x-mcp-header': 'Zone' } } },
    });
    await wire.transport.send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
    wire.answer({ id: 1, result: { tools: [regional, { name: 'plain', inputSchema: {} }] } });
    const call = (id: number, name: string, args: unknown) =>
      wire.transport.send(
        { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } },
        { relatedRequestId: 4 },
      );
    await call(2, 'regional', { region: 'Zürich', where: { zone: 3 } });
    expect(wire.sent.at(-1)!.options).toEqual({
      relatedRequestId: 4,
      paramHeaders: {
        'mcp-param-region': `=?base64?${Buffer.from('Zürich').toString('base64')}?=`,
        'mcp-param-zone': '3',
      },
    });
    // An argument left out (or null) has no header; a tool without annotations gets none at all.
    await call(3, 'regional', { region: 'eu-west-1', where: null });
    expect(wire.sent.at(-1)!.options).toEqual({
      relatedRequestId: 4,
      paramHeaders: { 'mcp-param-region': 'eu-west-1' },
    });
    await call(4, 'plain', {});
    expect(wire.sent.at(-1)!.options).toEqual({ relatedRequestId: 4 });
    // The server changed the tool: its next listing is what counts.
    await wire.transport.send({ jsonrpc: '2.0', id: 5, method: 'tools/list', params: {} });
    wire.answer({ id: 5, result: { tools: [{ name: 'regional', inputSchema: {} }] } });
    await call(6, 'regional', { region: 'eu' });
    expect(wire.sent.at(-1)!.options).toEqual({ relatedRequestId: 4 });
  });

  describe('a tool whose x-mcp-header declarations are invalid', () => {
    const misdeclared = tool('misdeclared', {
      region: { type: 'string', 'x-mcp-header': 'Region' },
      data: { type: 'object', 'x-mcp-header': 'Data' },
    });
    const tools = [misdeclared, { name: 'plain', inputSchema: { type: 'object' } }];
    const warnings = () => {
      const lines: Record<string, unknown>[] = [];
      const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
      return { lines, log };
    };
    const PROBLEM =
      'data: x-mcp-header is only permitted on a string, integer or boolean property, not object';

    it('is left out of the server’s tools/list over HTTP, once warned about, and gets no headers', async () => {
      const { lines, log } = warnings();
      const wire = await modern({}, { http: true, log });
      for (const id of [1, 2]) {
        await wire.transport.send({ jsonrpc: '2.0', id, method: 'tools/list', params: {} });
        wire.answer({ id, result: { tools } });
        expect(wire.received.at(-1)).toMatchObject({ id, result: { tools: [{ name: 'plain' }] } });
      }
      expect(lines.map((l) => [l.tool, l.problem])).toEqual([['misdeclared', PROBLEM]]);
      expect(lines[0]!.msg).toContain('tool left out');
      await wire.transport.send({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'misdeclared', arguments: { region: 'eu' } },
      });
      expect(wire.sent.at(-1)!.options).toBeUndefined();
    });

    it('is kept over stdio, which carries no headers, with a warning', async () => {
      const { lines, log } = warnings();
      const wire = await modern({}, { log });
      await wire.transport.send({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
      wire.answer({ id: 1, result: { tools } });
      expect(wire.received.at(-1)).toMatchObject({
        result: { tools: [{ name: 'misdeclared' }, { name: 'plain' }] },
      });
      expect(lines.map((l) => [l.tool, l.problem])).toEqual([['misdeclared', PROBLEM]]);
      expect(lines[0]!.msg).toContain('kept, since stdio carries no headers');
    });
  });

  it('answers logging/setLevel itself and sends the level of the client a request serves in its envelope', async () => {
    const wire = await modern({ 5: 'warning' });
    const before = wire.sent.length;
    await wire.transport.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'logging/setLevel',
      params: { level: 'info' },
    });
    expect(wire.sent.length).toBe(before);
    expect(wire.received.at(-1)).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    await wire.transport.send(
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x' } },
      { relatedRequestId: 5 },
    );
    expect(wire.lastSent().params).toMatchObject({
      _meta: { 'io.modelcontextprotocol/logLevel': 'warning' },
    });
    // A client that set no level: no logLevel, so the server logs nothing during the request.
    await wire.transport.send(
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'x' } },
      { relatedRequestId: 6 },
    );
    expect(wire.lastSent().params?._meta).not.toHaveProperty(['io.modelcontextprotocol/logLevel']);
  });

  it('gives the Client the initialize error when discover is refused as well (stdio: an error)', async () => {
    const wire = fakeWire();
    await negotiate(wire, {
      initialize: { error: { code: -32603, message: 'boom', data: { why: 'x' } } },
      discover: { error: { code: -32601, message: 'Method not found' } },
    });
    expect(wire.methods()).toEqual(['initialize', 'server/discover']);
    expect(wire.received).toEqual([
      {
        jsonrpc: '2.0',
        id: 0,
        error: {
          code: -32603,
          data: { why: 'x' },
          message:
            'the server refused initialize (boom) and refused server/discover too (Method not found); Gatehouse did not connect to it',
        },
      },
    ]);
    // Cleared again: nothing more is sent as 2026-07-28.
    expect(wire.inner.version).toBe('');
  });

  it('throws the HTTP refusal of initialize when discover is refused as well, so the SSE fallback still happens', async () => {
    const refusal = httpStatus(405);
    const wire = fakeWire({ initialize: refusal, 'server/discover': httpStatus(404) });
    await expect(negotiate(wire, {})).rejects.toBe(refusal);
    expect(wire.methods()).toEqual(['initialize', 'server/discover']);
    expect(shouldFallBackToSse(refusal)).toBe(true);
  });

  it('gives the Client the initialize error when discover lists no 2026-07-28', async () => {
    const wire = fakeWire();
    await negotiate(wire, {
      initialize: { error: UNSUPPORTED },
      discover: { result: { ...DISCOVERED, supportedVersions: ['2027-01-01'] } },
    });
    expect(wire.received).toEqual([
      {
        jsonrpc: '2.0',
        id: 0,
        error: {
          ...UNSUPPORTED,
          message:
            'the server refused initialize (Unsupported protocol version: 2025-11-25) and its server/discover lists 2027-01-01, not 2026-07-28; Gatehouse did not connect to it',
        },
      },
    ]);
    expect(wire.transport.era).toBe('legacy');
  });

  it('does not fall to discover on 401 or 403 to initialize: the credentials are wrong in either era', async () => {
    for (const code of [401, 403]) {
      const wire = fakeWire({ initialize: httpStatus(code) });
      await expect(negotiate(wire, {})).rejects.toThrow(`HTTP ${code}`);
      expect(wire.methods()).toEqual(['initialize']);
      expect(shouldFallBackToSse(httpStatus(code))).toBe(false);
    }
  });

  it('keeps an auth failure of the discover probe an auth failure', async () => {
    const wire = fakeWire({ initialize: httpStatus(400), 'server/discover': httpStatus(401) });
    await expect(negotiate(wire, {})).rejects.toThrow('HTTP 401');
  });

  it('fails initialize clearly when discover answers garbage after a refused initialize', async () => {
    const wire = fakeWire();
    await negotiate(wire, {
      initialize: { error: { code: -32601, message: 'Method not found' } },
      discover: { result: { supportedVersions: 'all' } },
    });
    expect(wire.received).toEqual([
      {
        jsonrpc: '2.0',
        id: 0,
        error: {
          code: -32601,
          message: expect.stringMatching(
            /^the server refused initialize \(Method not found\) and answered server\/discover with something that is not a 2026-07-28 DiscoverResult \(supportedVersions: .*\); Gatehouse did not connect to it$/,
          ),
        },
      },
    ]);
  });

  it('lets the Client see the close when the server exits during initialize or the discover probe', async () => {
    for (const refused of [false, true]) {
      const wire = fakeWire();
      let closed = false;
      wire.transport.onclose = () => (closed = true);
      const sending = wire.transport.send(INITIALIZE);
      await flush();
      if (refused) {
        wire.answer({ id: 0, error: UNSUPPORTED });
        await flush();
        expect(wire.methods()).toEqual(['initialize', 'server/discover']);
      }
      await wire.inner.close();
      await expect(sending).resolves.toBeUndefined();
      expect(closed).toBe(true);
      expect(wire.received).toEqual([]);
    }
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
