import { afterAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/config.js';
import { runGatehouseCli } from '../helpers/gatehouse.js';

/** An invalid config stops `gatehouse serve` with status 2 and one clear message: file, place, problem. */

const scratch = scratchDir('config-errors');
afterAll(() => scratch.remove());

const CASES = [
  {
    what: 'a value of the wrong type',
    text: '{\n  "mcpServers": {\n    "fs": { "command": "node", "args": "server.js" }\n  }\n}\n',
    expected: [':3:', '$.mcpServers.fs.args', 'array'],
  },
  {
    what: 'an unknown key',
    text: '{\n  "mcpServers": {\n    "fs": { "command": "node", "argz": ["server.js"] }\n  }\n}\n',
    expected: [':3:', '$.mcpServers.fs.argz', 'unknown key "argz"'],
  },
  {
    what: 'an unknown top-level key',
    text: '{ "mcpServers": {}, "listen": 8080 }',
    expected: ['$.listen', 'unknown key "listen"'],
  },
  {
    what: 'a ${VAR} that is not set',
    text: '{ "mcpServers": { "api": { "url": "https://example.com/mcp", "headers": { "Authorization": "Bearer ${GATEHOUSE_TEST_UNSET_TOKEN}" } } } }',
    expected: ['$.mcpServers.api.headers.Authorization', 'GATEHOUSE_TEST_UNSET_TOKEN is not set'],
  },
  {
    what: 'text that is not JSON',
    text: '{ "mcpServers": { "fs": { "command": "node", } }',
    expected: ['not valid JSON'],
  },
  {
    what: 'both mcpServers and servers',
    text: '{ "mcpServers": {}, "servers": {} }',
    expected: ['$.servers', 'not both'],
  },
];

describe.each(CASES)('gatehouse serve with $what', ({ what, text, expected }) => {
  it('exits 2 naming the file and the JSON path, without a stack trace', async () => {
    const file = scratch.write(`${what.replace(/\W+/g, '-')}.json`, text);
    const { code, stdout, stderr } = await runGatehouseCli(['serve', '--config', file]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(file);
    for (const part of expected) expect(stderr).toContain(part);
    expect(stderr).not.toContain('    at ');
  });
});

it('a config file that does not exist exits 2 naming it', async () => {
  const file = `${scratch.dir}/missing.json`;
  const { code, stderr } = await runGatehouseCli(['serve', '--config', file]);
  expect(code).toBe(2);
  expect(stderr).toContain(`${file}: cannot read the config file (no such file)`);
  expect(stderr).not.toContain('    at ');
});
