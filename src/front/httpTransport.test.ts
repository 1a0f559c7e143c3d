import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpSessionTransport } from './httpTransport.js';

const SESSION = 'session-1';
const INIT = {
  jsonrpc: '2.0',
  id: 0,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
};

let server: Server;
let url: string;
let transport: HttpSessionTransport;
let received: JSONRPCMessage[];
let closed: number;
let arrived: () => Promise<JSONRPCMessage>;

/** A real HTTP server whose every request goes to one transport, as front/http.ts does after its checks. */
async function listen(options: { jsonWindowMs?: number; keepAliveMs?: number; now?: () => number } = {}) {
  transport = new HttpSessionTransport({ sessionId: SESSION, onInitialized: () => undefined, ...options });
  received = [];
  closed = 0;
  const waiters: ((m: JSONRPCMessage) => void)[] = [];
  transport.onmessage = (message) => {
    received.push(message);
    waiters.shift()?.(message);
  };
  arrived = () => new Promise((resolve) => waiters.push(resolve));
  transport.onclose = () => closed++;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      transport.handleRequest(req, res, text ? JSON.parse(text) : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-session-id': SESSION,
  'mcp-protocol-version': '2025-11-25',
};

const post = (body: unknown, headers: Record<string, string> = HEADERS) =>
  fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });

/** Initialises the session the way every client starts; the answer is the one the test sends. */
async function initialize() {
  const pending = arrived();
  const response = post(INIT, { ...HEADERS, 'mcp-session-id': '' });
  await pending;
  await transport.send({ jsonrpc: '2.0', id: 0, result: { ok: true } });
  return response;
}

/** A POST whose client gives up once the message has been delivered. */
async function postAndHangUp(message: unknown) {
  const abort = new AbortController();
  const pending = arrived();
  const gone = fetch(url, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify(message),
    signal: abort.signal,
  });
  await pending;
  abort.abort();
  await gone.catch(() => undefined);
}

/** The JSON-RPC messages of an SSE body, in order. */
function events(body: string): unknown[] {
  return body
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      expect(block).toContain('event: message');
      return JSON.parse(block.slice(block.indexOf('data: ') + 6)) as unknown;
    });
}

beforeEach(() => listen());
afterEach(async () => {
  await transport.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('POST', () => {
  it('answers a request whose response is ready at once with one JSON body carrying the session id', async () => {
    const response = await initialize();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('mcp-session-id')).toBe(SESSION);
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 0, result: { ok: true } });
    expect(received).toEqual([INIT]);
  });

  it('streams as SSE once the request sends something before its response, in order', async () => {
    await initialize();
    const pending = arrived();
    const responding = post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
    await pending;
    const progress = { jsonrpc: '2.0' as const, method: 'notifications/progress', params: { progress: 1 } };
    await transport.send(progress, { relatedRequestId: 1 });
    const ask = { jsonrpc: '2.0' as const, id: 7, method: 'roots/list' };
    await transport.send(ask, { relatedRequestId: 1 });
    await transport.send({ jsonrpc: '2.0', id: 1, result: { content: [] } });
    const response = await responding;
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('mcp-session-id')).toBe(SESSION);
    expect(events(await response.text())).toEqual([
      progress,
      ask,
      { jsonrpc: '2.0', id: 1, result: { content: [] } },
    ]);
  });

  it('turns a quiet request into an SSE stream when the JSON window passes, and the response still arrives', async () => {
    await transport.close();
    await listen({ jsonWindowMs: 10, keepAliveMs: 5 });
    await initialize();
    const pending = arrived();
    // The headers can only arrive once the window has turned the answer into a stream: nothing was sent.
    const response = await post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow' } });
    await pending;
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    // A keep-alive comment: the stream was quiet long enough for one.
    expect(first).toContain(': keepalive');
    await transport.send({ jsonrpc: '2.0', id: 2, result: { done: true } });
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(events(rest)).toEqual([{ jsonrpc: '2.0', id: 2, result: { done: true } }]);
  });

  it('answers a batch with an array once every request in it has its response', async () => {
    await initialize();
    const both = Promise.all([arrived(), arrived()]);
    const responding = post([
      { jsonrpc: '2.0', id: 'a', method: 'ping' },
      { jsonrpc: '2.0', id: 'b', method: 'ping' },
    ]);
    await both;
    await transport.send({ jsonrpc: '2.0', id: 'b', result: {} });
    await transport.send({ jsonrpc: '2.0', id: 'a', result: {} });
    expect(await (await responding).json()).toEqual([
      { jsonrpc: '2.0', id: 'b', result: {} },
      { jsonrpc: '2.0', id: 'a', result: {} },
    ]);
  });

  it('accepts notifications with 202 and delivers them', async () => {
    await initialize();
    const note = { jsonrpc: '2.0', method: 'notifications/initialized' };
    const response = await post(note);
    expect(response.status).toBe(202);
    expect(received.at(-1)).toEqual(note);
  });

  it.each([
    ['an Accept without text/event-stream', { accept: 'application/json' }, 406, -32000, 'Not Acceptable'],
    [
      'a Content-Type that is not JSON',
      { 'content-type': 'text/plain' },
      415,
      -32000,
      'Unsupported Media Type',
    ],
    ['another session id', { 'mcp-session-id': 'other' }, 404, -32001, 'Session not found'],
    ['an unsupported protocol version', { 'mcp-protocol-version': '1999-01-01' }, 400, -32000, '1999-01-01'],
  ])('refuses %s with a JSON-RPC error, delivering nothing', async (_, headers, status, code, text) => {
    await initialize();
    const before = received.length;
    const response = await post({ jsonrpc: '2.0', id: 3, method: 'ping' }, { ...HEADERS, ...headers });
    expect(response.status).toBe(status);
    const body = (await response.json()) as { error: { code: number; message: string }; id: null };
    expect(body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code } });
    expect(body.error.message).toContain(text);
    expect(received).toHaveLength(before);
  });

  it('refuses a second initialize and any request before the first', async () => {
    const early = await post({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(early.status).toBe(400);
    expect(((await early.json()) as { error: { message: string } }).error.message).toContain(
      'not initialized',
    );
    await initialize();
    const again = await post(INIT);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { message: string } }).error.message).toContain(
      'already initialized',
    );
    expect(received).toEqual([INIT]);
  });

  it('a client that goes away mid-call drops the answer, and the session keeps serving', async () => {
    await initialize();
    await postAndHangUp({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'x' } });
    // The server side sees the socket close on its own schedule; the late response must not be written.
    await new Promise<void>((resolve) => {
      const poll = () =>
        transport.send({ jsonrpc: '2.0', id: 4, result: {} }).then(
          () => setTimeout(poll, 5),
          () => resolve(),
        );
      poll();
    });
    const next = arrived();
    const responding = post({ jsonrpc: '2.0', id: 5, method: 'ping' });
    await next;
    await transport.send({ jsonrpc: '2.0', id: 5, result: {} });
    expect(await (await responding).json()).toEqual({ jsonrpc: '2.0', id: 5, result: {} });
  });
});

describe('request ids in flight', () => {
  const call = (id: string | number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x' } });
  const refusal = (id: string | number) => ({
    jsonrpc: '2.0',
    id,
    error: {
      code: -32600,
      message: `Invalid Request: request id ${JSON.stringify(id)} is already in flight in this session; use a new id`,
    },
  });

  it('refuses a request whose id is in flight without delivering it, and answers the first', async () => {
    await initialize();
    const pending = arrived();
    const first = post(call(1));
    await pending;
    const duplicate = await post({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(duplicate.status).toBe(200);
    expect(await duplicate.json()).toEqual(refusal(1));
    expect(received.filter((m) => 'id' in m && m.id === 1)).toHaveLength(1);

    await transport.send({ jsonrpc: '2.0', id: 1, result: { content: [] } });
    expect(await (await first).json()).toEqual({ jsonrpc: '2.0', id: 1, result: { content: [] } });
    // Answered, the id may be used again.
    const again = arrived();
    const reuse = post({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(await again).toMatchObject({ id: 1, method: 'ping' });
    await transport.send({ jsonrpc: '2.0', id: 1, result: {} });
    expect(await (await reuse).json()).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
  });

  it('refuses the second of two requests with one id in a batch, and answers the rest', async () => {
    await initialize();
    const both = Promise.all([arrived(), arrived()]);
    const responding = post([call('a'), call('a'), call('b')]);
    await both;
    await transport.send({ jsonrpc: '2.0', id: 'a', result: {} });
    await transport.send({ jsonrpc: '2.0', id: 'b', result: {} });
    expect(await (await responding).json()).toEqual([
      refusal('a'),
      { jsonrpc: '2.0', id: 'a', result: {} },
      { jsonrpc: '2.0', id: 'b', result: {} },
    ]);
    expect(received.filter((m) => 'id' in m && m.id === 'a')).toHaveLength(1);
  });

  it('keeps the id of a request whose client hung up until the request is answered', async () => {
    await initialize();
    await postAndHangUp(call(4));
    expect(await (await post({ jsonrpc: '2.0', id: 4, method: 'ping' })).json()).toEqual(refusal(4));
    // The late answer goes nowhere, and frees the id.
    await transport.send({ jsonrpc: '2.0', id: 4, result: {} }).catch(() => undefined);
    const next = arrived();
    const responding = post({ jsonrpc: '2.0', id: 4, method: 'ping' });
    await next;
    await transport.send({ jsonrpc: '2.0', id: 4, result: {} });
    expect(await (await responding).json()).toEqual({ jsonrpc: '2.0', id: 4, result: {} });
  });

  it('frees the id of a cancelled request, which the Protocol never answers', async () => {
    await initialize();
    const pending = arrived();
    void post(call(8)).catch(() => undefined);
    await pending;
    const cancel = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 8 } };
    expect((await post(cancel)).status).toBe(202);
    // Freed once the Protocol has had its turn with the cancellation.
    await new Promise((resolve) => setImmediate(resolve));
    const next = arrived();
    void post({ jsonrpc: '2.0', id: 8, method: 'ping' });
    expect(await next).toMatchObject({ id: 8, method: 'ping' });
  });
});

describe('idleness', () => {
  it('is idle from its last request, answer or stream close, and busy while a request or its GET stream is open', async () => {
    let now = 1_000;
    await transport.close();
    await listen({ now: () => now });
    now = 2_000;
    await initialize();
    expect(transport.idleSince()).toBe(2_000);

    now = 3_000;
    const pending = arrived();
    const responding = post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } });
    await pending;
    expect(transport.idleSince()).toBeUndefined();
    now = 4_000;
    await transport.send({ jsonrpc: '2.0', id: 1, result: {} });
    await (await responding).json();
    expect(transport.idleSince()).toBe(4_000);

    now = 5_000;
    const stream = await fetch(url, { headers: { ...HEADERS, accept: 'text/event-stream' } });
    expect(transport.idleSince()).toBeUndefined();
    now = 6_000;
    await stream.body!.cancel();
    await eventuallyIdle();
    expect(transport.idleSince()).toBe(6_000);
  });

  /** The server sees a client's stream close on its own schedule. */
  async function eventuallyIdle() {
    while (transport.idleSince() === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  }
});

describe('GET', () => {
  it('opens the one standalone stream, which carries messages that belong to no request', async () => {
    await initialize();
    const response = await fetch(url, { headers: { ...HEADERS, accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const second = await fetch(url, { headers: { ...HEADERS, accept: 'text/event-stream' } });
    expect(second.status).toBe(409);
    await second.body?.cancel();

    const changed = { jsonrpc: '2.0' as const, method: 'notifications/tools/list_changed' };
    await transport.send(changed);
    const reader = response.body!.getReader();
    expect(events(new TextDecoder().decode((await reader.read()).value))).toEqual([changed]);
    await reader.cancel();
  });

  it('needs an Accept of text/event-stream', async () => {
    await initialize();
    const response = await fetch(url, { headers: { ...HEADERS, accept: 'application/json' } });
    expect(response.status).toBe(406);
    await response.body?.cancel();
  });

  it('without a stream, a message for no request is dropped rather than failing the sender', async () => {
    await initialize();
    await expect(
      transport.send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }),
    ).resolves.toBeUndefined();
  });
});

describe('ending the session', () => {
  it('DELETE closes the transport once; later requests get 404', async () => {
    await initialize();
    const response = await fetch(url, { method: 'DELETE', headers: HEADERS });
    expect(response.status).toBe(200);
    expect(closed).toBe(1);
    const after = await post({ jsonrpc: '2.0', id: 9, method: 'ping' });
    expect(after.status).toBe(404);
    await transport.close();
    expect(closed).toBe(1);
  });

  it('close() answers requests still waiting with an error instead of leaving them hanging', async () => {
    await initialize();
    const pending = arrived();
    const responding = post({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'x' } });
    await pending;
    await transport.close();
    expect(await (await responding).json()).toEqual({
      jsonrpc: '2.0',
      id: 6,
      error: { code: -32000, message: 'Gatehouse closed this MCP session' },
    });
  });

  it('a response for a request it never saw is an error for the sender', async () => {
    await initialize();
    await expect(transport.send({ jsonrpc: '2.0', id: 'nope', result: {} })).rejects.toThrow(
      'No connection established for request ID: nope',
    );
  });
});
