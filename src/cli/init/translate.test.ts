import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClientKind, Location, Machine } from './clients.js';
import { createVault } from './secrets.js';
import { importServer, isSkipped, serverName, type ImportedServer } from './translate.js';

const project = mkdtempSync(path.join(tmpdir(), 'gatehouse-translate-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));
const machine: Machine = { platform: 'linux', home: '/home/ada', env: {}, project };

const at = (client: ClientKind, scope: 'user' | 'project' = 'user'): Location => ({
  client,
  file: scope === 'user' ? '/home/ada/some/mcp.json' : path.join(project, '.vscode', 'mcp.json'),
  serversPath: [client === 'vscode' ? 'servers' : 'mcpServers'],
  scope,
  ...(scope === 'project' ? { project } : {}),
});

function imported(
  client: ClientKind,
  definition: unknown,
  scope: 'user' | 'project' = 'user',
  vault = createVault(),
) {
  const outcome = importServer('srv', definition, {
    location: at(client, scope),
    machine,
    vault,
    disabledByClient: false,
  });
  if (isSkipped(outcome)) throw new Error(`skipped: ${outcome.reason}`);
  return { ...outcome, vault } as ImportedServer & { vault: ReturnType<typeof createVault> };
}

describe('a stdio server', () => {
  it('keeps command, args, env and cwd, with secrets as references', () => {
    const server = imported('claude-desktop', {
      command: 'npx',
      args: ['-y', 'server', '--api-key', 'k3y-F1xture', '--verbose'],
      env: { API_TOKEN: 'tok-F1xture', LEVEL: 'debug' },
      cwd: '/srv/app',
    });
    expect(server.server).toEqual({
      command: 'npx',
      args: ['-y', 'server', '--api-key', '${SRV_API_KEY}', '--verbose'],
      env: { API_TOKEN: '${SRV_API_TOKEN}', LEVEL: 'debug' },
      cwd: '/srv/app',
    });
    expect(server.vault.variables).toEqual({ SRV_API_KEY: 'k3y-F1xture', SRV_API_TOKEN: 'tok-F1xture' });
    expect(server.secrets).toEqual(['SRV_API_KEY', 'SRV_API_TOKEN']);
  });

  it('runs a project’s server in the project folder, as its client does', () => {
    expect(imported('vscode', { type: 'stdio', command: 'node', args: ['x.js'] }, 'project').server).toEqual({
      command: 'node',
      args: ['x.js'],
      cwd: project,
    });
  });

  it('keeps a disabled server disabled, and says what it leaves out', () => {
    const server = imported('cursor', { command: 'x', disabled: true, autoApprove: ['a'], timeout: 5 });
    expect(server.server).toEqual({ command: 'x', disabled: true });
    expect(server.disabled).toBe(true);
    expect(server.notes).toEqual(['left out "autoApprove", "timeout": Gatehouse has no such setting']);
  });
});

describe('an HTTP server', () => {
  it('keeps url and headers, the transport as Gatehouse names it', () => {
    expect(imported('claude-code', { type: 'streamable-http', url: 'https://a.example/mcp' }).server).toEqual(
      {
        type: 'http',
        url: 'https://a.example/mcp',
      },
    );
    const sse = imported('claude-code', {
      type: 'sse',
      url: 'https://a.example/sse',
      headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz', 'X-Team': 'core' },
    });
    expect(sse.server).toEqual({
      type: 'sse',
      url: 'https://a.example/sse',
      headers: { Authorization: 'Bearer ${SRV_AUTHORIZATION}', 'X-Team': 'core' },
    });
  });

  it('leaves out a transport Gatehouse does not front, and a definition it cannot read', () => {
    const skipped = (definition: unknown) =>
      importServer('srv', definition, {
        location: at('cursor'),
        machine,
        vault: createVault(),
        disabledByClient: false,
      });
    expect(skipped({ type: 'ws', url: 'wss://x' })).toMatchObject({
      reason: expect.stringContaining('"ws"'),
    });
    expect(skipped({ args: ['x'] })).toMatchObject({ reason: expect.stringContaining('neither "command"') });
    expect(skipped('npx server')).toMatchObject({ reason: 'not an object' });
  });
});

describe('client variables', () => {
  it('takes VS Code’s and Cursor’s ${env:VAR} as ${VAR:-}, empty when unset as there, and resolves ${userHome} and ${pathSeparator}', () => {
    for (const client of ['vscode', 'cursor'] as const) {
      expect(
        imported(client, {
          command: 'x',
          env: { P: '${env:HTTPS_PROXY}', H: '${userHome}${pathSeparator}m' },
        }).server,
      ).toEqual({ command: 'x', env: { P: '${HTTPS_PROXY:-}', H: '/home/ada/m' } });
    }
  });

  it('resolves ${workspaceFolder} of a project’s file, and has the client pass it from a user file', () => {
    expect(
      imported('vscode', { command: 'x', args: ['${workspaceFolder}/a'] }, 'project').server,
    ).toMatchObject({
      args: [`${project}/a`],
    });
    const user = imported('vscode', { command: 'x', args: ['${workspaceFolder}/a'] });
    expect(user.server).toMatchObject({ args: ['${WORKSPACE_FOLDER}/a'] });
    expect(user.passthrough).toEqual({ WORKSPACE_FOLDER: '${workspaceFolder}' });
  });

  it('has VS Code keep asking for an input and hand it to Gatehouse', () => {
    const server = imported('vscode', { command: 'x', env: { KEY: '${input:perplexity-key}' } });
    expect(server.server).toEqual({ command: 'x', env: { KEY: '${INPUT_PERPLEXITY_KEY}' } });
    expect(server.passthrough).toEqual({ INPUT_PERPLEXITY_KEY: '${input:perplexity-key}' });
    expect(server.vault.variables).toEqual({});
  });

  it('keeps Claude Code’s ${VAR} and ${VAR:-default}, Gatehouse’s own syntax', () => {
    expect(
      imported('claude-code', {
        type: 'http',
        url: '${BASE:-https://a.example}/mcp',
        headers: { Authorization: 'Bearer ${KEY}' },
      }).server,
    ).toEqual({
      type: 'http',
      url: '${BASE:-https://a.example}/mcp',
      headers: { Authorization: 'Bearer ${KEY}' },
    });
  });

  it('says which it cannot resolve', () => {
    const server = imported('vscode', { command: 'x', args: ['${command:pick}'] });
    expect(server.server).toMatchObject({ args: ['${command:pick}'] });
    expect(server.notes).toEqual([
      '${command:pick} is a VS Code variable Gatehouse cannot resolve; left as it is',
    ]);
  });
});

describe('VS Code’s envFile', () => {
  it('moves every variable of the file into the env file, the server’s own env winning', () => {
    writeFileSync(
      path.join(project, '.env.mcp'),
      'INTERNAL_API_TOKEN=F1xture-internal\nINTERNAL_API_URL=https://i.example\nLEVEL=info\n',
    );
    const server = imported(
      'vscode',
      { command: 'node', envFile: '${workspaceFolder}/.env.mcp', env: { LEVEL: 'debug' } },
      'project',
    );
    expect(server.server).toMatchObject({
      env: {
        INTERNAL_API_TOKEN: '${SRV_INTERNAL_API_TOKEN}',
        INTERNAL_API_URL: '${SRV_INTERNAL_API_URL}',
        LEVEL: 'debug',
      },
    });
    expect(server.vault.variables).toMatchObject({
      SRV_INTERNAL_API_TOKEN: 'F1xture-internal',
      SRV_INTERNAL_API_URL: 'https://i.example',
    });
    expect(server.notes[0]).toContain("are in Gatehouse's env file now");
  });

  it('says so when the file cannot be read', () => {
    const server = imported('vscode', { command: 'node', envFile: 'missing.env' }, 'project');
    expect(server.server).toEqual({ command: 'node', cwd: project });
    expect(server.notes[0]).toContain(`its envFile ${path.join(project, 'missing.env')} cannot be read`);
  });
});

describe('server names', () => {
  it('become valid Gatehouse names', () => {
    expect(serverName('Perplexity Search')).toBe('Perplexity-Search');
    expect(serverName('fs')).toBe('fs');
    expect(serverName('ünïcode')).toBe('-n-code');
    expect(serverName('@@@')).toBe('server');
    expect(serverName('x'.repeat(80))).toHaveLength(64);
  });
});
