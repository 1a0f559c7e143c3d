import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Notification, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import { asExposed, fromServer, normalize, resultText as text, settle } from '../helpers/compare.js';
import {
  everythingStdio,
  filesystemStdio,
  fixtureServer,
  gatehouseConfig,
  scratchDir,
} from '../helpers/config.js';
import { connectDirect, startEverythingHttp, type HttpDownstream } from '../helpers/downstreams.js';
import {
  openGatehouse,
  TRANSPORT_MATRIX,
  type Front,
  type GatehouseUnderTest,
} from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';

/**
 * For every feature of the MCP surface, the answer through Gatehouse equals the answer of the same
 * request made directly to the same server, over both client transports and both downstream transports.
 * One Gatehouse per matrix cell, shared by the cell's tests.
 */

const scratch = scratchDir('transparency');
/** The filesystem server is started on `served`; the client's roots add `extra`. */
const served = path.join(scratch.dir, 'served');
const extra = path.join(scratch.dir, 'extra');
const ROOTS = [
  { uri: pathToFileURL(served).href, name: 'served' },
  { uri: pathToFileURL(extra).href, name: 'extra' },
];

const EVERYTHING = 'everything__';

let everythingHttp: HttpDownstream;
beforeAll(async () => {
  mkdirSync(served);
  mkdirSync(extra);
  writeFileSync(path.join(served, 'hello.txt'), 'hello from the served folder\n');
  everythingHttp = await startEverythingHttp('streamableHttp');
});
afterAll(async () => {
  await everythingHttp?.stop();
  scratch.remove();
});

/**
 * The last server request of one method a client received. A server may also ask for roots around
 * the same time, in either order, so "the last request" alone would compare different things.
 */
const lastOf = (client: TestClient, method: string) =>
  client.serverRequests.filter((r) => r.method === method).at(-1);

describe.each(TRANSPORT_MATRIX)(
  'through Gatehouse ($front client, $downstream downstream) equals direct',
  ({ front, downstream }) => {
    let gatehouse: GatehouseUnderTest;
    let via: TestClient;
    const direct: Record<'everything' | 'fs' | 'rich', TestClient> = {} as never;

    beforeAll(async () => {
      const everything = downstream === 'stdio' ? everythingStdio() : { url: everythingHttp.url };
      const config = scratch.write(
        `${front}-${downstream}.json`,
        gatehouseConfig({ everything, fs: filesystemStdio(served), rich: fixtureServer('rich-results') }),
      );
      [gatehouse, direct.everything, direct.fs, direct.rich] = await Promise.all([
        openGatehouse(front as Front, config),
        connectDirect(everything, { roots: ROOTS }),
        connectDirect(filesystemStdio(served), { roots: ROOTS }),
        connectDirect(fixtureServer('rich-results')),
      ]);
      via = await gatehouse.connect({ roots: ROOTS });
    });
    afterAll(async () => {
      await Promise.allSettled([gatehouse?.stop(), ...Object.values(direct).map((c) => c.close())]);
    });

    /** The same request through Gatehouse and directly to `server`; `p` is the prefix names take on each path. */
    const askBoth = <T>(
      ask: (c: TestClient, p: string) => Promise<T>,
      server: keyof typeof direct = 'everything',
    ) => Promise.all([ask(via, `${server}__`), ask(direct[server], '')]);

    const callBoth = (server: keyof typeof direct, name: string, args: Record<string, unknown> = {}) =>
      askBoth((c, p) => settle(c.client.callTool({ name: p + name, arguments: args })), server);

    it('advertises the union of what the downstream servers offer', () => {
      const offered = direct.everything.client.getServerCapabilities()!;
      const advertised = via.client.getServerCapabilities()!;
      for (const key of ['tools', 'resources', 'prompts', 'completions', 'logging'] as const) {
        expect(offered[key], key).toBeDefined();
        expect(advertised[key], key).toBeDefined();
      }
      expect(advertised.resources?.subscribe).toBe(true);
    });

    it('tools/list: every tool, prefixed, otherwise unchanged', async () => {
      const { tools } = await via.client.listTools();
      for (const server of ['everything', 'fs', 'rich'] as const) {
        const own = (await direct[server].client.listTools()).tools;
        expect(own.length).toBeGreaterThan(0);
        expect(fromServer(tools, `${server}__`)).toEqual(asExposed(own, `${server}__`));
      }
      expect(tools).toHaveLength(new Set(tools.map((t) => t.name)).size);
    });

    it.each([
      ['echo', { message: 'hello through the gate' }],
      ['get-sum', { a: 2, b: 40 }],
      ['get-structured-content', { location: 'New York' }],
      ['get-annotated-message', { messageType: 'error', includeImage: true }],
      ['get-tiny-image', {}],
      ['get-resource-links', { count: 3 }],
      ['get-resource-reference', { resourceType: 'Blob', resourceId: 2 }],
      ['echo', { message: 42 }],
      [
        'trigger-url-elicitation',
        { url: 'https://example.com/authorize', elicitationId: 'e-1', errorPath: true },
      ],
    ])('tools/call everything %s %j: result or error unchanged', async (name, args) => {
      const [through, reference] = await callBoth('everything', name, args);
      expect(normalize(through)).toEqual(normalize(reference));
    });

    it.each([
      ['report', { topic: 'tides' }],
      ['fail', {}],
    ])('tools/call %s keeps content, structuredContent, isError and _meta', async (name, args) => {
      const [through, reference] = await callBoth('rich', name, args);
      expect(through).toEqual(reference);
      expect('result' in through && through.result._meta).toBeTruthy();
    });

    it('tools/call on the filesystem server', async () => {
      for (const [name, args] of [
        ['read_text_file', { path: path.join(served, 'hello.txt') }],
        ['list_directory', { path: served }],
      ] as const) {
        const [through, reference] = await callBoth('fs', name, args);
        expect(through, name).toEqual(reference);
      }
    });

    it('resources/list, resources/read and resources/templates/list', async () => {
      const [{ resources }, own] = await askBoth((c) => c.client.listResources());
      expect(own.resources.length).toBeGreaterThan(0);
      const demo = resources.filter((r) => r.uri.startsWith('demo://'));
      expect(demo).toEqual(own.resources.filter((r) => r.uri.startsWith('demo://')));

      for (const uri of [
        own.resources[0]!.uri,
        'demo://resource/dynamic/text/3',
        'demo://resource/dynamic/blob/4',
        'demo://resource/nothing/here',
      ]) {
        const [through, reference] = await askBoth((c) => settle(c.client.readResource({ uri })));
        expect(normalize(through), uri).toEqual(normalize(reference));
      }

      const [templates, ownTemplates] = await askBoth((c) => c.client.listResourceTemplates());
      expect(ownTemplates.resourceTemplates.length).toBeGreaterThan(0);
      // Template names are not valid tool names ("Dynamic Text Resource"): they get the stable hashed form.
      expect(fromServer(templates.resourceTemplates, EVERYTHING)).toEqual(
        asExposed(ownTemplates.resourceTemplates, EVERYTHING),
      );
    });

    it('prompts/list and prompts/get', async () => {
      const [{ prompts }, own] = await askBoth((c) => c.client.listPrompts());
      expect(own.prompts.length).toBeGreaterThan(0);
      expect(fromServer(prompts, EVERYTHING)).toEqual(asExposed(own.prompts, EVERYTHING));

      for (const [name, args] of [
        ['simple-prompt', {}],
        ['args-prompt', { city: 'Lisbon', state: 'Estremadura' }],
        ['resource-prompt', { resourceType: 'Text', resourceId: '2' }],
        ['args-prompt', {}],
      ] as const) {
        const [through, reference] = await askBoth((c, p) =>
          settle(c.client.getPrompt({ name: p + name, arguments: args })),
        );
        expect(normalize(through), name).toEqual(normalize(reference));
      }
    });

    it('completion/complete for a prompt argument and a resource template', async () => {
      const prompt = { name: 'completable-prompt' };
      const template = { uri: 'demo://resource/dynamic/text/{resourceId}' };
      for (const [ref, argument, context] of [
        [prompt, { name: 'department', value: 'S' }, undefined],
        [prompt, { name: 'name', value: '' }, { arguments: { department: 'Engineering' } }],
        [template, { name: 'resourceId', value: '7' }, undefined],
      ] as const) {
        const [through, reference] = await askBoth((c, p) =>
          c.client.complete({
            ref:
              'name' in ref
                ? { type: 'ref/prompt', name: p + ref.name }
                : { type: 'ref/resource', uri: ref.uri },
            argument,
            ...(context ? { context } : {}),
          }),
        );
        expect(reference.completion.values.length).toBeGreaterThan(0);
        expect(through).toEqual(reference);
      }
    });

    it('logging/setLevel and log notifications', async () => {
      const uri = 'demo://resource/dynamic/text/11';
      const isAck = (n: Notification) => String((n.params as { data?: unknown }).data).includes(uri);
      for (const c of [via, direct.everything]) {
        await c.client.setLoggingLevel('debug');
        await c.client.subscribeResource({ uri });
      }
      const [through, reference] = await askBoth((c) =>
        c.waitForNotification('notifications/message', isAck),
      );
      expect(normalize(through)).toEqual(normalize(reference));

      // Above the threshold nothing is relayed: the acknowledgement of the next subscription is an info log.
      const quiet = 'demo://resource/dynamic/text/12';
      await via.client.setLoggingLevel('error');
      await via.client.subscribeResource({ uri: quiet });
      await via.client.ping();
      expect(
        via.notifications.filter((n) => String((n.params as { data?: unknown }).data).includes(quiet)),
      ).toEqual([]);
      await via.client.setLoggingLevel('debug');
    });

    it('resources/subscribe delivers update notifications', async () => {
      const uri = 'demo://resource/dynamic/text/21';
      const updated = (n: Notification) => (n.params as { uri?: string }).uri === uri;
      for (const c of [via, direct.everything]) await c.client.subscribeResource({ uri });
      // The toggle starts an interval that notifies every subscribed URI at once, then every 5 s.
      const [started] = await callBoth('everything', 'toggle-subscriber-updates');
      expect(started).toHaveProperty('result');
      const [through, reference] = await askBoth((c) =>
        c.waitForNotification('notifications/resources/updated', updated),
      );
      expect(through).toEqual(reference);
      await callBoth('everything', 'toggle-subscriber-updates');
      for (const c of [via, direct.everything]) await c.client.unsubscribeResource({ uri });
    });

    it('progress notifications reach the caller with its token', async () => {
      const run = async (c: TestClient, name: string) => {
        const progress: Progress[] = [];
        const result = await c.client.callTool({ name, arguments: { duration: 0.9, steps: 3 } }, undefined, {
          onprogress: (p) => progress.push(p),
        });
        return { result, progress };
      };
      const [through, reference] = await askBoth((c, p) => run(c, `${p}trigger-long-running-operation`));
      expect(through.result).toEqual(reference.result);
      // The SDK client drops a progress notification that arrives in the same read as the response, so
      // the last step may be missing; and server-everything's HTTP event store replays a session's
      // events, so a step may arrive twice. Both happen alike on either path.
      for (const { progress } of [through, reference]) {
        const steps = [...new Set(progress.map((p) => JSON.stringify(p)))].map(
          (p) => JSON.parse(p) as Progress,
        );
        expect(steps.slice(0, 2)).toEqual([
          { progress: 1, total: 3 },
          { progress: 2, total: 3 },
        ]);
        expect(steps.length).toBeLessThanOrEqual(3);
      }
    });

    it('ping', async () => {
      const [through, reference] = await askBoth((c) => c.client.ping());
      expect(through).toEqual(reference);
    });

    it('cancellation: an aborted call rejects like a direct one, and Gatehouse keeps serving', async () => {
      const abortAfterFirstProgress = async (c: TestClient, name: string) => {
        const controller = new AbortController();
        const call = c.client.callTool({ name, arguments: { duration: 30, steps: 30 } }, undefined, {
          signal: controller.signal,
          onprogress: () => controller.abort('the user pressed stop'),
        });
        return settle(call);
      };
      const [through, reference] = await askBoth((c, p) =>
        abortAfterFirstProgress(c, `${p}trigger-long-running-operation`),
      );
      expect(reference).toHaveProperty('error');
      expect(through).toEqual(reference);
      const [after] = await callBoth('everything', 'echo', { message: 'still here' });
      expect(after).toEqual({ result: { content: [{ type: 'text', text: 'Echo: still here' }] } });
    });

    it('list_changed: a server that adds a resource tells the client', async () => {
      // server-everything keeps session resources in one table per process, keyed by URI: the two
      // sessions need two names, or the second registration removes the first.
      const name = (p: string) => `note-${p ? 'via' : 'direct'}-${front}-${downstream}.gz`;
      const data = 'data:text/plain;base64,aGVsbG8gd29ybGQ=';
      const [through, reference] = await askBoth(async (c, p) => {
        const fresh = c.fromNow();
        const result = await c.client.callTool({
          name: `${p}gzip-file-as-resource`,
          arguments: { name: name(p), data },
        });
        await c.waitForNotification('notifications/resources/list_changed', fresh);
        const { resources } = await c.client.listResources();
        return { result, listed: resources.some((r) => r.uri === `demo://resource/session/${name(p)}`) };
      });
      expect(reference.listed).toBe(true);
      expect(JSON.stringify(through)).toEqual(
        JSON.stringify(reference).replaceAll(name(''), name(EVERYTHING)),
      );
    });

    it('sampling/createMessage is routed to the calling client', async () => {
      const [through, reference] = await callBoth('everything', 'trigger-sampling-request', {
        prompt: 'Say hello',
        maxTokens: 20,
      });
      expect(text('result' in reference && reference.result)).toContain('test-model');
      expect(through).toEqual(reference);
      expect(lastOf(via, 'sampling/createMessage')).toEqual(
        lastOf(direct.everything, 'sampling/createMessage'),
      );
    });

    it('elicitation/create (form and URL mode) is routed to the calling client', async () => {
      for (const [name, args] of [
        ['trigger-elicitation-request', {}],
        ['trigger-url-elicitation', { url: 'https://example.com/consent', elicitationId: 'e-2' }],
      ] as const) {
        const [through, reference] = await callBoth('everything', name, args);
        expect(text('result' in reference && reference.result), name).toContain('✅');
        expect(through, name).toEqual(reference);
        expect(lastOf(via, 'elicitation/create'), name).toEqual(
          lastOf(direct.everything, 'elicitation/create'),
        );
      }
    });

    it("roots/list: servers see the calling client's roots", async () => {
      const [through, reference] = await callBoth('everything', 'get-roots-list');
      expect(text('result' in reference && reference.result)).toContain(ROOTS[1]!.uri);
      expect(through).toEqual(reference);

      // The filesystem server replaces its allowed folders with the client's roots when it learns them.
      const [allowed, allowedDirect] = await askBoth(async (c, p) => {
        const list = async () => text(await c.client.callTool({ name: `${p}list_allowed_directories` }));
        await eventually(
          async () => (await list()).includes(extra),
          `the fs server (${p || 'direct'}) has the roots`,
        );
        return list();
      }, 'fs');
      expect(allowed).toEqual(allowedDirect);
      const [outside, outsideDirect] = await callBoth('fs', 'read_text_file', { path: '/etc/hostname' });
      expect(outside).toEqual(outsideDirect);
    });

    it('a client without sampling or elicitation gets the proper MCP error, as directly', async () => {
      // A client that declares the capabilities but has no handlers: the SDK answers -32601 itself.
      const [declared, declaredDirect, lacking] = await Promise.all([
        gatehouse.connect({ capabilities: 'declared', name: 'no-handlers' }),
        connectDirect(downstream === 'stdio' ? everythingStdio() : { url: everythingHttp.url }, {
          capabilities: 'declared',
        }),
        gatehouse.connect({ capabilities: 'none', name: 'no-capabilities' }),
      ]);
      try {
        for (const [name, args] of [
          ['trigger-sampling-request', { prompt: 'hi' }],
          ['trigger-elicitation-request', {}],
        ] as const) {
          const call = (c: TestClient, p: string) => c.client.callTool({ name: p + name, arguments: args });
          const reference = await call(declaredDirect, '');
          expect(reference).toMatchObject({ isError: true });
          expect(text(reference)).toMatch(/^MCP error -32601: Method not found$/);
          // The client's own error reaches the server unchanged.
          expect(await call(declared, EVERYTHING)).toEqual(reference);
          // Without the capability Gatehouse answers for the client, with the same code and the reason.
          const refused = await call(lacking, EVERYTHING);
          expect(refused).toMatchObject({ isError: true });
          expect(text(refused)).toMatch(
            /^MCP error -32601: Method not found: the client does not support \w+/,
          );
        }
      } finally {
        await Promise.allSettled([declared, declaredDirect, lacking].map((c) => c.close()));
      }
    });
  },
);
