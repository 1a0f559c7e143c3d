import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resultText } from '../helpers/compare.js';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { expectDenied, expectHeldForApproval } from '../helpers/decisions.js';
import { startConnectedHttpGatehouse, type ConnectedHttpGatehouse } from '../helpers/gatehouse.js';
import { EVERYTHING, FILESYSTEM, MEMORY, REPO } from '../helpers/paths.js';

/**
 * The shipped example end to end: mcp.config.example.json's servers, identity and vars, in a scratch
 * folder (the filesystem server works in its `./sandbox`, whose `workspace/` is the workspace), with
 * the repository's example policies. The README's quick start, step by step, is readme-quickstart.test.ts.
 */

interface ExampleServer {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

const example = JSON.parse(readFileSync(path.join(REPO, 'mcp.config.example.json'), 'utf8')) as {
  mcpServers: Record<string, ExampleServer>;
  identity: unknown;
  vars: Record<string, unknown>;
};

/** The example runs its servers through `npx --no-install <bin>`; here the same bins run on this node. */
const BINS: Record<string, string> = {
  'mcp-server-filesystem': FILESYSTEM,
  'mcp-server-everything': EVERYTHING,
  'mcp-server-memory': MEMORY,
};
function onThisNode(server: ExampleServer): ExampleServer {
  const [flag, bin, ...rest] = server.args;
  if (server.command !== 'npx' || flag !== '--no-install' || !bin || !BINS[bin]) {
    throw new Error(`the example's server changed shape: ${JSON.stringify(server)}`);
  }
  return { ...server, command: process.execPath, args: [BINS[bin], ...rest] };
}

const scratch = scratchDir('example');
const workspace = path.join(scratch.dir, 'sandbox', 'workspace');
const outside = path.join(scratch.dir, 'sandbox', 'outside.txt');
let gatehouse: ConnectedHttpGatehouse;

beforeAll(async () => {
  expect(Object.keys(example.mcpServers)).toEqual(['fs', 'everything', 'memory']);
  mkdirSync(workspace, { recursive: true });
  writeFileSync(path.join(workspace, 'notes.txt'), 'notes from the workspace\n');
  const servers = Object.fromEntries(
    Object.entries(example.mcpServers).map(([name, server]) => [name, onThisNode(server)]),
  );
  const config = scratch.write(
    'mcp.config.json',
    gatehouseConfig(servers, {
      identity: example.identity,
      vars: example.vars,
      policies: path.join(REPO, 'policies'),
    }),
  );
  gatehouse = await startConnectedHttpGatehouse(config);
});
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

const call = (name: string, args: Record<string, unknown> = {}) =>
  gatehouse.client.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;

it('a read inside the workspace is allowed and runs', async () => {
  const result = await call('fs__read_text_file', { path: path.join(workspace, 'notes.txt') });
  expect(result.isError).toBeFalsy();
  expect(resultText(result)).toBe('notes from the workspace\n');
});

it('a write inside the workspace runs; one outside it is refused for approval and not executed', async () => {
  const inside = path.join(workspace, 'written.txt');
  expect((await call('fs__write_file', { path: inside, content: 'in' })).isError).toBeFalsy();
  expect(readFileSync(inside, 'utf8')).toBe('in');

  expectHeldForApproval(
    await call('fs__write_file', { path: outside, content: 'out' }),
    'fs-write-outside-workspace',
    { reason: 'the file is outside the workspace', approvers: ['group:developers'] },
  );
  expect(existsSync(outside)).toBe(false);
});

it('a memory delete is refused for approval, and the entity stays', async () => {
  const entity = { name: 'gatehouse', entityType: 'project', observations: ['an MCP policy firewall'] };
  const created = await call('memory__create_entities', { entities: [entity] });
  expect(created.isError).toBeFalsy();

  expectHeldForApproval(
    await call('memory__delete_entities', { entityNames: ['gatehouse'] }),
    'memory-delete',
    {
      approvers: ['group:developers'],
      quorum: 2,
    },
  );
  expect(resultText(await call('memory__read_graph'))).toContain('an MCP policy firewall');
});

it('the everything tools the examples allow work; get-env is hidden and refused', async () => {
  expect(resultText(await call('everything__echo', { message: 'through the example' }))).toBe(
    'Echo: through the example',
  );
  expect(resultText(await call('everything__get-sum', { a: 1, b: 2 }))).toContain('3');

  // Allowed for inline data only; fetching a URL would need approval.
  const gzip = await call('everything__gzip-file-as-resource', {
    name: 'hello.gz',
    data: 'data:text/plain;base64,aGVsbG8=',
    outputType: 'resource',
  });
  expect(gzip.isError).toBeFalsy();
  expect(gzip.content[0]).toMatchObject({ type: 'resource', resource: { mimeType: 'application/gzip' } });
  expectHeldForApproval(await call('everything__gzip-file-as-resource', {}), 'everything-gzip-fetch');

  const names = (await gatehouse.client.client.listTools()).tools.map((t) => t.name);
  expect(names).not.toContain('everything__get-env');
  expectDenied(await call('everything__get-env'), 'everything-env', 'may hold secrets');
});

it('tools/list: every example server is usable, and gated tools say they may need approval', async () => {
  const { tools } = await gatehouse.client.client.listTools();
  const visible = (prefix: string) => tools.filter((t) => t.name.startsWith(prefix));
  for (const prefix of ['fs__', 'everything__', 'memory__'])
    expect(visible(prefix).length).toBeGreaterThan(5);
  const gated = tools
    .filter((t) => t.description?.endsWith('Calls may require human approval.'))
    .map((t) => t.name);
  expect(gated.sort()).toEqual([
    'everything__gzip-file-as-resource',
    'fs__create_directory',
    'fs__edit_file',
    'fs__move_file',
    'fs__write_file',
    'memory__delete_entities',
    'memory__delete_observations',
    'memory__delete_relations',
  ]);
});
