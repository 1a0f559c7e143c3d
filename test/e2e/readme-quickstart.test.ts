import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { expectHeldForApproval } from '../helpers/decisions.js';
import { gatehouseArgs } from '../helpers/gatehouse.js';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { REPO } from '../helpers/paths.js';

/**
 * The README's quick start ("The two commands"), literally: in a copy of a fresh clone's files, the
 * `npm start` scripts from package.json (the CLI from source instead of dist/, on a free port instead
 * of 8787), the approver command the README and the ready line give, an SDK client, an approval with
 * `gatehouse approvals approve`, and the real result of the approved call. When the README, the example
 * config, the policies or the product drift apart, this fails.
 */

const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');
const scripts = (
  JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;
const PASSWORD = 'a long approver password';
const scratch = scratchDir('readme');
const clone = scratch.dir;
const running: Spawned[] = [];

/** A command line as a script or the README writes it, run in the clone: `node` is this node, `gatehouse` the CLI. */
function run(commandLine: string, env: NodeJS.ProcessEnv = {}): Spawned {
  const [command, ...args] = commandLine.split(' ');
  const argv =
    command === 'gatehouse'
      ? gatehouseArgs(...args)
      : command === 'node' && args[0] === 'bin/gatehouse.js'
        ? gatehouseArgs(...args.slice(1))
        : command === 'node'
          ? args
          : undefined;
  if (!argv) throw new Error(`not a command this test knows how to run: ${commandLine}`);
  const spawned = spawnProcess(process.execPath, argv, { ...process.env, ...env }, clone);
  running.push(spawned);
  return spawned;
}

/** `npm start -- --port 0`: prestart, then start; resolves with the ready line's fields. */
interface ReadyLine {
  url: string;
  time: number;
  pid: number;
  approvalPage?: string;
  addApprover?: string;
}

async function npmStart(): Promise<{ gatehouse: Spawned; ready: ReadyLine }> {
  const prestart = run(scripts.prestart!);
  prestart.child.stdin!.end();
  expect(await prestart.exited).toBe(0);
  const gatehouse = run(`${scripts.start!} --port 0`);
  const line = await gatehouse.waitForStderr((l) => l.includes('"msg":"Gatehouse ready'), 60_000);
  return { gatehouse, ready: JSON.parse(line) as ReadyLine };
}

beforeAll(() => {
  // What a clone holds that the quick start uses; node_modules is the one `npm install` made.
  for (const item of ['mcp.config.example.json', 'config.schema.json', 'policies', 'sandbox', 'scripts']) {
    cpSync(path.join(REPO, item), path.join(clone, item), { recursive: true });
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(clone, 'node_modules'));
  mkdirSync(path.join(clone, 'sandbox', 'workspace'), { recursive: true });
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  scratch.remove();
});

it('npm start, add the approver the ready line names, approve a gated write with the CLI: it runs once', async () => {
  expect(scripts.start).toBe('node bin/gatehouse.js serve --http --config mcp.config.json');

  // The first start makes mcp.config.json from the example and says how to add an approver.
  const first = await npmStart();
  expect(readFileSync(path.join(clone, 'mcp.config.json'), 'utf8')).toBe(
    readFileSync(path.join(clone, 'mcp.config.example.json'), 'utf8'),
  );
  const addApprover = 'gatehouse approvers add reviewer --group developers --config mcp.config.json';
  expect(first.ready.addApprover).toBe(addApprover);
  expect(README).toContain(`\`\`\`sh\n${addApprover}\n\`\`\``);
  expect(first.ready.approvalPage).toBe(first.ready.url.replace(/\/mcp$/, '/approvals'));
  // The JSON ready line the README shows is this one, but for the time, the pid and the port.
  const shown = /^\{"level":30,.*"msg":"Gatehouse ready.*$/m.exec(README)![0];
  const port = new URL(first.ready.url).port;
  expect(JSON.parse(shown.replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`))).toEqual({
    ...first.ready,
    time: expect.any(Number),
    pid: expect.any(Number),
  });
  // Routine chatter (servers' banners, a roots/list no client could answer yet) is not on the screen.
  expect(first.gatehouse.stderr()).not.toContain('Failed to request');
  expect(await first.gatehouse.stop()).toBe(0);

  // As the README says: the approver, with the password piped in.
  const add = run(addApprover);
  add.child.stdin!.end(`${PASSWORD}\n`);
  expect(await add.exited).toBe(0);
  expect(add.stdout()).toContain('added approver "reviewer" (groups: developers)');

  const { gatehouse, ready } = await npmStart();
  expect(ready).not.toHaveProperty('addApprover');
  const base = ready.url.replace(/\/mcp$/, '');
  const client = new Client({ name: 'readme-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(ready.url)));
  const call = (args: Record<string, unknown>) =>
    client.callTool({ name: 'fs__write_file', arguments: args }) as Promise<CallToolResult>;

  try {
    // Inside the workspace: allowed, and it runs.
    const inside = path.join(clone, 'sandbox', 'workspace', 'hello.txt');
    expect((await call({ path: inside, content: 'hello' })).isError).toBeFalsy();
    expect(readFileSync(inside, 'utf8')).toBe('hello');

    // Elsewhere in sandbox/: held for a developer's approval, not run.
    const notes = path.join(clone, 'sandbox', 'notes.txt');
    const gated = { path: notes, content: 'approved notes' };
    const held = expectHeldForApproval(await call(gated), 'fs-write-outside-workspace', {
      approvers: ['group:developers'],
    });
    expect(existsSync(notes)).toBe(false);

    // From a second terminal, as the README says (the port is this test's, hence GATEHOUSE_URL).
    const cli = { GATEHOUSE_URL: base, GATEHOUSE_APPROVER_PASSWORD: PASSWORD };
    expect(README).toContain('gatehouse approvals list --user reviewer');
    const list = run('gatehouse approvals list --user reviewer', cli);
    expect(await list.exited).toBe(0);
    expect(list.stdout()).toContain(held.approvalId);
    expect(README).toContain('gatehouse approvals approve <id> --user reviewer');
    const approve = run(`gatehouse approvals approve ${held.approvalId} --user reviewer`, cli);
    expect(await approve.exited).toBe(0);
    expect(approve.stdout()).toContain(`approved fs / write_file (${held.approvalId})`);

    // The same call again: the approved call's real result, and the file is written.
    const result = await call(gated);
    expect(result.isError).toBeFalsy();
    expect(resultText(result)).toContain(`Successfully wrote to ${notes}`);
    expect(readFileSync(notes, 'utf8')).toBe('approved notes');
  } finally {
    await client.close();
    expect(await gatehouse.stop()).toBe(0);
  }
});
