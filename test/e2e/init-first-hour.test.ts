import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { connectTestClient, type TestClient } from '../helpers/client.js';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { expectPending } from '../helpers/gated.js';
import { userMachine } from '../helpers/init.js';
import { EVERYTHING, FILESYSTEM } from '../helpers/paths.js';
import { freePort } from '../helpers/processes.js';

/**
 * The first hour, end to end: a user with Claude Desktop set up with MCP servers runs
 * `gatehouse init --apply`; the client then launches what init wrote into its file (here the SDK's
 * Client over stdio plays Claude Desktop), an allowed call runs, a gated call waits, the approver
 * approves it with the CLI, and the client gets the real result.
 */

const scratch = scratchDir('first-hour');
const user = userMachine(scratch, 'user');
const sandbox = path.join(user.home, 'Documents');
const PASSWORD = 'the approver password';
let client: TestClient | undefined;
afterAll(async () => {
  await client?.close();
  scratch.remove();
});

it('from the servers Claude Desktop has to a gated call approved with the CLI and its real result', async () => {
  mkdirSync(sandbox);
  writeFileSync(path.join(sandbox, 'notes.txt'), 'notes from before Gatehouse\n');
  const clientFile = user.place(
    'first-hour/claude_desktop_config.json',
    'home/.config/Claude/claude_desktop_config.json',
    {
      __NODE__: process.execPath,
      __FILESYSTEM__: FILESYSTEM,
      __EVERYTHING__: EVERYTHING,
      __SANDBOX__: sandbox,
    },
  );
  const port = await freePort();

  const init = await user.init(
    ['--apply', '--approver', 'reviewer', '--port', String(port)],
    `${PASSWORD}\n`,
  );
  expect(init.stderr).toBe('');
  expect(init.code).toBe(0);
  const configFile = path.join(user.project, 'gatehouse', 'mcp.config.json');
  expect(readFileSync(configFile, 'utf8')).not.toContain('ghp_F1rstH0urT0ken');

  // What Claude Desktop launches now: the entry init wrote into its file, nothing else.
  const { mcpServers } = JSON.parse(readFileSync(clientFile, 'utf8')) as {
    mcpServers: Record<string, { command: string; args: string[] }>;
  };
  expect(Object.keys(mcpServers)).toEqual(['gatehouse']);
  const transport = new StdioClientTransport({
    command: mcpServers.gatehouse!.command,
    args: mcpServers.gatehouse!.args,
    // As a desktop app starts it: from its own folder, with a small environment of its own.
    cwd: user.home,
    env: { HOME: user.home, PATH: process.env.PATH ?? '' },
    stderr: 'pipe',
  });
  let stderr = '';
  (transport.stderr as Readable).setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  client = await connectTestClient(transport).catch((error: unknown) => {
    throw new Error(`Gatehouse did not start: ${String(error)}\n${stderr}`);
  });
  const call = (name: string, args: Record<string, unknown>) =>
    client!.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;

  const { tools } = await client.client.listTools();
  const names = tools.map((t) => t.name);
  expect(names).toEqual(
    expect.arrayContaining(['files__read_text_file', 'files__write_file', 'everything__get-env']),
  );
  expect(names.some((n) => n.startsWith('retired__'))).toBe(false);

  // Allowed (the server declares it read-only): it runs at once.
  const read = await call('files__read_text_file', { path: path.join(sandbox, 'notes.txt') });
  expect(read.isError).toBeFalsy();
  expect(resultText(read)).toBe('notes from before Gatehouse\n');
  // The secret moved to the env file reaches the server it belongs to.
  expect(resultText(await call('everything__get-env', {}))).toContain(
    'ghp_F1rstH0urT0kenF1rstH0urT0kenF1rstH0ur',
  );

  // Gated (a write): held until a person approves it.
  const target = path.join(sandbox, 'approved.txt');
  const held = await call('files__write_file', { path: target, content: 'written once approved' });
  // server-filesystem declares an output schema: the pending answer is an isError result that says so.
  const { approvalId } = expectPending(held, 'writes-need-approval', true);
  expect(existsSync(target)).toBe(false);

  // The approver, with the command init printed: the config says where Gatehouse listens.
  const listed = await user.run(
    ['approvals', 'list', '--config', configFile, '--user', 'reviewer', '--password-stdin'],
    PASSWORD,
  );
  expect(listed.stderr).toBe('');
  expect(listed.stdout).toMatch(new RegExp(`^${approvalId}\\s+pending\\s+files / write_file`, 'm'));
  const approved = await user.run(
    ['approvals', 'approve', approvalId, '--config', configFile, '--user', 'reviewer', '--password-stdin'],
    PASSWORD,
  );
  expect(approved.stderr).toBe('');
  expect(approved.code).toBe(0);
  expect(approved.stdout).toContain(`approved files / write_file (${approvalId})`);

  // The client sees the real result, and the file is there.
  const outcome = await call('gatehouse__wait_for_approval', { approvalId });
  expect(outcome.isError).toBeFalsy();
  expect(resultText(outcome)).toContain(`Successfully wrote to ${target}`);
  expect(readFileSync(target, 'utf8')).toBe('written once approved');
});
