import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asExposed, fromServer } from '../helpers/compare.js';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import {
  gatehouseArgs,
  spawnEnv,
  startHttpGatehouse,
  TRANSPORT_MATRIX,
  type HttpGatehouse,
} from '../helpers/gatehouse.js';
import { fixtureArgs } from '../helpers/paths.js';
import { eventually, spawnProcess, type Spawned } from '../helpers/processes.js';
import {
  rawHttpClient,
  rawStdioClient,
  type Frame,
  type Json,
  type RawClient,
} from '../helpers/rawClient.js';

/**
 * Frame by frame, what a client receives from a server nobody here wrote (the probe fixture: fields no
 * schema knows everywhere, bursts of progress, custom notifications) directly and through Gatehouse,
 * seen by a raw JSON-RPC client that parses nothing away. On stdio and HTTP fronts, with stdio and HTTP
 * downstreams. The only differences allowed are the ones Gatehouse documents: prefixed names, the ids of
 * the requests it sends the client itself, its own capabilities and tools.
 */

const PREFIX = 'probe__';
const scratch = scratchDir('frames');
const processes: Spawned[] = [];

afterAll(async () => {
  await Promise.allSettled(processes.map((p) => p.stop()));
  scratch.remove();
});

/** The probe over Streamable HTTP, one process per use: it counts what it receives. */
async function probeOverHttp(): Promise<string> {
  const spawned = spawnProcess(process.execPath, fixtureArgs('probe', '--http'));
  processes.push(spawned);
  const line = await spawned.waitForStderr((l) => l.startsWith('listening on '));
  return line.slice('listening on '.length).trim();
}

/** Gatehouse numbers the requests it sends the client itself (sampling, elicitation): ids differ. */
const serverRequestIds = (frames: Frame[]) =>
  frames.map((f) => (f.method !== undefined && f.id !== undefined ? { ...f, id: '<server request>' } : f));

/** The params of a request as sent to Gatehouse: the names it exposes carry the server's prefix. */
function exposed(method: string, params: Record<string, Json>): Record<string, Json> {
  if (method === 'tools/call' || method === 'prompts/get') return { ...params, name: PREFIX + params.name };
  if (method === 'completion/complete' && params.ref.type === 'ref/prompt')
    return { ...params, ref: { ...params.ref, name: PREFIX + params.ref.name } };
  return params;
}

const resultText = (frames: Frame[]) => frames.at(-1)!.result.content[0].text as string;

describe.each(TRANSPORT_MATRIX)(
  '$front client, $downstream downstream: the frames through Gatehouse are the frames of the server',
  ({ front, downstream }) => {
    let via: RawClient;
    let direct: RawClient;
    let gatehouse: HttpGatehouse | undefined;
    const logs = () => (gatehouse ? gatehouse.stderr() : via.stderr());

    beforeAll(async () => {
      const probe = downstream === 'stdio' ? fixtureServer('probe') : { url: await probeOverHttp() };
      const config = scratch.write(`${front}-${downstream}.json`, gatehouseConfig({ probe }));
      if (front === 'stdio') {
        [via, direct] = await Promise.all([
          rawStdioClient(process.execPath, gatehouseArgs('serve', '--config', config), spawnEnv({})),
          rawStdioClient(process.execPath, fixtureArgs('probe')),
        ]);
      } else {
        gatehouse = await startHttpGatehouse(config);
        processes.push(gatehouse);
        [via, direct] = await Promise.all([
          rawHttpClient(gatehouse.mcpUrl),
          probeOverHttp().then(rawHttpClient),
        ]);
      }
    });
    afterAll(async () => {
      await Promise.allSettled([via?.close(), direct?.close()]);
    });

    let asked = 0;
    /** The same request, with the same id, through Gatehouse and directly. */
    const both = (method: string, params: Record<string, Json> = {}) => {
      const id = `both-${++asked}`;
      return Promise.all([
        via.request(method, exposed(method, params), id),
        direct.request(method, params, id),
      ]);
    };

    it('initialize: capabilities and capability fields no schema knows reach the client', () => {
      const own = direct.initializeResult.capabilities;
      const advertised = via.initializeResult.capabilities;
      expect(own['probe/capability']).toBeDefined();
      expect(advertised['probe/capability']).toEqual(own['probe/capability']);
      expect(advertised.experimental).toEqual(own.experimental);
      for (const key of ['tools', 'prompts', 'resources', 'completions', 'logging'])
        expect(advertised[key], key).toMatchObject(own[key]);
    });

    it('tools/list: every tool with every field, only the name prefixed', async () => {
      const [through, reference] = await both('tools/list');
      expect(through).toHaveLength(1);
      const own = reference[0]!.result.tools;
      expect(own[0].annotations.category).toBe('probe');
      expect(fromServer(through[0]!.result.tools, PREFIX)).toEqual(asExposed(own, PREFIX));
    });

    it('prompts/list, resources/list and resources/templates/list: every field, names prefixed', async () => {
      for (const [method, key] of [
        ['prompts/list', 'prompts'],
        ['resources/templates/list', 'resourceTemplates'],
      ] as const) {
        const [through, reference] = await both(method);
        const own = reference.at(-1)!.result[key];
        expect(own[0].probe, method).toBeDefined();
        expect(fromServer(through.at(-1)!.result[key], PREFIX), method).toEqual(asExposed(own, PREFIX));
      }
      const [through, reference] = await both('resources/list');
      expect(through).toEqual(reference);
    });

    it.each([
      ['tools/call', { name: 'blocks', arguments: {} }],
      ['tools/call', { name: 'burst', arguments: { steps: 3 }, _meta: { progressToken: 'one-by-one' } }],
      [
        'tools/call',
        { name: 'burst', arguments: { steps: 3, oneWrite: true }, _meta: { progressToken: 'at-once' } },
      ],
      ['tools/call', { name: 'ask', arguments: {} }],
      ['prompts/get', { name: 'greet', arguments: { tone: 'warm' }, probe: 'get params' }],
      ['resources/read', { uri: 'probe://notes/1', probe: 'read params' }],
      [
        'completion/complete',
        { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'tone', value: 'w' } },
      ],
      ['resources/subscribe', { uri: 'probe://notes/1' }],
      ['resources/unsubscribe', { uri: 'probe://notes/1' }],
    ])('%s %j: the same frames in the same order', async (method, params) => {
      const [through, reference] = await both(method, params);
      expect(serverRequestIds(through)).toEqual(serverRequestIds(reference));
    });

    it('tools/call params reach the server as the client sent them, but for the name', async () => {
      const params = {
        name: 'params',
        arguments: { a: [1, { b: null }] },
        probe: 'call params',
        _meta: { m: 1 },
      };
      const [through, reference] = await both('tools/call', params);
      // Byte for byte, key order included, on both fronts.
      expect(resultText(through)).toBe(resultText(reference));
      expect(JSON.parse(resultText(reference))).toEqual(params);
    });

    it('30 calls with 3 progress notifications each, half of them written with their result at once: all 90 arrive, each before its result', async () => {
      const calls = Array.from({ length: 30 }, (_, i) => ({
        name: 'burst',
        arguments: { steps: 3, oneWrite: i % 2 === 0 },
        _meta: { progressToken: `burst-${i}` },
      }));
      const run = (client: RawClient, prefix: string) =>
        Promise.all(
          calls.map((c, i) => client.request('tools/call', { ...c, name: prefix + c.name }, `burst-${i}`)),
        );
      const [through, reference] = await Promise.all([run(via, PREFIX), run(direct, '')]);
      const beforeResult = (answers: Frame[][]) =>
        answers.map(
          (frames, i) =>
            frames.filter(
              (f) => f.method === 'notifications/progress' && f.params.progressToken === `burst-${i}`,
            ).length,
        );
      expect(beforeResult(reference)).toEqual(calls.map(() => 3));
      expect(beforeResult(through)).toEqual(calls.map(() => 3));
    });

    it('tools/list_changed from the server becomes one tools/list_changed, and nothing is re-subscribed', async () => {
      const uri = 'probe://notes/1';
      await via.request('resources/subscribe', { uri });
      const received = async () =>
        JSON.parse(resultText(await via.request('tools/call', { name: `${PREFIX}received` })));
      const subscribed = (await received()).received['resources/subscribe'];

      const seen = via.allFrames.length;
      await via.request('tools/call', { name: `${PREFIX}change-tools` });
      const since = () => via.allFrames.slice(seen);
      await eventually(
        () => since().some((f) => f.method === 'notifications/tools/list_changed'),
        'tools/list_changed',
      );
      // The update goes out after anything Gatehouse sends about the tools change, on the same stream.
      await via.request('tools/call', { name: `${PREFIX}touch` });
      await eventually(
        () => since().some((f) => f.method === 'notifications/resources/updated'),
        'resources/updated',
      );

      const listChanged = since()
        .filter((f) => f.method?.endsWith('/list_changed'))
        .map((f) => f.method);
      expect(listChanged).toEqual(['notifications/tools/list_changed']);
      expect((await received()).received['resources/subscribe']).toBe(subscribed);
      await via.request('resources/unsubscribe', { uri });
    });

    it('a call the client cancels: the server hears notifications/cancelled, Gatehouse logs a cancellation', async () => {
      const reason = 'the user pressed stop';
      const calls = async () =>
        JSON.parse(resultText(await via.request('tools/call', { name: `${PREFIX}received` })));
      const before = (await calls()).cancellations.length;
      const { id } = via.send('tools/call', { name: `${PREFIX}wait`, arguments: {} });
      await eventually(async () => (await calls()).calls.includes('wait'), 'the server has the call');
      await via.notify('notifications/cancelled', { requestId: id, reason });
      await eventually(
        async () => (await calls()).cancellations.length > before,
        'the server hears the cancellation',
      );
      expect((await calls()).cancellations.at(-1).reason).toBe(reason);
      await eventually(() => logs().includes('cancelled by the client'), 'the cancellation is logged');
      expect(logs()).not.toMatch(/did not answer tools\/call/);
    });

    it.runIf(front === 'http')(
      'a client that ends its session mid-call: the server hears notifications/cancelled, Gatehouse logs a cancellation',
      async () => {
        const probe = async () =>
          JSON.parse(resultText(await via.request('tools/call', { name: `${PREFIX}received` })));
        const waits = async () => (await probe()).calls.filter((c: string) => c === 'wait').length;
        const [waited, cancelled] = [await waits(), (await probe()).cancellations.length];
        const cancellationsLogged = () => logs().split('tool call cancelled by the client').length;
        const logged = cancellationsLogged();

        const leaving = await rawHttpClient(gatehouse!.mcpUrl);
        void leaving
          .send('tools/call', { name: `${PREFIX}wait`, arguments: {} })
          .frames.catch(() => undefined);
        await eventually(async () => (await waits()) > waited, 'the server has the call');
        await leaving.close();
        await eventually(
          async () => (await probe()).cancellations.length > cancelled,
          'the server hears the cancellation',
        );
        await eventually(() => cancellationsLogged() > logged, 'the cancellation is logged');
        expect(logs()).not.toMatch(/did not answer tools\/call/);
      },
    );
  },
);
