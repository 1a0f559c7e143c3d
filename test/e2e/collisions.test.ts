import { BUILTIN_TOOL_NAMES } from '../../src/approvals/tools.js';
import { afterAll, expect, it } from 'vitest';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { connectStdioGatehouse, runGatehouseCli } from '../helpers/gatehouse.js';

/** Two servers expose a tool of the same name: prefixes keep them apart; without prefixes, refuse to start. */

const scratch = scratchDir('collisions');
afterAll(() => scratch.remove());

const twins = (prefix?: string) =>
  gatehouseConfig({
    left: fixtureServer('twin', prefix === undefined ? {} : { prefix }, 'left'),
    right: fixtureServer('twin', prefix === undefined ? {} : { prefix }, 'right'),
  });

it('exposes both under their prefixes and routes each to its own server', async () => {
  const gatehouse = await connectStdioGatehouse(scratch.write('prefixed.json', twins()));
  try {
    const { client } = gatehouse.client;
    const names = (await client.listTools()).tools
      .map((t) => t.name)
      .filter((n) => !BUILTIN_TOOL_NAMES.has(n))
      .sort();
    expect(names).toEqual(['left__whoami', 'right__whoami']);
    for (const side of ['left', 'right']) {
      expect(await client.callTool({ name: `${side}__whoami`, arguments: {} })).toEqual({
        content: [{ type: 'text', text: side }],
      });
    }
  } finally {
    await gatehouse.client.close();
  }
});

it('refuses to start when both are mounted unprefixed, naming both sources', async () => {
  const file = scratch.write('unprefixed.json', twins(''));
  const { code, stderr } = await runGatehouseCli(['serve', '--config', file]);
  expect(code).toBe(2);
  expect(stderr).toContain(file);
  expect(stderr).toContain('tool "whoami" of server "left" and tool "whoami" of server "right"');
  expect(stderr).not.toContain('    at ');
});
