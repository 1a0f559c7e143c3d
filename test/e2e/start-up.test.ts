import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { gatehouseArgs, spawnEnv } from '../helpers/gatehouse.js';
import { MODERN, TASKS, modernStdioClient, type ModernClient } from '../helpers/modernClient.js';

/*
 * A stdio Gatehouse reads its client while its downstream servers still start: the server/discover
 * probe is answered by timeouts.discoverMs after launch (Claude Code gives it about 2.3 s), and what
 * reads the servers (tools/list, prompts/list) waits for their first attempt, so nothing a server
 * offers is missing from the first lists. The slow-start fixture answers nothing until the test
 * creates its file: an answer that comes before then came before that server was up.
 */

const scratch = scratchDir('start-up');
afterAll(() => scratch.remove());
let client: ModernClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
});

describe('a stdio Gatehouse while a downstream server still starts', () => {
  it('answers server/discover at once, and lists the slow server in the first tools/list once it is up', async () => {
    const upWhen = path.join(scratch.dir, 'slow-may-start');
    const config = scratch.write(
      'slow.json',
      gatehouseConfig({ slow: fixtureServer('slow-start', {}, upWhen) }, { log: { level: 'warn' } }),
    );
    client = modernStdioClient(process.execPath, gatehouseArgs('serve', '--config', config), spawnEnv({}));

    const discovered = await client.call('server/discover');
    expect(discovered.supportedVersions[0]).toBe(MODERN);
    expect(discovered.capabilities.extensions).toHaveProperty(TASKS);
    // The slow server may come to offer tools, prompts and resources: the client is told so, and
    // that the lists change.
    expect(discovered.capabilities).toMatchObject({
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { listChanged: true },
    });

    // Sent before the server is up, answered after: with its tools.
    const listed = client.send('tools/list');
    writeFileSync(upWhen, '');
    const tools = ((await listed.frames).at(-1)!.result.tools as { name: string }[]).map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['slow__ready', 'gatehouse__approval_status']));
    const prompts = (await client.call('prompts/list')).prompts as { name: string }[];
    expect(prompts.map((p) => p.name)).toEqual(['slow__greeting']);
    const called = await client.call('tools/call', { name: 'slow__ready', arguments: {} });
    expect(called.content).toEqual([{ type: 'text', text: 'up' }]);
  });
});
