import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePasswordHash, verifyPassword } from '../src/approvals/web/auth/password.js';
import { loadConfig } from '../src/config/load.js';
import { scratchDir } from './helpers/config.js';
import { runGatehouseCli } from './helpers/gatehouse.js';
import { FIXTURE_SECRETS, userMachine, type UserMachine } from './helpers/init.js';
import { GATEHOUSE_BIN } from './helpers/paths.js';
import { eventually, spawnProcess } from './helpers/processes.js';

/**
 * `gatehouse init` as a user runs it, on a home folder laid out as each client keeps its files on
 * Linux (fixtures in test/fixtures/clients): what it writes loads and passes `policy check`, holds no
 * secret in clear, and `--apply` then `--undo` gives the client's file back byte for byte.
 */

const scratch = scratchDir('init');
afterAll(() => scratch.remove());

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

/** What init wrote in `<project>/gatehouse`, checked as every init must leave it. */
async function written(user: UserMachine, clientEnv: NodeJS.ProcessEnv = {}) {
  const dir = path.join(user.project, 'gatehouse');
  const configFile = path.join(dir, 'mcp.config.json');
  const text = readFileSync(configFile, 'utf8');
  for (const secret of FIXTURE_SECRETS) expect(text).not.toContain(secret);
  expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toMatch(
    /^\.env\nmcp\.config\.json\n\.gatehouse\/\n$/m,
  );
  const envFile = path.join(dir, '.env');
  const secrets = existsSync(envFile) ? parseEnv(readFileSync(envFile, 'utf8')) : {};
  if (existsSync(envFile)) expect(statSync(envFile).mode & 0o777).toBe(0o600);
  // As Gatehouse will load it: the env file read, the variables the client hands over set.
  const config = loadConfig(configFile, { HOME: user.home, ...clientEnv });
  const check = await runGatehouseCli(['policy', 'check', '--config', configFile], {
    ...user.env,
    ...clientEnv,
  });
  expect(check.stderr).toBe('');
  expect(check.stdout).toMatch(/^ok: 5 rule\(s\) in 3 file\(s\), default deny, mode enforce/);
  expect(check.code).toBe(0);
  const tests = await runGatehouseCli(
    ['policy', 'test', '--policies', path.join(dir, 'policies'), path.join(dir, 'policies', 'tests')],
    user.env,
  );
  expect(tests.stdout).toContain('8 passed, 0 failed');
  return { dir, configFile, config, raw: json(configFile), secrets };
}

describe('Claude Desktop', () => {
  const user = userMachine(scratch, 'desktop');
  const clientFile = user.place(
    'claude_desktop_config.json',
    'home/.config/Claude/claude_desktop_config.json',
  );
  const original = readFileSync(clientFile);

  it('puts its servers behind Gatehouse, secrets in the env file, disabled ones disabled, and prints the entry', async () => {
    const { code, stdout, stderr } = await user.init(['--no-approver']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { config, raw, secrets } = await written(user);
    expect(Object.keys(config.servers)).toEqual(['filesystem', 'github', 'postgres', 'old-notes']);
    expect(raw.mcpServers).toMatchObject({
      github: { env: { GITHUB_PERSONAL_ACCESS_TOKEN: '${GITHUB_PERSONAL_ACCESS_TOKEN}' } },
      postgres: {
        args: [
          '-y',
          '@modelcontextprotocol/server-postgres',
          'postgresql://app:${POSTGRES_URL_PASSWORD}@db.internal:5432/app',
        ],
      },
      'old-notes': { command: 'uvx', disabled: true },
    });
    expect(secrets).toEqual({
      GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_F1xtur3T0kenF1xtur3T0kenF1xtur3T0ken',
      POSTGRES_URL_PASSWORD: 'F1xture-db-pw',
    });
    // Gatehouse gets the real values back when it loads the config.
    expect(config.servers.github).toMatchObject({
      env: { GITHUB_PERSONAL_ACCESS_TOKEN: 'ghp_F1xtur3T0kenF1xtur3T0kenF1xtur3T0ken' },
    });
    expect(stdout).toContain(
      `In Claude Desktop (${clientFile}), remove "filesystem", "github", "postgres", "old-notes" from "mcpServers" and add:`,
    );
    expect(stdout).toContain('"serve",\n          "--config",');
    expect(stdout).toContain('No approver yet');
    for (const secret of FIXTURE_SECRETS) expect(stdout).not.toContain(secret);
    // Without --apply the client's file is not touched.
    expect(readFileSync(clientFile)).toEqual(original);
  });

  it('will not overwrite what it wrote without --force', async () => {
    const configFile = path.join(user.project, 'gatehouse', 'mcp.config.json');
    const before = readFileSync(configFile, 'utf8');
    const again = await user.init(['--no-approver']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('not overwriting what is there (pass --force to replace it');
    expect(again.stderr).toContain(configFile);
    expect(readFileSync(configFile, 'utf8')).toBe(before);
    const forced = await user.init(['--no-approver', '--force', '--port', '9797']);
    expect(forced.code).toBe(0);
    expect(json(configFile).http).toEqual({ host: '127.0.0.1', port: 9797 });
  });

  it('--apply rewrites the file keeping its other settings, and --undo gives it back byte for byte', async () => {
    const applied = await user.init(['--no-approver', '--force', '--apply']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(
      /Rewrote .*claude_desktop_config\.json: Gatehouse replaces the servers above \(backup: .*\.gatehouse-backup-/,
    );
    const rewritten = json(clientFile) as {
      mcpServers: Record<string, { args: string[] }>;
      globalShortcut: string;
    };
    expect(rewritten.globalShortcut).toBe('Ctrl+Space');
    expect(Object.keys(rewritten.mcpServers)).toEqual(['gatehouse']);
    // This node by its absolute path: a desktop app does not see the shell's PATH.
    expect((rewritten.mcpServers.gatehouse as unknown as { command: string }).command).toBe(process.execPath);
    expect(rewritten.mcpServers.gatehouse!.args.slice(-3)).toEqual([
      'serve',
      '--config',
      path.join(user.project, 'gatehouse', 'mcp.config.json'),
    ]);
    for (const secret of FIXTURE_SECRETS) expect(readFileSync(clientFile, 'utf8')).not.toContain(secret);

    const rerun = await user.init(['--no-approver', '--force']);
    expect(rerun.code).toBe(2);
    expect(rerun.stderr).toContain(
      `Gatehouse is registered in ${clientFile} already (\`gatehouse init --undo\``,
    );

    const undone = await user.init(['--undo']);
    expect(undone.stderr).toBe('');
    expect(undone.code).toBe(0);
    expect(undone.stdout).toContain(`Restored ${clientFile} from ${clientFile}.gatehouse-backup-`);
    expect(readFileSync(clientFile)).toEqual(original);
    const again = await user.init(['--undo']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('no backup made by `gatehouse init --apply` was found');
  });
});

describe('Claude Code', () => {
  const user = userMachine(scratch, 'code');
  const userFile = user.place('claude.json', 'home/.claude.json');
  const projectFile = user.place('mcp.json', 'project/.mcp.json');
  const originals = [readFileSync(userFile), readFileSync(projectFile)];

  it('prints the claude commands that register Gatehouse in each scope instead of the servers', async () => {
    const { code, stdout } = await user.init(['--no-approver']);
    expect(code).toBe(0);
    const add = `claude mcp add --scope user gatehouse -- ${process.execPath} --import `;
    expect(stdout).toContain(
      `In Claude Code (${userFile}):\n  claude mcp remove --scope user sentry\n  claude mcp remove --scope user memory\n  ${add}`,
    );
    expect(stdout).toContain(`, run in ${user.project}:\n  claude mcp remove --scope project api-server\n`);
    expect(stdout).toContain(
      `  claude mcp remove --scope local linear\n  claude mcp remove --scope local playwright\n`,
    );
    expect(stdout).toContain(` serve --config ${path.join(user.project, 'gatehouse', 'mcp.config.json')}\n`);
    expect([readFileSync(userFile), readFileSync(projectFile)]).toEqual(originals);
  });

  it('imports the local, project and user scopes, and rewrites each in place with --apply', async () => {
    const { code, stdout, stderr } = await user.init(['--no-approver', '--apply', '--force']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { config, secrets } = await written(user, { API_KEY: 'from-the-shell' });
    expect(Object.keys(config.servers)).toEqual([
      'linear',
      'playwright',
      'api-server',
      'db',
      'sentry',
      'memory',
    ]);
    expect(config.servers.linear).toMatchObject({
      type: 'sse',
      headers: { 'X-Api-Key': 'lin_F1xtureLinearKey' },
    });
    // Turned off for this project in ~/.claude.json, and in .mcp.json: kept off.
    expect(config.servers.playwright).toMatchObject({ disabled: true });
    expect(config.servers.db).toMatchObject({
      disabled: true,
      args: ['./tools/db-mcp.js', '--access-token=F1xtureAccessToken42'],
    });
    expect(config.servers['api-server']).toMatchObject({
      url: 'https://api.example.com/mcp',
      headers: { Authorization: 'Bearer from-the-shell' },
    });
    expect(config.servers.memory).toMatchObject({ env: { MEMORY_FILE_PATH: `${user.home}/memory.json` } });
    expect(Object.keys(secrets).sort()).toEqual([
      'DB_ACCESS_TOKEN',
      'LINEAR_X_API_KEY',
      'SENTRY_AUTHORIZATION',
    ]);
    expect(stdout).toContain(
      'Gatehouse takes ${API_KEY} from its environment: set it where Claude Code runs',
    );

    const home = json(userFile) as {
      numStartups: number;
      mcpServers: Record<string, { type: string }>;
      projects: Record<string, { mcpServers: Record<string, unknown>; disabledMcpServers: string[] }>;
    };
    expect(home.numStartups).toBe(42);
    expect(Object.keys(home.mcpServers)).toEqual(['gatehouse']);
    expect(home.mcpServers.gatehouse).toMatchObject({ type: 'stdio', env: {} });
    expect(Object.keys(home.projects[user.project]!.mcpServers)).toEqual(['gatehouse']);
    expect(home.projects[user.project]!.disabledMcpServers).toEqual(['playwright']);
    expect(home.projects['/some/other/project']).toEqual({ mcpServers: { elsewhere: { command: 'echo' } } });
    expect(Object.keys((json(projectFile) as { mcpServers: object }).mcpServers)).toEqual(['gatehouse']);
  });

  it('--undo puts back both files byte for byte', async () => {
    const undone = await user.init(['--undo', '--client', 'claude-code']);
    expect(undone.code).toBe(0);
    expect([readFileSync(userFile), readFileSync(projectFile)]).toEqual(originals);
  });
});

describe('VS Code', () => {
  const user = userMachine(scratch, 'vscode');
  const userFile = user.place('vscode-user-mcp.json', 'home/.config/Code/User/mcp.json');
  const workspaceFile = user.place('vscode-workspace-mcp.json', 'project/.vscode/mcp.json');
  user.place('vscode-workspace.env', 'project/.env.mcp');
  const originals = [readFileSync(userFile), readFileSync(workspaceFile)];

  it('reads its JSONC, translates its variables and inputs, and keeps its comments when it applies', async () => {
    const { code, stdout, stderr } = await user.init(['--no-approver', '--client', 'vscode', '--apply']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const { config, raw, secrets } = await written(user, { INPUT_PERPLEXITY_KEY: 'typed-into-vscode' });
    expect(Object.keys(config.servers)).toEqual([
      'workspace-fs',
      'internal-api',
      'Perplexity-Search',
      'fetch',
      'github',
    ]);
    expect(raw.mcpServers).toMatchObject({
      'workspace-fs': {
        args: ['-y', '@modelcontextprotocol/server-filesystem', user.project],
        cwd: user.project,
      },
      'internal-api': {
        env: { INTERNAL_API_TOKEN: '${INTERNAL_API_TOKEN}', INTERNAL_API_URL: '${INTERNAL_API_URL}' },
      },
      'Perplexity-Search': { env: { PERPLEXITY_API_KEY: '${INPUT_PERPLEXITY_KEY}' } },
      fetch: { env: { PROXY_URL: '${HTTPS_PROXY:-}', HOME_DIR: user.home } },
      github: { type: 'http', headers: { Authorization: 'Bearer ${GITHUB_AUTHORIZATION}' } },
    });
    expect(secrets).toMatchObject({ INTERNAL_API_TOKEN: 'F1xture-internal-api-token' });
    expect(config.servers['Perplexity-Search']).toMatchObject({
      env: { PERPLEXITY_API_KEY: 'typed-into-vscode' },
    });
    expect(stdout).toContain('left out "gallery": Gatehouse has no such setting');
    expect(stdout).toContain('left out "dev": Gatehouse has no such setting');

    const rewritten = readFileSync(userFile, 'utf8');
    expect(rewritten).toContain('// VS Code user mcp.json: JSONC, with comments and trailing commas.');
    expect(rewritten).toContain('// VS Code asks for this once and keeps it in its secret storage.');
    expect(rewritten).not.toContain('/* a server whose key VS Code asks for */');
    expect(rewritten).toMatch(/"gatehouse": \{\n\s+"type": "stdio",/);
    expect(rewritten).toContain('"INPUT_PERPLEXITY_KEY": "${input:perplexity-key}"');
    expect(rewritten).toContain('"id": "perplexity-key"');
    expect(readFileSync(workspaceFile, 'utf8')).toContain('// .vscode/mcp.json of a workspace');

    const undone = await user.init(['--undo', '--client', 'vscode']);
    expect(undone.code).toBe(0);
    expect([readFileSync(userFile), readFileSync(workspaceFile)]).toEqual(originals);
  });
});

describe('Cursor', () => {
  const user = userMachine(scratch, 'cursor');
  // Kept in a dotfiles folder and linked into place, as many keep their settings.
  const dotfile = user.place('cursor-mcp.json', 'home/dotfiles/cursor-mcp.json');
  const clientFile = path.join(user.home, '.cursor', 'mcp.json');
  mkdirSync(path.dirname(clientFile));
  symlinkSync(dotfile, clientFile);
  const original = readFileSync(dotfile);

  it('imports what Gatehouse fronts and leaves the rest in the client, changing the file a link points to', async () => {
    const { code, stdout } = await user.init(['--no-approver', '--apply']);
    expect(code).toBe(0);
    const { config, raw } = await written(user, { CONTEXT7_API_KEY: 'c7' });
    expect(Object.keys(config.servers)).toEqual(['context7', 'notion']);
    expect(raw.mcpServers).toMatchObject({
      context7: { type: 'http', headers: { CONTEXT7_API_KEY: '${CONTEXT7_API_KEY:-}' } },
      notion: { env: { NOTION_TOKEN: '${NOTION_TOKEN}' } },
    });
    expect(stdout).toContain(
      `Left in ${clientFile}: remote-shell, because its transport "ws" is not one Gatehouse fronts`,
    );
    expect(lstatSync(clientFile).isSymbolicLink()).toBe(true);
    expect(Object.keys((json(dotfile) as { mcpServers: object }).mcpServers)).toEqual([
      'gatehouse',
      'remote-shell',
    ]);

    expect((await user.init(['--undo', '--client', 'cursor'])).code).toBe(0);
    expect(lstatSync(clientFile).isSymbolicLink()).toBe(true);
    expect(readFileSync(dotfile)).toEqual(original);
  });
});

describe('an approver account', () => {
  it('is created with the password from standard input, in the group the policies name', async () => {
    const user = userMachine(scratch, 'approver');
    user.place('cursor-mcp.json', 'home/.cursor/mcp.json');
    const { code, stdout } = await user.init(['--approver', 'reviewer'], 'a long enough password\n');
    expect(code).toBe(0);
    expect(stdout).toContain('Approver: reviewer signs in at http://127.0.0.1:8787/approvals');
    const account = (
      json(path.join(user.project, 'gatehouse', 'mcp.config.json')) as {
        approvers: { accounts: { id: string; groups: string[]; passwordHash: string }[] };
      }
    ).approvers.accounts[0]!;
    expect(account).toMatchObject({ id: 'reviewer', groups: ['approvers'] });
    expect(await verifyPassword('a long enough password', parsePasswordHash(account.passwordHash))).toBe(
      true,
    );
  });

  it('is asked for on a terminal: the id as typed, the password twice without echo', async () => {
    const user = userMachine(scratch, 'terminal');
    user.place('cursor-mcp.json', 'home/.cursor/mcp.json');
    // `script` gives init a pseudo-terminal; each answer is sent once its prompt shows.
    const command = [
      process.execPath,
      '--import',
      'tsx',
      GATEHOUSE_BIN,
      'init',
      '--project',
      user.project,
    ].join(' ');
    const spawned = spawnProcess('script', ['-qec', command, '/dev/null'], user.env);
    const answer = async (prompt: string, typed: string) => {
      await eventually(() => spawned.stdout().includes(prompt), `the prompt "${prompt}"`);
      spawned.child.stdin!.write(`${typed}\r`);
    };
    await answer('Approver account id [approver]: ', 'reviewer');
    await answer('New approver password: ', 'typed-secret-value');
    await answer('Repeat it: ', 'typed-secret-value');
    expect(await spawned.exited).toBe(0);
    expect(spawned.stdout()).toContain('Approver: reviewer signs in');
    expect(spawned.stdout()).not.toContain('typed-secret-value');
    const account = (
      json(path.join(user.project, 'gatehouse', 'mcp.config.json')) as {
        approvers: { accounts: { id: string; passwordHash: string }[] };
      }
    ).approvers.accounts[0]!;
    expect(account.id).toBe('reviewer');
    expect(await verifyPassword('typed-secret-value', parsePasswordHash(account.passwordHash))).toBe(true);
  });

  it('is refused for the caller on stdio, who cannot approve their own calls', async () => {
    const user = userMachine(scratch, 'self');
    user.place('cursor-mcp.json', 'home/.cursor/mcp.json');
    const { userInfo } = await import('node:os');
    const { code, stderr } = await user.init(['--approver', userInfo().username], 'a long enough password\n');
    expect(code).toBe(2);
    expect(stderr).toContain('is the caller on stdio (your OS user), who cannot approve their own calls');
    expect(existsSync(path.join(user.project, 'gatehouse'))).toBe(false);
  });
});

describe('what init refuses, and says why', () => {
  it('a client file that is not JSON, naming the file, line and column', async () => {
    const user = userMachine(scratch, 'broken');
    const file = user.place('cursor-mcp.json', 'home/.cursor/mcp.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, '{\n  "mcpServers": {\n    "a": { "command": "x" }\n    "b": {}\n  }\n}\n');
    const { code, stderr } = await user.init(['--no-approver']);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`gatehouse: ${file}:4:5: not valid JSON: a comma was expected`);
  });

  it('nothing to import, naming where it looked', async () => {
    const user = userMachine(scratch, 'empty');
    const { code, stderr } = await user.init(['--no-approver']);
    expect(code).toBe(2);
    expect(stderr).toContain('no MCP server to put behind Gatehouse was found');
    expect(stderr).toContain(path.join(user.home, '.config/Claude/claude_desktop_config.json'));
    expect(stderr).toContain(path.join(user.project, '.vscode/mcp.json'));
  });

  it('servers in several clients, until one is chosen', async () => {
    const user = userMachine(scratch, 'several');
    user.place('claude_desktop_config.json', 'home/.config/Claude/claude_desktop_config.json');
    user.place('cursor-mcp.json', 'home/.cursor/mcp.json');
    const { code, stderr } = await user.init(['--no-approver']);
    expect(code).toBe(2);
    expect(stderr).toContain('servers were found in more than one client; run init for one of them:');
    expect(stderr).toContain('--client claude-desktop: filesystem, github, postgres, old-notes');
    expect(stderr).toContain('--client cursor: context7, notion');
    expect((await user.init(['--no-approver', '--client', 'cursor'])).code).toBe(0);
  });

  it('a file given by path whose client it cannot tell', async () => {
    const user = userMachine(scratch, 'from');
    const file = user.place('cursor-mcp.json', 'project/copy.json');
    const unknown = await user.init(['--no-approver', '--from', file]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('cannot tell which client this file belongs to; say it with --client');
    const told = await user.init(['--no-approver', '--from', file, '--client', 'cursor']);
    expect(told.code).toBe(0);
    expect(told.stdout).toContain(`From Cursor (${file}, user):`);
  });
});
