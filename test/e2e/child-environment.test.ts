import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { connectStdioGatehouse, type StdioGatehouse } from '../helpers/gatehouse.js';
import { MEMORY } from '../helpers/paths.js';

/** Stdio children get the SDK's safe environment plus their own `env`, never Gatehouse's secrets. */

const SECRET = 'gatehouse-secret-value-7f3a';
const scratch = scratchDir('child-env');
const memoryFile = path.join(scratch.dir, 'memory.jsonl');
let gatehouse: StdioGatehouse;

beforeAll(async () => {
  const config = gatehouseConfig({
    env: fixtureServer('env-echo', {
      env: { CONFIGURED_PLAIN: 'from the config', CONFIGURED_FROM_VAR: '${GATEHOUSE_TEST_PASSED}' },
    }),
    memory: { command: process.execPath, args: [MEMORY], env: { MEMORY_FILE_PATH: memoryFile } },
  });
  gatehouse = await connectStdioGatehouse(
    scratch.write('config.json', config),
    {},
    {
      GATEHOUSE_TEST_SECRET: SECRET,
      AWS_SECRET_ACCESS_KEY: SECRET,
      GATEHOUSE_TEST_PASSED: 'passed on purpose',
    },
  );
});
afterAll(async () => {
  await gatehouse?.client.close();
  scratch.remove();
});

it("a child does not see Gatehouse's environment, but sees its configured env", async () => {
  const result = (await gatehouse.client.client.callTool({
    name: 'env__env',
    arguments: {},
  })) as CallToolResult;
  const env = JSON.parse((result.content[0] as { text: string }).text) as Record<string, string>;
  expect(env).not.toHaveProperty('GATEHOUSE_TEST_SECRET');
  expect(env).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
  expect(Object.values(env)).not.toContain(SECRET);
  expect(env).toMatchObject({
    CONFIGURED_PLAIN: 'from the config',
    CONFIGURED_FROM_VAR: 'passed on purpose',
  });
  expect(env.PATH).toBe(process.env.PATH);
});

it('a real server gets its configured env (server-memory writes where MEMORY_FILE_PATH says)', async () => {
  const entity = { name: 'Gatehouse', entityType: 'proxy', observations: ['keeps secrets'] };
  const result = await gatehouse.client.client.callTool({
    name: 'memory__create_entities',
    arguments: { entities: [entity] },
  });
  expect(result.isError).toBeFalsy();
  expect(readFileSync(memoryFile, 'utf8')).toContain('"name":"Gatehouse"');
});
