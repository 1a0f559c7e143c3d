import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdio, fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import type { TestClient } from '../helpers/client.js';
import { startEverythingHttp, type HttpDownstream } from '../helpers/downstreams.js';
import {
  connectHttp,
  fetchStatus,
  gatehouseArgs,
  openGatehouse,
  spawnEnv,
  startHttpGatehouse,
  type GatehouseUnderTest,
  TRANSPORT_MATRIX,
  type HttpGatehouse,
} from '../helpers/gatehouse.js';
import {
  headerValue,
  MODERN,
  modernHttpClient,
  modernStdioClient,
  type ModernClient,
} from '../helpers/modernClient.js';
import { fixtureArgs } from '../helpers/paths.js';
import { eventually, freePort, spawnProcess, type Spawned } from '../helpers/processes.js';
import type { Json } from '../helpers/rawClient.js';

/**
 * Gatehouse as a client of a server of the 2026-07-28 era only (the v2 SDK's McpServer behind
 * `serveStdio`/`createMcpHandler` with `legacy: 'reject'`, test/fixtures/servers/modern.ts), on
 * stdio and on HTTP, with clients of both eras on both fronts: server/discover instead of initialize,
 * the catalog, tools/call, resources/read, prompts/get, and the server's input requests (MRTR)
 * relayed to a legacy client as real requests and to a modern client as Gatehouse's own
 * InputRequiredResult. A legacy server, and a server of both eras (the v2 SDK's default), are reached
 * with initialize; a garbage discover answer after a refused initialize is refused.
 */

const scratch = scratchDir('era2026-downstream');
let modernHttp: Spawned & { url: string };
let bothErasHttp: Spawned & { url: string };
let everythingHttp: HttpDownstream;

/** The v2 SDK fixture over HTTP: modern-only, or with `--both-eras`. */
async function startModernHttp(...args: string[]): Promise<Spawned & { url: string }> {
  const port = await freePort();
  const spawned = spawnProcess(process.execPath, fixtureArgs('modern', '--http', ...args), {
    ...process.env,
    PORT: String(port),
  });
  await spawned.waitForStderr((line) => line.includes(`port ${port}`));
  return { ...spawned, url: `http://127.0.0.1:${port}/mcp` };
}

beforeAll(async () => {
  modernHttp = await startModernHttp();
  bothErasHttp = await startModernHttp('--both-eras');
  everythingHttp = await startEverythingHttp('streamableHttp');
});
afterAll(async () => {
  await modernHttp?.stop();
  await bothErasHttp?.stop();
  await everythingHttp?.stop();
  scratch.remove();
});

const modernServer = (downstream: 'stdio' | 'http') =>
  downstream === 'stdio' ? fixtureServer('modern') : { url: modernHttp.url };

const textOf = (result: unknown) =>
  ((result as { content?: { type: string; text?: string }[] }).content ?? []).map((c) => c.text).join('');

const MATRIX = TRANSPORT_MATRIX;

describe.each(MATRIX)(
  'a 2025-11-25 client on $front, a 2026-07-28 server on $downstream',
  ({ front, downstream }) => {
    let gatehouse: GatehouseUnderTest;
    let client: TestClient;

    beforeAll(async () => {
      const config = scratch.write(
        `legacy-${front}-${downstream}.json`,
        // At debug, a stdio server's stderr is in Gatehouse's log: the cancellation test reads it there.
        gatehouseConfig({ modern: modernServer(downstream) }, { log: { level: 'debug' } }),
      );
      gatehouse = await openGatehouse(front, config);
      client = await gatehouse.connect({ roots: [{ uri: 'file:///work', name: 'work' }] });
    });
    afterAll(async () => {
      await gatehouse?.stop();
    });

    it('connects with server/discover, says so, and lists the tools', async () => {
      const { tools } = await client.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(
        expect.arrayContaining(['modern__echo', 'modern__confirm', 'modern__summarise', 'modern__roots']),
      );
      await eventually(() => gatehouse.logs().includes(`"era":"${MODERN}"`), 'the era is logged');
    });

    it('leaves out a tool whose x-mcp-header declaration is invalid over HTTP, keeps it over stdio, and warns', async () => {
      const { tools } = await client.client.listTools();
      const names = tools.map((t) => t.name);
      if (downstream === 'http') expect(names).not.toContain('modern__misdeclared');
      else expect(names).toContain('modern__misdeclared');
      const call = client.client.callTool({ name: 'modern__misdeclared', arguments: { data: { a: 'x' } } });
      const outcome = await call.then(textOf, (error: unknown) => String(error));
      expect(outcome).toBe(
        downstream === 'http'
          ? 'McpError: MCP error -32602: Tool modern__misdeclared not found'
          : 'misdeclared ran',
      );
      expect(names).toContain('modern__regional');
      const warning = gatehouse
        .logs()
        .split('\n')
        .find((line) => line.includes('"tool":"misdeclared"'));
      expect(JSON.parse(warning!)).toMatchObject({
        level: 40,
        server: 'modern',
        problem: 'data: x-mcp-header is only permitted on a string, integer or boolean property, not object',
      });
    });

    it('calls a tool and gets the result in its own era: no resultType, no ttlMs', async () => {
      const result = await client.client.callTool({ name: 'modern__echo', arguments: { text: 'hi' } });
      expect(textOf(result)).toBe('modern echo: hi');
      expect(result).not.toHaveProperty('resultType');
      expect(result).not.toHaveProperty('ttlMs');
      expect(result._meta?.['io.modelcontextprotocol/serverInfo']).toBeUndefined();
    });

    it("turns the server's elicitation (MRTR) into a real request, and retries with the answer and its state", async () => {
      const before = client.serverRequests.length;
      const result = await client.client.callTool({
        name: 'modern__confirm',
        arguments: { what: 'the deploy' },
      });
      expect(client.serverRequests.slice(before)).toEqual([
        { method: 'elicitation/create', params: expect.objectContaining({ message: 'Confirm the deploy?' }) },
      ]);
      expect(textOf(result)).toBe(
        'confirmed: accept {"name":"Ada Lovelace","check":true,"integer":7} state=asked:the deploy',
      );
    });

    it('relays sampling and roots asked for the modern way', async () => {
      const summary = await client.client.callTool({
        name: 'modern__summarise',
        arguments: { text: 'long' },
      });
      expect(textOf(summary)).toBe('summary: sampled 1 message(s)');
      const roots = await client.client.callTool({ name: 'modern__roots', arguments: {} });
      expect(textOf(roots)).toBe('roots: file:///work');
    });

    it("hears the server's list changes through subscriptions/listen", async () => {
      const name = `grown_${front}_${downstream}`;
      const fromNow = client.fromNow();
      await client.client.callTool({ name: 'modern__grow', arguments: { name } });
      await client.waitForNotification('notifications/tools/list_changed', fromNow);
      await eventually(
        async () => (await client.client.listTools()).tools.some((t) => t.name === `modern__${name}`),
        `modern__${name} is listed`,
      );
    });

    it("sends the Mcp-Param headers a tool's inputSchema asks for (x-mcp-header), Base64 where a value needs it", async () => {
      // Over HTTP the v2 SDK refuses the call (-32020) without the headers, or with ones that disagree.
      const plain = await client.client.callTool({
        name: 'modern__regional',
        arguments: { region: 'eu west 1', count: 3 },
      });
      expect(textOf(plain)).toBe('region eu west 1 count 3');
      const encoded = await client.client.callTool({
        name: 'modern__regional',
        arguments: { region: ' Zürich ' },
      });
      expect(textOf(encoded)).toBe('region  Zürich ');
    });

    it("keeps the client's log level, sends it in each request's envelope, and relays the server's logs of the call", async () => {
      const tag = `logs-${front}-${downstream}`;
      const logs = () =>
        client.notifications
          .filter((n) => n.method === 'notifications/message')
          .map((n) => (n.params as { data?: unknown }).data)
          .filter((data) => typeof data === 'string' && data.endsWith(tag));
      // No level asked for: a modern server logs nothing during the request.
      await client.client.callTool({ name: 'modern__chatty', arguments: { tag } });
      expect(logs()).toEqual([]);
      await client.client.setLoggingLevel('info');
      const result = await client.client.callTool({ name: 'modern__chatty', arguments: { tag } });
      expect(textOf(result)).toBe(`chatted ${tag}`);
      // Relayed on the call's stream, ahead of its result: here when the result is.
      expect(logs()).toEqual([`info ${tag}`, `warning ${tag}`]);
      await client.client.setLoggingLevel('debug');
      await client.client.callTool({ name: 'modern__chatty', arguments: { tag } });
      expect(logs()).toEqual([
        `info ${tag}`,
        `warning ${tag}`,
        `debug ${tag}`,
        `info ${tag}`,
        `warning ${tag}`,
      ]);
    });

    it("subscribes to a resource through Gatehouse's listen, hears its updates, and stops hearing them", async () => {
      const counter = 'modern://counter';
      const updates = (c: TestClient) =>
        c.notifications.filter(
          (n) =>
            n.method === 'notifications/resources/updated' && (n.params as { uri?: string }).uri === counter,
        );
      const bump = (c: TestClient) => c.client.callTool({ name: 'modern__bump', arguments: {} });
      // A second session of the same Gatehouse (HTTP front) that does not subscribe hears nothing.
      const other = front === 'http' ? await gatehouse.connect() : undefined;
      await client.client.subscribeResource({ uri: counter });
      await bump(client);
      await client.waitForNotification('notifications/resources/updated', (n) => updates(client).includes(n));
      const update = updates(client)[0]!;
      expect(update.params).toEqual({ uri: counter });
      const read = await client.client.readResource({ uri: counter });
      expect(Number((read.contents[0] as { text: string }).text)).toBeGreaterThan(0);
      await client.client.unsubscribeResource({ uri: counter });
      await bump(client);
      // Subscribed again: the next update is heard; the one in between, sent to nobody, came before it.
      await client.client.subscribeResource({ uri: counter });
      await bump(client);
      await eventually(() => updates(client).length >= 2, 'the update after subscribing again');
      expect(updates(client)).toHaveLength(2);
      if (other) {
        await other.client.subscribeResource({ uri: counter });
        await bump(other);
        await eventually(() => updates(other).length >= 1, "the other session's own update");
        // Written to that session in order: an update of the earlier bumps would have come first.
        expect(updates(other)).toHaveLength(1);
        await eventually(() => updates(client).length >= 3, 'both subscribed sessions hear it');
        await other.client.unsubscribeResource({ uri: counter });
      }
      await client.client.unsubscribeResource({ uri: counter });
    });

    it('completes a prompt argument', async () => {
      const completed = await client.client.complete({
        ref: { type: 'ref/prompt', name: 'modern__greet' },
        argument: { name: 'name', value: 'A' },
      });
      expect(completed.completion.values).toEqual(['Ada', 'Alan']);
    });

    it('cancels a call the client withdraws: the server hears it (stdio: notifications/cancelled; HTTP: its stream closed)', async () => {
      const tag = `${front}-${downstream}`;
      const serverSaid = () => (downstream === 'http' ? modernHttp.stderr() : gatehouse.logs());
      const controller = new AbortController();
      const call = client.client.callTool({ name: 'modern__slow', arguments: { tag } }, undefined, {
        signal: controller.signal,
      });
      call.catch(() => undefined);
      await eventually(() => serverSaid().includes(`slow ${tag} started`), 'the slow call started');
      controller.abort('changed my mind');
      await expect(call).rejects.toThrow();
      await eventually(
        () => serverSaid().includes(`slow ${tag} cancelled`),
        'the server heard the cancellation',
      );
      const after = await client.client.callTool({ name: 'modern__echo', arguments: { text: 'still here' } });
      expect(textOf(after)).toBe('modern echo: still here');
    });

    it('reads a resource and gets a prompt', async () => {
      const read = await client.client.readResource({ uri: 'modern://readme' });
      expect(read.contents).toEqual([{ uri: 'modern://readme', text: 'a modern resource' }]);
      expect(read).not.toHaveProperty('resultType');
      const prompt = await client.client.getPrompt({ name: 'modern__greet', arguments: { name: 'Ada' } });
      expect(prompt.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Hello, Ada' } }]);
    });
  },
);

describe.each(MATRIX)(
  'a 2026-07-28 client on $front, a 2026-07-28 server on $downstream',
  ({ front, downstream }) => {
    let gatehouse: HttpGatehouse | undefined;
    let client: ModernClient;

    beforeAll(async () => {
      const config = scratch.write(
        `modern-${front}-${downstream}.json`,
        gatehouseConfig({ modern: modernServer(downstream) }),
      );
      if (front === 'http') {
        gatehouse = await startHttpGatehouse(config);
        client = modernHttpClient(gatehouse.mcpUrl);
      } else {
        client = modernStdioClient(
          process.execPath,
          gatehouseArgs('serve', '--config', config),
          spawnEnv({}),
        );
      }
    });
    afterAll(async () => {
      await client?.close();
      await gatehouse?.stop();
    });

    const capabilities = { elicitation: { form: {} }, sampling: {} };

    it('lists and calls in its own era', async () => {
      const listed = (await client.call('tools/list', {})) as {
        tools: { name: string }[];
        resultType: string;
      };
      expect(listed.resultType).toBe('complete');
      expect(listed.tools.map((t) => t.name)).toContain('modern__echo');
      const result = (await client.call('tools/call', {
        name: 'modern__echo',
        arguments: { text: 'hi' },
      })) as Json;
      expect(result.resultType).toBe('complete');
      expect(textOf(result)).toBe('modern echo: hi');
    });

    it('carries the Mcp-Param headers on both hops: checked from the client, sent to the server', async () => {
      const result = (await client.call(
        'tools/call',
        { name: 'modern__regional', arguments: { region: 'Zürich', count: 2 } },
        front === 'http'
          ? { headers: { 'mcp-param-region': headerValue('Zürich'), 'mcp-param-count': '2' } }
          : {},
      )) as Json;
      expect(textOf(result)).toBe('region Zürich count 2');
    });

    it("passes its request's log level on to the server, and the server's logs of the call back", async () => {
      const tag = `modern-logs-${front}-${downstream}`;
      const frames = await client.request('tools/call', {
        name: 'modern__chatty',
        arguments: { tag },
        _meta: { 'io.modelcontextprotocol/logLevel': 'warning' },
      });
      expect(frames.filter((f) => f.method === 'notifications/message').map((f) => f.params?.data)).toEqual([
        `warning ${tag}`,
      ]);
      expect(textOf(frames.at(-1)!.result)).toBe(`chatted ${tag}`);
    });

    it("listens for a modern server's resource through Gatehouse: its listen carries the subscription", async () => {
      const counter = 'modern://counter';
      const listen = client.send('subscriptions/listen', {
        notifications: { resourceSubscriptions: [counter] },
      });
      await eventually(() => listen.received.length > 0, 'the acknowledgement');
      expect(listen.received[0]!.params.notifications).toEqual({ resourceSubscriptions: [counter] });
      await client.call('tools/call', { name: 'modern__bump', arguments: {} });
      await eventually(
        () => listen.received.some((f) => f.method === 'notifications/resources/updated'),
        'the update on the listen stream',
      );
      const update = listen.received.find((f) => f.method === 'notifications/resources/updated')!;
      expect(update.params).toEqual({
        uri: counter,
        _meta: { 'io.modelcontextprotocol/subscriptionId': listen.id },
      });
      await listen.cancel();
    });

    it("answers the server's input request with an InputRequiredResult of Gatehouse's own, then the result", async () => {
      const params = { name: 'modern__confirm', arguments: { what: 'it' } };
      const first = (await client.call('tools/call', params, { capabilities })) as {
        resultType: string;
        inputRequests: Record<string, { method: string; params: { message: string } }>;
        requestState: string;
      };
      expect(first.resultType).toBe('input_required');
      const [key, request] = Object.entries(first.inputRequests)[0]!;
      expect(request).toMatchObject({ method: 'elicitation/create', params: { message: 'Confirm it?' } });
      // Gatehouse's sealed state, never the server's own.
      expect(first.requestState).not.toContain('asked:');
      const done = (await client.call(
        'tools/call',
        {
          ...params,
          inputResponses: { [key!]: { action: 'accept', content: { ok: true } } },
          requestState: first.requestState,
        },
        { capabilities },
      )) as Json;
      expect(done.resultType).toBe('complete');
      expect(textOf(done)).toBe('confirmed: accept {"ok":true} state=asked:it');
    });

    it("refuses the server's own state, or Gatehouse's state of another call, from a client", async () => {
      const retry = (what: string, requestState: string) =>
        client.request(
          'tools/call',
          {
            name: 'modern__confirm',
            arguments: { what },
            inputResponses: { confirm: { action: 'accept', content: { ok: true } } },
            requestState,
          },
          { capabilities },
        );
      const smuggled = (await retry('it', 'asked:it')).at(-1)!;
      expect(smuggled.error).toMatchObject({
        code: -32602,
        message: expect.stringContaining('not one Gatehouse issued'),
      });
      const first = (await client.call(
        'tools/call',
        { name: 'modern__confirm', arguments: { what: 'one thing' } },
        { capabilities },
      )) as { requestState: string };
      const replayed = (await retry('another thing', first.requestState)).at(-1)!;
      expect(replayed.error).toMatchObject({
        code: -32602,
        message: expect.stringContaining('issued for another request'),
      });
    });
  },
);

describe('servers of the older era and broken ones', () => {
  let gatehouse: HttpGatehouse;

  beforeAll(async () => {
    const config = scratch.write(
      'mixed.json',
      gatehouseConfig({
        everything: everythingStdio(),
        everythingHttp: { url: everythingHttp.url },
        both: fixtureServer('modern', {}, '--both-eras'),
        bothHttp: { url: bothErasHttp.url },
        garbage: fixtureServer('garbage-discover'),
      }),
    );
    gatehouse = await startHttpGatehouse(config);
  });
  afterAll(async () => {
    await gatehouse?.stop();
  });

  const serverStatus = async (name: string) =>
    (await fetchStatus(gatehouse.baseUrl)).servers.find((s) => s.name === name);

  /** The servers are ready, and were reached with initialize (the 2025-11-25 era). */
  async function initialized(...servers: string[]): Promise<void> {
    for (const server of servers) {
      await eventually(async () => (await serverStatus(server))?.state === 'ready', `${server} is ready`);
      expect(gatehouse.stderr()).toMatch(new RegExp(`"server":"${server}".*"era":"legacy \\(initialize\\)"`));
    }
  }

  it('falls back to initialize for a 2025-11-25 server on stdio and on HTTP', async () => {
    await initialized('everything', 'everythingHttp');
  });

  it('reaches a server of both eras with initialize, in the era relayed in full, on stdio and on HTTP', async () => {
    await initialized('both', 'bothHttp');
    const client = await connectHttp(gatehouse.mcpUrl);
    try {
      for (const server of ['both', 'bothHttp']) {
        const result = await client.client.callTool({ name: `${server}__echo`, arguments: { text: 'hi' } });
        expect(textOf(result)).toBe('modern echo: hi');
        const completed = await client.client.complete({
          ref: { type: 'ref/prompt', name: `${server}__greet` },
          argument: { name: 'name', value: 'A' },
        });
        expect(completed.completion.values).toEqual(['Ada', 'Alan']);
      }
    } finally {
      await client.close();
    }
  });

  it('keeps the tool with an invalid x-mcp-header of a server reached in the 2025-11-25 era, and warns', async () => {
    await initialized('both', 'bothHttp');
    const client = await connectHttp(gatehouse.mcpUrl);
    try {
      const names = (await client.client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['both__misdeclared', 'bothHttp__misdeclared']));
    } finally {
      await client.close();
    }
    for (const server of ['both', 'bothHttp']) {
      const warning = gatehouse
        .stderr()
        .split('\n')
        .find((line) => line.includes(`"server":"${server}"`) && line.includes('"tool":"misdeclared"'));
      expect(JSON.parse(warning!)).toMatchObject({
        level: 40,
        msg: expect.stringContaining('2025-11-25 era'),
      });
    }
  });

  it('refuses a server that refuses initialize and answers server/discover with garbage, and says why', async () => {
    await eventually(
      async () => (await serverStatus('garbage'))?.lastError !== undefined,
      'the garbage server has failed',
    );
    const garbage = await serverStatus('garbage');
    expect(garbage?.state).not.toBe('ready');
    expect(garbage?.lastError).toMatch(
      /refused initialize \(Method not found\) and answered server\/discover with something that is not a 2026-07-28 DiscoverResult \(supportedVersions: .*\)/,
    );
  });
});
