import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingHttp, type HttpDownstream } from '../helpers/downstreams.js';
import { everythingStdio, fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { formatStatus } from '../../src/cli/status.js';
import {
  fetchStatus,
  gatehouseArgs,
  spawnEnv,
  startHttpGatehouse,
  type HttpGatehouse,
} from '../helpers/gatehouse.js';
import {
  MODERN,
  TASKS,
  envelope,
  modernHttpClient,
  modernStdioClient,
  type ModernClient,
} from '../helpers/modernClient.js';
import { eventually } from '../helpers/processes.js';
import { rawHttpClient, rawStdioClient, type Frame, type RawClient } from '../helpers/rawClient.js';

/**
 * MCP 2026-07-28 clients on both fronts, against real server-everything over stdio and over HTTP:
 * server/discover, no initialize, the per-request envelope, the standard headers, the new error codes,
 * subscriptions/listen, cancellation; and a legacy client on the same stdio connection after the
 * probe, served as before.
 */

const scratch = scratchDir('era2026-front');
const policies = path.join(scratch.dir, 'policies');
const policyFile = path.join(policies, 'rules.yaml');
let everythingHttp: HttpDownstream;

beforeAll(async () => {
  scratch.write('policies/rules.yaml', 'default: allow\nrules: []\n');
  everythingHttp = await startEverythingHttp('streamableHttp');
});
afterAll(async () => {
  await everythingHttp?.stop();
  scratch.remove();
});

const answerOf = (frames: Frame[]) => frames[frames.length - 1]!;

const MATRIX = [
  { front: 'stdio', downstream: 'stdio' },
  { front: 'stdio', downstream: 'http' },
  { front: 'http', downstream: 'stdio' },
  { front: 'http', downstream: 'http' },
] as const;

describe.each(MATRIX)(
  'a 2026-07-28 client on $front, server-everything on $downstream',
  ({ front, downstream }) => {
    let gatehouse: HttpGatehouse | undefined;
    let client: ModernClient;
    let stderr: () => string;

    beforeAll(async () => {
      const server = downstream === 'stdio' ? everythingStdio() : { url: everythingHttp.url };
      const config = scratch.write(
        `${front}-${downstream}.json`,
        gatehouseConfig({ everything: server }, { policies: path.relative(scratch.dir, policies) }),
      );
      if (front === 'http') {
        gatehouse = await startHttpGatehouse(config);
        client = modernHttpClient(gatehouse.mcpUrl);
        stderr = gatehouse.stderr;
      } else {
        client = modernStdioClient(
          process.execPath,
          gatehouseArgs('serve', '--config', config),
          spawnEnv({}),
        );
        stderr = client.stderr;
      }
    });
    afterAll(async () => {
      await client?.close();
      await gatehouse?.stop();
    });

    it('server/discover names the versions, capabilities, the Tasks extension and who answers', async () => {
      const result = await client.call('server/discover');
      expect(result.resultType).toBe('complete');
      expect(result.supportedVersions[0]).toBe(MODERN);
      expect(result.supportedVersions).toContain('2025-11-25');
      expect(result.capabilities.tools).toBeDefined();
      expect(result.capabilities.extensions).toEqual(expect.objectContaining({ [TASKS]: {} }));
      // The legacy task capability and log relaying belong to legacy sessions.
      expect(result.capabilities.tasks).toBeUndefined();
      expect(result.capabilities.logging).toBeUndefined();
      expect(result._meta['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 'gatehouse' });
      expect(result).toMatchObject({ ttlMs: expect.any(Number), cacheScope: 'private' });
    });

    it('tools/list and tools/call work without initialize', async () => {
      const listed = await client.call('tools/list');
      expect(listed).toMatchObject({ resultType: 'complete', ttlMs: 0, cacheScope: 'private' });
      const echo = listed.tools.find((t: { name: string }) => t.name === 'everything__echo');
      expect(echo).toBeDefined();
      for (const tool of listed.tools) expect(tool.execution?.taskSupport).toBeUndefined();
      const result = await client.call('tools/call', {
        name: 'everything__echo',
        arguments: { message: 'modern' },
      });
      expect(result.resultType).toBe('complete');
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: modern' }]);
      expect(result._meta['io.modelcontextprotocol/serverInfo'].name).toBe('gatehouse');
    });

    it('resources and prompts are served per request', async () => {
      const resources = await client.call('resources/list');
      expect(resources).toMatchObject({ resultType: 'complete', cacheScope: 'private' });
      const first = resources.resources[0] as { uri: string };
      const read = await client.call('resources/read', { uri: first.uri });
      expect(read.contents[0].uri).toBe(first.uri);
      const prompts = await client.call('prompts/list');
      expect(prompts.prompts.length).toBeGreaterThan(0);
    });

    it('refuses a request without the envelope (-32602) or with a version it does not serve (-32022)', async () => {
      if (front === 'http') {
        // The MCP-Protocol-Version header makes it a modern request; on stdio a request with no claim at
        // all is the legacy era's (as the v2 SDK's serveStdio reads it).
        const bare = answerOf(await client.request('tools/list', {}, { meta: null }));
        expect(bare.error.code).toBe(-32602);
        expect(bare.error.message).toContain('io.modelcontextprotocol/protocolVersion');
        expect(client.lastStatus).toBe(400);
      }

      const old = answerOf(
        await client.request(
          'tools/list',
          {},
          {
            meta: { ...envelope(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
            headers: { 'mcp-protocol-version': '2099-01-01' },
          },
        ),
      );
      expect(old.error.code).toBe(-32022);
      expect(old.error.data).toEqual({
        supported: expect.arrayContaining([MODERN, '2025-11-25']),
        requested: '2099-01-01',
      });
      if (front === 'http') expect(client.lastStatus).toBe(400);

      const noCaps = answerOf(
        await client.request(
          'tools/list',
          {},
          { meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } },
        ),
      );
      expect(noCaps.error.code).toBe(-32602);
      expect(noCaps.error.message).toContain('clientCapabilities');
    });

    it('answers an unknown method with -32601, and the removed ping and logging/setLevel too', async () => {
      for (const method of ['no/such', 'ping', 'logging/setLevel']) {
        const answer = answerOf(await client.request(method, {}));
        expect(answer.error.code).toBe(-32601);
        if (front === 'http') expect(client.lastStatus).toBe(404);
      }
    });

    it('relays progress on the request it belongs to', async () => {
      const frames = await client.request('tools/call', {
        name: 'everything__trigger-long-running-operation',
        arguments: { duration: 0.6, steps: 2 },
        _meta: { progressToken: 'p1' },
      });
      const progress = frames.filter((f) => f.method === 'notifications/progress');
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[0]!.params).toMatchObject({ progressToken: 'p1', progress: 1, total: 2 });
      expect(answerOf(frames).result.resultType).toBe('complete');
    });

    it('cancels a call when the client cancels it (stdio: notifications/cancelled; HTTP: closing the stream)', async () => {
      const call = client.send('tools/call', {
        name: 'everything__trigger-long-running-operation',
        arguments: { duration: 60, steps: 60 },
        _meta: { progressToken: 'long' },
      });
      // Running downstream: its first progress came back.
      await eventually(
        () => client.allFrames.some((f) => f.params?.progressToken === 'long'),
        'the long call is running',
      );
      await call.cancel();
      await eventually(
        () => stderr().includes('tool call cancelled by the client'),
        'Gatehouse cancelled the call',
      );
      // The connection goes on serving; the cancelled call never gets an answer.
      const after = await client.call('tools/call', {
        name: 'everything__echo',
        arguments: { message: 'after' },
      });
      expect(after.content[0].text).toBe('Echo: after');
      expect(client.allFrames.some((f) => f.id === call.id && f.method === undefined)).toBe(false);
    });

    it('subscriptions/listen acknowledges what it honours and delivers list changes tagged with its id', async () => {
      const listen = client.send('subscriptions/listen', {
        notifications: { toolsListChanged: true, promptsListChanged: true, resourceSubscriptions: ['x://y'] },
      });
      await eventually(() => listen.received.length > 0, 'the acknowledgement');
      const ack = listen.received[0]!;
      expect(ack.method).toBe('notifications/subscriptions/acknowledged');
      expect(ack.params._meta['io.modelcontextprotocol/subscriptionId']).toBe(listen.id);
      // server-everything takes a subscription to any URI: the acknowledgement holds what it took.
      expect(ack.params.notifications).toEqual({
        toolsListChanged: true,
        promptsListChanged: true,
        resourceSubscriptions: ['x://y'],
      });
      // A policy reload may change the tool list: listeners hear it.
      writeFileSync(policyFile, `default: allow\nrules: []\n# reloaded ${front}-${downstream}\n`);
      await eventually(
        () => listen.received.some((f) => f.method === 'notifications/tools/list_changed'),
        'tools/list_changed on the listen stream',
      );
      const changed = listen.received.find((f) => f.method === 'notifications/tools/list_changed')!;
      expect(changed.params._meta['io.modelcontextprotocol/subscriptionId']).toBe(listen.id);
      await listen.cancel();
    });

    it('a server’s sampling request reaches the client as an input request, answered by its retry (MRTR)', async () => {
      const caps = { sampling: {}, elicitation: {} };
      const call = {
        name: 'everything__trigger-sampling-request',
        arguments: { prompt: 'Say hello', maxTokens: 5 },
      };
      const first = await client.call('tools/call', call, { capabilities: caps });
      expect(first.resultType).toBe('input_required');
      const [key, asked] = Object.entries(first.inputRequests as Record<string, Frame>)[0]!;
      expect(asked.method).toBe('sampling/createMessage');
      expect(JSON.stringify(asked.params)).toContain('Say hello');
      expect(typeof first.requestState).toBe('string');

      // requestState is the client's to echo, never to change: a tampered one, or one for other
      // arguments, is refused.
      const tampered = answerOf(
        await client.request(
          'tools/call',
          { ...call, requestState: `${first.requestState}x`, inputResponses: {} },
          { capabilities: caps },
        ),
      );
      expect(tampered.error.code).toBe(-32602);
      expect(tampered.error.message).toContain('Invalid requestState');
      const otherArgs = answerOf(
        await client.request(
          'tools/call',
          {
            ...call,
            arguments: { prompt: 'Something else', maxTokens: 5 },
            requestState: first.requestState,
          },
          { capabilities: caps },
        ),
      );
      expect(otherArgs.error.message).toContain('issued for another request');

      const sampled = {
        role: 'assistant',
        content: { type: 'text', text: 'sampled hello' },
        model: 'era-model',
        stopReason: 'endTurn',
      };
      const final = await client.call(
        'tools/call',
        { ...call, requestState: first.requestState, inputResponses: { [key]: sampled } },
        { capabilities: caps },
      );
      expect(final.resultType).toBe('complete');
      expect(JSON.stringify(final.content)).toContain('sampled hello');
    });

    it('a server’s request the client did not declare a capability for fails at once, the server told why', async () => {
      const frames = await client.request('tools/call', {
        name: 'everything__trigger-sampling-request',
        arguments: { prompt: 'Say hello', maxTokens: 5 },
      });
      const answer = answerOf(frames);
      expect(answer.result?.resultType).not.toBe('input_required');
      expect(JSON.stringify(answer.result ?? answer.error)).toContain('did not declare sampling');
    });

    it('never sends a modern client the legacy session’s unsolicited notifications', async () => {
      const unsolicited = client.allFrames.filter(
        (f) =>
          f.method !== undefined &&
          f.params?._meta?.['io.modelcontextprotocol/subscriptionId'] === undefined &&
          f.method !== 'notifications/progress',
      );
      expect(unsolicited).toEqual([]);
    });
  },
);

describe('HTTP: the standard headers must match the body', () => {
  let gatehouse: HttpGatehouse;
  let client: ModernClient;
  beforeAll(async () => {
    // Debug logs: a routine allowed call's decision is logged at debug.
    const config = scratch.write(
      'headers.json',
      gatehouseConfig({ everything: everythingStdio() }, { log: { level: 'debug' } }),
    );
    gatehouse = await startHttpGatehouse(config);
    client = modernHttpClient(gatehouse.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await gatehouse?.stop();
  });

  const echo = { name: 'everything__echo', arguments: { message: 'h' } };

  it.each([
    ['MCP-Protocol-Version missing', { 'mcp-protocol-version': undefined }, 'MCP-Protocol-Version'],
    ['Mcp-Method missing', { 'mcp-method': undefined }, 'Mcp-Method'],
    ['Mcp-Method different', { 'mcp-method': 'tools/list' }, "Mcp-Method header value 'tools/list'"],
    ['Mcp-Name missing', { 'mcp-name': undefined }, 'Mcp-Name header is required'],
    ['Mcp-Name different', { 'mcp-name': 'everything__get-env' }, "'everything__get-env' does not match"],
  ])('%s: 400 HeaderMismatch (-32020)', async (_case, headers, says) => {
    const answer = answerOf(await client.request('tools/call', echo, { headers }));
    expect(client.lastStatus).toBe(400);
    expect(answer.error.code).toBe(-32020);
    expect(answer.error.message).toContain(says);
  });

  it('a version header that contradicts the body is a mismatch (-32020) before the version is judged', async () => {
    const meta = { ...envelope(), 'io.modelcontextprotocol/protocolVersion': '2099-01-01' };
    const answer = answerOf(await client.request('tools/call', echo, { meta }));
    expect(client.lastStatus).toBe(400);
    expect(answer.error.code).toBe(-32020);
    expect(answer.error.message).toContain("MCP-Protocol-Version header value '2026-07-28'");
  });

  it('a client that hangs up before its JSON answer cancels the call', async () => {
    // No progress asked for: nothing is streamed, the answer would be one JSON body.
    const call = client.send('tools/call', {
      name: 'everything__trigger-long-running-operation',
      arguments: { duration: 60, steps: 1 },
    });
    await gatehouse.waitForStderr((line) => line.includes('"msg":"tool call decided"'));
    await call.cancel();
    await gatehouse.waitForStderr((line) => line.includes('tool call cancelled by the client'));
  });

  it('decodes a Base64 Mcp-Name before comparing it', async () => {
    const encoded = `=?base64?${Buffer.from('everything__echo').toString('base64')}?=`;
    const result = await client.call('tools/call', echo, { headers: { 'mcp-name': encoded } });
    expect(result.content[0].text).toBe('Echo: h');
  });

  it('a legacy client on the same endpoint still initializes a session', async () => {
    const response = await fetch(gatehouse.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'legacy', version: '1' },
        },
      }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBeTruthy();
    await response.body?.cancel();
  });
});

describe('HTTP: Mcp-Param headers, as the spec and the v2 SDK have them', () => {
  let gatehouse: HttpGatehouse;
  let client: ModernClient;
  beforeAll(async () => {
    const config = scratch.write(
      'annotations.json',
      gatehouseConfig({ annotated: fixtureServer('header-annotations') }),
    );
    gatehouse = await startHttpGatehouse(config);
    client = modernHttpClient(gatehouse.mcpUrl);
  });
  afterAll(async () => {
    await client?.close();
    await gatehouse?.stop();
  });

  const call = (name: string, args: Record<string, unknown>, headers: Record<string, string> = {}) =>
    client.request('tools/call', { name: `annotated__${name}`, arguments: args }, { headers });
  /** The call ran: the fixture answers with the arguments it got. */
  const ran = async (name: string, args: Record<string, unknown>, headers?: Record<string, string>) => {
    const answer = answerOf(await call(name, args, headers));
    expect(answer.error).toBeUndefined();
    expect(JSON.parse(answer.result.content[0].text)).toEqual(args);
  };
  const refused = async (name: string, args: Record<string, unknown>, headers: Record<string, string>) => {
    const answer = answerOf(await call(name, args, headers));
    expect(client.lastStatus).toBe(400);
    expect(answer.error.code).toBe(-32020);
    return answer.error.message as string;
  };

  it('lists the tools as the server wrote them, invalid declarations too: the client judges them', async () => {
    const { tools } = await client.call('tools/list', {});
    const misdeclared = tools.find((t: { name: string }) => t.name === 'annotated__misdeclared');
    expect(misdeclared.inputSchema.properties.data).toEqual({ type: 'object', 'x-mcp-header': 'Data' });
  });

  it('expects no header for an argument that has no header form, as the v2 SDK client sends none', async () => {
    await ran('tagged', { region: { zone: 'a' }, count: 2 ** 60 });
  });

  it('compares an integer numerically only in decimal', async () => {
    await ran('tagged', { region: 'eu', count: 42 }, { 'mcp-param-region': 'eu', 'mcp-param-count': '42.0' });
    const message = await refused(
      'tagged',
      { region: 'eu', count: 42 },
      { 'mcp-param-region': 'eu', 'mcp-param-count': '4.2e1' },
    );
    expect(message).toContain("Mcp-Param-Count header value '4.2e1' does not match arguments.count");
  });

  it('refuses a header for an argument the body does not carry: a gateway could route on it', async () => {
    const message = await refused('tagged', {}, { 'mcp-param-region': 'eu' });
    expect(message).toContain('Mcp-Param-Region header is sent, but arguments.region has no value');
  });

  it('requires no header for a tool whose declarations are invalid, and refuses one sent for it', async () => {
    await ran('misdeclared', { region: 'eu', data: { a: 1 } });
    await ran('badname', { value: 'x' });
    const message = await refused('misdeclared', { region: 'eu' }, { 'mcp-param-region': 'eu' });
    expect(message).toContain("the tool's x-mcp-header declarations are invalid (data: x-mcp-header is only");
  });
});

describe('stdio: a client that probes with server/discover and then initializes', () => {
  it('is served as a legacy session after the probe', async () => {
    const config = scratch.write('probe.json', gatehouseConfig({ everything: everythingStdio() }));
    const client = modernStdioClient(
      process.execPath,
      gatehouseArgs('serve', '--config', config),
      spawnEnv({}),
    );
    try {
      expect((await client.call('server/discover')).supportedVersions).toContain('2025-11-25');
      const init = await client.call(
        'initialize',
        { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'legacy', version: '1' } },
        { meta: null },
      );
      expect(init.protocolVersion).toBe('2025-11-25');
      expect(init.capabilities.tasks).toBeDefined();
      const tools = await client.call('tools/list', {}, { meta: null });
      expect(tools.resultType).toBeUndefined();
      expect(tools.tools.some((t: { name: string }) => t.name === 'everything__echo')).toBe(true);
    } finally {
      await client.close();
    }
  });
});

describe('subscriptions/listen: the per-caller limit, and a graceful end when Gatehouse stops', () => {
  it('refuses a listen past sessions.maxListensPerCaller, and answers open ones on shutdown', async () => {
    const config = scratch.write(
      'listen-limit.json',
      gatehouseConfig({ everything: everythingStdio() }, { sessions: { maxListensPerCaller: 1 } }),
    );
    const gatehouse = await startHttpGatehouse(config);
    const client = modernHttpClient(gatehouse.mcpUrl);
    try {
      const first = client.send('subscriptions/listen', { notifications: { toolsListChanged: true } });
      await eventually(() => first.received.length > 0, 'the first listen is acknowledged');
      const second = answerOf(
        await client.request('subscriptions/listen', { notifications: { toolsListChanged: true } }),
      );
      expect(second.error.code).toBe(-32600);
      expect(second.error.message).toContain('sessions.maxListensPerCaller');
      const status = await fetchStatus(gatehouse.baseUrl);
      expect(status.modern).toEqual({ listens: 1, calls: 0, waitingForInput: 0 });
      expect(formatStatus(status)).toContain('MCP 2026-07-28: 1 open subscriptions/listen');
      await gatehouse.stop();
      const frames = await first.frames;
      const end = answerOf(frames);
      expect(end.id).toBe(first.id);
      expect(end.result).toMatchObject({
        resultType: 'complete',
        _meta: { 'io.modelcontextprotocol/subscriptionId': first.id },
      });
    } finally {
      await client.close();
      await gatehouse.stop();
    }
  });
});

describe.each(['stdio', 'http'] as const)(
  'a 2026-07-28 client on %s in front of a raw legacy server',
  (front) => {
    let gatehouse: HttpGatehouse | undefined;
    let client: ModernClient;
    /** A 2025-11-25 client of the same configuration, frames as sent. */
    let legacy: RawClient;
    beforeAll(async () => {
      const config = scratch.write(`probe-${front}.json`, gatehouseConfig({ probe: fixtureServer('probe') }));
      const args = gatehouseArgs('serve', '--config', config);
      if (front === 'http') {
        gatehouse = await startHttpGatehouse(config);
        client = modernHttpClient(gatehouse.mcpUrl);
        legacy = await rawHttpClient(gatehouse.mcpUrl);
      } else {
        client = modernStdioClient(process.execPath, args, spawnEnv({}));
        legacy = await rawStdioClient(process.execPath, args, spawnEnv({}));
      }
    });
    afterAll(async () => {
      await client?.close();
      await legacy?.close();
      await gatehouse?.stop();
    });

    it('answers what a legacy client gets, item for item, every unknown field kept', async () => {
      const legacyResult = async (method: string, params: object = {}) =>
        (await legacy.request(method, params)).at(-1)!.result;
      /** A modern answer without what only the modern era adds. */
      const core = (result: Record<string, unknown>) => {
        const { resultType: _t, ttlMs: _l, cacheScope: _c, _meta, ...rest } = result;
        const { 'io.modelcontextprotocol/serverInfo': _s, ...meta } = (_meta ?? {}) as Record<
          string,
          unknown
        >;
        return Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest;
      };
      const withoutTaskSupport = (tools: Record<string, unknown>[]) =>
        tools.map(({ execution, ...tool }) => {
          const { taskSupport: _t, ...rest } = (execution ?? {}) as Record<string, unknown>;
          return Object.keys(rest).length > 0 ? { ...tool, execution: rest } : tool;
        });
      const modernTools = await client.call('tools/list');
      const legacyTools = await legacyResult('tools/list');
      expect(modernTools.tools).toEqual(withoutTaskSupport(legacyTools.tools));
      expect(JSON.stringify(modernTools.tools)).toContain('"probe":"input schema"');
      for (const [method, params] of [
        ['resources/list', {}],
        ['resources/templates/list', {}],
        ['prompts/list', {}],
        ['resources/read', { uri: 'probe://notes/1' }],
        ['tools/call', { name: 'probe__blocks', arguments: {} }],
      ] as const) {
        expect(core(await client.call(method, params)), method).toEqual(await legacyResult(method, params));
      }
    });

    it('the server gets the call without the envelope, every other field as the client sent it', async () => {
      const result = await client.call('tools/call', {
        name: 'probe__params',
        arguments: { a: 1 },
        _meta: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01' },
      });
      const received = JSON.parse(result.content[0].text as string);
      expect(received).toMatchObject({ name: 'params', arguments: { a: 1 } });
      expect(received._meta.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01');
      expect(Object.keys(received._meta).filter((k) => k.startsWith('io.modelcontextprotocol/'))).toEqual([]);
    });

    it('relays a server’s log only to a request that asked for logs, and its other notifications always', async () => {
      const quiet = await client.request('tools/call', { name: 'probe__burst', arguments: { steps: 0 } });
      expect(quiet.map((f) => f.method).filter(Boolean)).toEqual(['notifications/probe/stream']);
      const logged = await client.request('tools/call', {
        name: 'probe__burst',
        arguments: { steps: 0 },
        _meta: { 'io.modelcontextprotocol/logLevel': 'info' },
      });
      expect(logged.map((f) => f.method).filter(Boolean)).toEqual([
        'notifications/message',
        'notifications/probe/stream',
      ]);
      expect(answerOf(logged).result.content[0].text).toBe('burst done');
    });

    it('resourceSubscriptions: the server is subscribed while the listen is open, and its updates arrive tagged', async () => {
      const received = async () =>
        JSON.parse(
          (await client.call('tools/call', { name: 'probe__received', arguments: {} })).content[0].text,
        ).received;
      const before = await received();
      const listen = client.send('subscriptions/listen', {
        notifications: { resourceSubscriptions: ['probe://notes/1'] },
      });
      await eventually(() => listen.received.length > 0, 'the acknowledgement');
      expect(listen.received[0]!.params.notifications).toEqual({
        resourceSubscriptions: ['probe://notes/1'],
      });
      expect((await received())['resources/subscribe']).toBe((before['resources/subscribe'] ?? 0) + 1);
      await client.call('tools/call', { name: 'probe__touch', arguments: {} });
      await eventually(
        () => listen.received.some((f) => f.method === 'notifications/resources/updated'),
        'the update on the listen stream',
      );
      const updated = listen.received.find((f) => f.method === 'notifications/resources/updated')!;
      expect(updated.params).toEqual({
        uri: 'probe://notes/1',
        _meta: { 'io.modelcontextprotocol/subscriptionId': listen.id },
      });
      await listen.cancel();
      await eventually(
        async () =>
          (await received())['resources/unsubscribe'] === (before['resources/unsubscribe'] ?? 0) + 1,
        'the server unsubscribed once nobody listens',
      );
    });

    it('two server requests in turn take two rounds of input requests, then the result', async () => {
      const caps = { sampling: {}, elicitation: {} };
      const call = { name: 'probe__ask', arguments: {} };
      const first = await client.call('tools/call', call, { capabilities: caps });
      const [sampleKey, sample] = Object.entries(first.inputRequests as Record<string, Frame>)[0]!;
      expect(sample.method).toBe('sampling/createMessage');
      const second = await client.call(
        'tools/call',
        {
          ...call,
          requestState: first.requestState,
          inputResponses: {
            [sampleKey]: { role: 'assistant', content: { type: 'text', text: 'S' }, model: 'm' },
          },
        },
        { capabilities: caps },
      );
      expect(second.resultType).toBe('input_required');
      const [elicitKey, elicit] = Object.entries(second.inputRequests as Record<string, Frame>)[0]!;
      expect(elicit.method).toBe('elicitation/create');
      expect(elicitKey).not.toBe(sampleKey);
      const final = await client.call(
        'tools/call',
        {
          ...call,
          requestState: second.requestState,
          inputResponses: { [elicitKey]: { action: 'accept', content: { name: 'Ada' } } },
        },
        { capabilities: caps },
      );
      const said = JSON.parse(final.content[0].text as string);
      expect(said.sampled.content.text).toBe('S');
      expect(said.elicited).toMatchObject({ action: 'accept', content: { name: 'Ada' } });
    });
  },
);
