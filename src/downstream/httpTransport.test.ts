import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  LoggingMessageNotificationSchema,
  type JSONRPCMessage,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING } from '../../test/helpers/paths.js';
import { eventually, freePort, spawnProcess, type Spawned } from '../../test/helpers/processes.js';
import { shouldFallBackToSse } from './http.js';
import { describeNetworkFailure, NodeStreamableHttpClientTransport } from './httpTransport.js';

const SECRET = 'Bearer s3cr3t-token-value-0123456789';
const dispatcher = new Agent({ keepAliveTimeout: 5_000 });
afterAll(() => dispatcher.close());

const request = (id: number, method = 'tools/list'): JSONRPCMessage => ({ jsonrpc: '2.0', id, method });
const result = (id: number, value: unknown = { ok: id }) => ({ jsonrpc: '2.0', id, result: value });
const notification = (n: number) => ({
  jsonrpc: '2.0',
  method: 'notifications/message',
  params: { level: 'info', data: `note ${n}` },
});
const sse = (data: unknown, id?: string) =>
  `${id ? `id: ${id}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

describe('against server-everything over Streamable HTTP', () => {
  let server: Spawned;
  let url: URL;
  const clients: Client[] = [];

  beforeAll(async () => {
    const port = await freePort();
    server = spawnProcess(process.execPath, [EVERYTHING, 'streamableHttp'], {
      ...process.env,
      PORT: String(port),
    });
    await server.waitForStderr((line) => /listening on port/i.test(line));
    url = new URL(`http://127.0.0.1:${port}/mcp`);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
  });

  async function connect(transport: NodeStreamableHttpClientTransport | StreamableHTTPClientTransport) {
    const client = new Client({ name: 'transport-test', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
    return client;
  }

  it('lists tools and answers a call exactly as the SDK transport does, within a session', async () => {
    const transport = new NodeStreamableHttpClientTransport(url, { headers: {}, dispatcher });
    const ours = await connect(transport);
    const reference = await connect(new StreamableHTTPClientTransport(url));

    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const [ourTools, referenceTools] = await Promise.all([ours.listTools(), reference.listTools()]);
    expect(ourTools.tools.map((t) => t.name)).toContain('echo');
    expect(ourTools).toEqual(referenceTools);

    const echo = { name: 'echo', arguments: { message: 'hi' } };
    const [ourEcho, referenceEcho] = await Promise.all([ours.callTool(echo), reference.callTool(echo)]);
    expect(ourEcho).toEqual(referenceEcho);
    expect(JSON.stringify(ourEcho)).toContain('hi');
  });

  it('relays the progress notifications a tool sends during its call', async () => {
    const client = await connect(new NodeStreamableHttpClientTransport(url, { headers: {}, dispatcher }));
    const progress: Progress[] = [];
    const done = await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push(p) },
    );
    expect(progress.map((p) => p.progress)).toEqual([1, 2, 3]);
    expect(JSON.stringify(done)).toContain('Long running operation completed');
  });

  it('receives log messages the server sends outside any call, on the GET stream', async () => {
    const client = await connect(new NodeStreamableHttpClientTransport(url, { headers: {}, dispatcher }));
    const logs: unknown[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
    await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
    await eventually(() => logs.length > 0, 'a log message arrived', 12_000);
    await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  });
});

interface Recorded {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string, index: number) => void;

/** A tiny HTTP server whose every request is recorded; `handler` decides each answer. */
async function fixtureServer(handler: Handler) {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', headers: req.headers, body });
      handler(req, res, body, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp?tenant=a`);
  servers.push(server);
  return { url, requests, server };
}

const servers: ReturnType<typeof createServer>[] = [];
const transports: NodeStreamableHttpClientTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** A started transport that records what it delivers. */
async function open(url: URL, options: { dispatcher?: Agent } = {}) {
  const transport = new NodeStreamableHttpClientTransport(url, {
    headers: { Authorization: SECRET, 'X-Tenant': 'acme' },
    dispatcher: options.dispatcher ?? dispatcher,
  });
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  transport.onmessage = (message) => void messages.push(message);
  transport.onerror = (error) => void errors.push(error);
  await transport.start();
  transports.push(transport);
  return { transport, messages, errors };
}

function json(res: ServerResponse, value: unknown, headers: Record<string, string> = {}) {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(value));
}

function startSse(res: ServerResponse, headers: Record<string, string> = {}) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
}

/** The id of the JSON-RPC request in a recorded body; 0 for the bodiless GET and DELETE. */
const idOf = (body: string) => (body ? ((JSON.parse(body) as { id?: number }).id ?? 0) : 0);

const initialized: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/initialized' };

describe('against fixture servers', () => {
  it('delivers a JSON response and a JSON array of messages', async () => {
    const { url } = await fixtureServer((_req, res, body) => {
      const id = idOf(body);
      json(res, id === 1 ? result(1) : [notification(7), result(2)]);
    });
    const { transport, messages, errors } = await open(url);
    await transport.send(request(1));
    await transport.send(request(2));
    expect(messages).toEqual([result(1), notification(7), result(2)]);
    expect(errors).toEqual([]);
  });

  it('rejects a JSON response that is not a JSON-RPC message', async () => {
    const { url } = await fixtureServer((_req, res) => json(res, { hello: 'world' }));
    const { transport, messages, errors } = await open(url);
    await expect(transport.send(request(1))).rejects.toThrow();
    expect(messages).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it('delivers an SSE response with a notification before the result, in order', async () => {
    const { url } = await fixtureServer((_req, res) => {
      startSse(res);
      res.write(': keep-alive comment\n\n');
      res.write(sse(notification(1)));
      setTimeout(() => res.end(sse(result(1))), 20);
    });
    const { transport, messages, errors } = await open(url);
    await transport.send(request(1));
    await eventually(() => messages.length === 2, 'both messages arrived');
    expect(messages).toEqual([notification(1), result(1)]);
    expect(errors).toEqual([]);
  });

  it('hands a progress notification over before the response that shares its chunk', async () => {
    const { url } = await fixtureServer((req, res, body) => {
      if (req.method === 'GET') return res.writeHead(405).end();
      const message = body
        ? (JSON.parse(body) as { id?: number; method: string; params?: never })
        : undefined;
      if (message?.id === undefined) return res.writeHead(202).end();
      if (message.method === 'initialize')
        return json(res, {
          jsonrpc: '2.0',
          id: message.id,
          result: {
            protocolVersion: '2025-06-18',
            capabilities: { tools: {} },
            serverInfo: { name: 'f', version: '1' },
          },
        });
      const token = (message.params as { _meta?: { progressToken?: number } } | undefined)?._meta
        ?.progressToken;
      const progress = {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: token, progress: 1 },
      };
      startSse(res);
      res.end(sse(progress) + sse(result(message.id, { content: [] })));
    });
    const transport = new NodeStreamableHttpClientTransport(url, { headers: {}, dispatcher });
    transports.push(transport);
    const client = new Client({ name: 'transport-test', version: '1.0.0' });
    await client.connect(transport);
    const progress: Progress[] = [];
    await client.callTool({ name: 'anything', arguments: {} }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    expect(progress).toEqual([{ progress: 1 }]);
  });

  it('sends the static headers, then the session id and protocol version once known', async () => {
    const { url, requests } = await fixtureServer((_req, res, body) =>
      json(res, result(idOf(body)), { 'mcp-session-id': 'session-42' }),
    );
    const { transport } = await open(url);
    await transport.send(request(1, 'initialize'));
    expect(transport.sessionId).toBe('session-42');
    transport.setProtocolVersion('2025-06-18');
    await transport.send(request(2));

    const [first, second] = requests;
    expect(first).toMatchObject({
      method: 'POST',
      headers: {
        authorization: SECRET,
        'x-tenant': 'acme',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
    });
    expect(JSON.parse(first!.body)).toEqual(request(1, 'initialize'));
    expect(first!.headers['mcp-session-id']).toBeUndefined();
    expect(first!.headers['mcp-protocol-version']).toBeUndefined();
    expect(second!.headers).toMatchObject({
      authorization: SECRET,
      'x-tenant': 'acme',
      'mcp-session-id': 'session-42',
      'mcp-protocol-version': '2025-06-18',
    });
  });

  it('rejects a 404 with the status as the error code, and reports it to onerror', async () => {
    const { url } = await fixtureServer((_req, res) => res.writeHead(404).end('no such endpoint'));
    const { transport, errors } = await open(url);
    const error = await transport.send(request(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamableHTTPError);
    expect((error as StreamableHTTPError).code).toBe(404);
    expect((error as Error).message).toContain('no such endpoint');
    expect(errors).toEqual([error]);
  });

  it('makes a 400 on initialize a reason to fall back to SSE', async () => {
    const { url } = await fixtureServer((_req, res) => res.writeHead(400).end('Bad Request'));
    const transport = new NodeStreamableHttpClientTransport(url, { headers: {}, dispatcher });
    transports.push(transport);
    const client = new Client({ name: 'transport-test', version: '1.0.0' });
    const error = await client.connect(transport).catch((e: unknown) => e);
    expect((error as StreamableHTTPError).code).toBe(400);
    expect(shouldFallBackToSse(error)).toBe(true);
  });

  it('does not follow a redirect: the 3xx is the error', async () => {
    const { url, requests } = await fixtureServer((_req, res) =>
      res.writeHead(307, { location: '/elsewhere?token=x' }).end(),
    );
    const { transport } = await open(url);
    const error = await transport.send(request(1)).catch((e: unknown) => e);
    expect((error as StreamableHTTPError).code).toBe(307);
    expect((error as Error).message).toContain(`Redirect to ${url.origin}/elsewhere not followed`);
    expect(requests).toHaveLength(1);
  });

  it('rejects an unexpected content type with code -1', async () => {
    const { url } = await fixtureServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
    );
    const { transport } = await open(url);
    const error = await transport.send(request(1)).catch((e: unknown) => e);
    expect((error as StreamableHTTPError).code).toBe(-1);
    expect((error as Error).message).toContain('Unexpected content type: text/html');
  });

  it('reads every body, so a one-connection pool keeps serving requests', async () => {
    const big = 'x'.repeat(200 * 1024);
    const { url } = await fixtureServer((_req, res, body, index) => {
      if (index === 0) return res.writeHead(202, { 'content-type': 'text/plain' }).end(big);
      if (index === 1) return res.writeHead(200, { 'content-type': 'text/plain' }).end(big);
      if (index === 2) return res.writeHead(500, { 'content-type': 'text/plain' }).end(big);
      json(res, result(idOf(body)));
    });
    const single = new Agent({ connections: 1, pipelining: 1 });
    try {
      const { transport, messages } = await open(url, { dispatcher: single });
      const cancelled = {
        jsonrpc: '2.0' as const,
        method: 'notifications/cancelled',
        params: { requestId: 9 },
      };
      await transport.send(cancelled);
      await transport.send(cancelled);
      const error = await transport.send(request(3)).catch((e: unknown) => e);
      expect((error as StreamableHTTPError).code).toBe(500);
      expect((error as Error).message.length).toBeLessThanOrEqual(64 * 1024 + 100);
      await transport.send(request(4));
      expect(messages).toEqual([result(4)]);
    } finally {
      await single.close();
    }
  }, 10_000);

  it('treats a 405 on the GET stream as "no GET stream", without an error', async () => {
    const { url, requests } = await fixtureServer((req, res) =>
      res.writeHead(req.method === 'GET' ? 405 : 202).end(),
    );
    const { transport, errors } = await open(url);
    await transport.send(initialized);
    await eventually(() => requests.some((r) => r.method === 'GET'), 'the GET stream was tried');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requests.find((r) => r.method === 'GET')!.headers).toMatchObject({
      accept: 'text/event-stream',
      authorization: SECRET,
    });
    expect(errors).toEqual([]);
  });

  it('reports any other failure to open the GET stream', async () => {
    const { url } = await fixtureServer((req, res) => res.writeHead(req.method === 'GET' ? 500 : 202).end());
    const { transport, errors } = await open(url);
    await transport.send(initialized);
    await eventually(() => errors.length > 0, 'the failure was reported');
    expect((errors[0] as StreamableHTTPError).code).toBe(500);
  });

  it('delivers server notifications on the GET stream and reopens it after it ends', async () => {
    let gets = 0;
    const { url, requests } = await fixtureServer((req, res) => {
      if (req.method !== 'GET') return res.writeHead(202).end();
      gets += 1;
      startSse(res);
      if (gets === 1) res.end(`retry: 20\n\n${sse(notification(1), 'g-1')}`);
      else res.write(sse(notification(2), 'g-2'));
    });
    const { transport, messages, errors } = await open(url);
    await transport.send(initialized);
    await eventually(() => messages.length === 2, 'notifications from both GET streams');
    expect(messages).toEqual([notification(1), notification(2)]);
    const [first, second] = requests.filter((r) => r.method === 'GET');
    expect(first!.headers['last-event-id']).toBeUndefined();
    expect(second!.headers['last-event-id']).toBe('g-1');
    expect(errors).toEqual([]);
  });

  it.each(['ended', 'cut'] as const)(
    'resumes a POST stream %s after a priming event id with GET and Last-Event-ID',
    async (how) => {
      const { url, requests } = await fixtureServer((req, res) => {
        startSse(res);
        if (req.method === 'POST') {
          res.write('retry: 20\nid: p-1\ndata:\n\n');
          res.write(sse(notification(1), 'p-2'));
          setTimeout(() => (how === 'ended' ? res.end() : res.socket?.destroy()), 20);
        } else {
          res.end(sse(result(1), 'p-3'));
        }
      });
      const { transport, messages, errors } = await open(url);
      await transport.send(request(1));
      await eventually(() => messages.length === 2, 'the response arrived on the resumed stream');
      expect(messages).toEqual([notification(1), result(1)]);
      const gets = requests.filter((r) => r.method === 'GET');
      expect(gets).toHaveLength(1);
      expect(gets[0]!.headers).toMatchObject({ 'last-event-id': 'p-2', authorization: SECRET });
      // A clean end is no error; a cut connection is reported, then repaired.
      expect(errors.map((e) => e.message)).toEqual(
        how === 'ended' ? [] : [expect.stringContaining('SSE stream disconnected')],
      );
    },
  );

  it('does not reopen a POST stream that answered, nor one without an event id, which fails its request at once', async () => {
    const { url, requests } = await fixtureServer((_req, res, body) => {
      const id = idOf(body);
      startSse(res);
      res.end(id === 1 ? `retry: 10\n${sse(result(1), 'a-1')}` : sse(notification(2)));
    });
    const { transport, messages } = await open(url);
    await transport.send(request(1));
    await transport.send(request(2));
    await eventually(() => messages.length === 3, 'both streams were read');
    // Request 2 can never be answered now: it fails instead of waiting for its timeout.
    expect(messages[2]).toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: { code: -32000, message: 'the server ended the response stream without an answer' },
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requests.map((r) => r.method)).toEqual(['POST', 'POST']);
  });

  it('reports SSE data that is not JSON and keeps delivering what follows', async () => {
    const { url } = await fixtureServer((_req, res) => {
      startSse(res);
      res.write(sse('this is not json'));
      res.write(sse({ jsonrpc: '2.0', nonsense: true }));
      res.write('event: ping\ndata: ignored because of its type\n\n');
      res.end(sse(result(1)));
    });
    const { transport, messages, errors } = await open(url);
    await transport.send(request(1));
    await eventually(() => messages.length === 1, 'the response after the bad data arrived');
    expect(messages).toEqual([result(1)]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(SyntaxError);
  });

  it('close() aborts hanging requests and streams, deletes the session and closes once', async () => {
    const closedOnServer: string[] = [];
    const { url, requests } = await fixtureServer((req, res, body) => {
      res.on('close', () => closedOnServer.push(req.method ?? ''));
      if (req.method === 'DELETE') return res.writeHead(200).end();
      const id = idOf(body);
      if (id === 1) return json(res, result(1), { 'mcp-session-id': 'session-7' });
      if (id === 2) return startSse(res); // a stream that never answers
      // id 3: never even sends headers
    });
    const { transport, messages } = await open(url);
    let closes = 0;
    transport.onclose = () => void (closes += 1);
    await transport.send(request(1));
    transport.setProtocolVersion('2025-06-18');
    await transport.send(request(2));
    const hanging = transport.send(request(3)).catch((e: unknown) => e);
    await eventually(() => requests.length === 3, 'all three requests reached the server');

    await Promise.all([transport.close(), transport.close()]);
    expect((await hanging) as Error).toBeInstanceOf(Error);
    expect(closes).toBe(1);
    expect(messages).toEqual([result(1)]);
    const deletion = requests.find((r) => r.method === 'DELETE');
    expect(deletion?.headers).toMatchObject({
      'mcp-session-id': 'session-7',
      'mcp-protocol-version': '2025-06-18',
      authorization: SECRET,
    });
    await eventually(
      () => closedOnServer.filter((m) => m === 'POST').length === 3,
      'the server saw both hanging POSTs closed',
    );
    await expect(transport.send(request(4))).rejects.toThrow(/closed/);
  });

  it('close() does not hang on a server that ignores the DELETE', async () => {
    const { url } = await fixtureServer((req, res) => {
      if (req.method !== 'DELETE') json(res, result(1), { 'mcp-session-id': 'session-8' });
    });
    const { transport } = await open(url);
    let closed = 0;
    transport.onclose = () => void closed++;
    await transport.send(request(1));
    // Without its bound on the DELETE, close() would never resolve and the test would time out.
    await transport.close();
    expect(closed).toBe(1);
  });

  it('never puts a static header value into an error message', async () => {
    const { url } = await fixtureServer((req, res) =>
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers)),
    );
    const { transport, errors } = await open(url);
    const error = (await transport.send(request(1)).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('[redacted]');
    expect(error.message).toContain('acme'); // short values are left alone; only secrets are redacted
    const token = SECRET.split(' ')[1]!;
    for (const message of [error.message, ...errors.map((e) => e.message)])
      expect(message).not.toContain(token);

    const refused = new NodeStreamableHttpClientTransport(
      new URL(`http://127.0.0.1:${await freePort()}/mcp`),
      {
        headers: { Authorization: SECRET },
        dispatcher,
      },
    );
    transports.push(refused);
    const network = (await refused.send(request(1)).catch((e: unknown) => e)) as Error;
    expect(network.message).toMatch(
      /POST to http:\/\/127\.0\.0\.1:\d+\/mcp failed: connection refused .*ECONNREFUSED/,
    );
    expect(network.message).not.toContain(token);
  });
});

describe('a downstream that cannot be reached', () => {
  it('names a TLS failure as one, with its URL', async () => {
    const { url } = await fixtureServer((_req, res) => res.end('plain HTTP'));
    const https = new URL(url.href.replace('http:', 'https:'));
    const transport = new NodeStreamableHttpClientTransport(https, { headers: {}, dispatcher });
    const error = (await transport.send(request(1)).catch((e: unknown) => e)) as Error;
    await transport.close();
    expect(error.message).toMatch(
      /^POST to https:\/\/127\.0\.0\.1:\d+\/mcp failed: TLS error: .+ \(ERR_SSL_\w+\)$/,
    );
  });

  it.each([
    [{ code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND x.invalid' }, 'no such host (ENOTFOUND)'],
    [
      { message: 'fetch failed', cause: { code: 'ECONNREFUSED' } },
      'connection refused (is the server running, on this port?) (ECONNREFUSED)',
    ],
    [
      { code: 'CERT_HAS_EXPIRED', message: 'certificate has expired' },
      'TLS error: certificate has expired (CERT_HAS_EXPIRED)',
    ],
    [{ code: 'UND_ERR_SOMETHING', message: 'something else' }, 'something else'],
  ])('describes %j as "%s"', (error, described) => {
    expect(describeNetworkFailure(Object.assign(new Error(error.message), error))).toBe(described);
  });
});
