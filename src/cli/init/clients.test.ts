import { describe, expect, it } from 'vitest';
import { locationsOf, locationsOfFile, projectFile, userFile, type Machine } from './clients.js';

const linux: Machine = { platform: 'linux', home: '/home/ada', env: {}, project: '/home/ada/work/app' };
const mac: Machine = { platform: 'darwin', home: '/Users/ada', env: {}, project: '/Users/ada/work/app' };
const windows: Machine = {
  platform: 'win32',
  home: 'C:\\Users\\ada',
  env: { APPDATA: 'C:\\Users\\ada\\AppData\\Roaming' },
  project: 'C:\\work\\app',
};

describe('where each client keeps its servers', () => {
  it.each([
    ['claude-desktop', linux, '/home/ada/.config/Claude/claude_desktop_config.json'],
    ['claude-desktop', mac, '/Users/ada/Library/Application Support/Claude/claude_desktop_config.json'],
    ['claude-desktop', windows, 'C:\\Users\\ada\\AppData\\Roaming\\Claude\\claude_desktop_config.json'],
    ['claude-code', linux, '/home/ada/.claude.json'],
    ['claude-code', mac, '/Users/ada/.claude.json'],
    ['claude-code', windows, 'C:\\Users\\ada\\.claude.json'],
    ['vscode', linux, '/home/ada/.config/Code/User/mcp.json'],
    ['vscode', mac, '/Users/ada/Library/Application Support/Code/User/mcp.json'],
    ['vscode', windows, 'C:\\Users\\ada\\AppData\\Roaming\\Code\\User\\mcp.json'],
    ['cursor', linux, '/home/ada/.cursor/mcp.json'],
    ['cursor', mac, '/Users/ada/.cursor/mcp.json'],
    ['cursor', windows, 'C:\\Users\\ada\\.cursor\\mcp.json'],
  ] as const)('%s on %s: %s', (client, machine, file) => {
    expect(userFile(client, machine)).toBe(file);
  });

  it('follows XDG_CONFIG_HOME on Linux, and finds %APPDATA% without the variable', () => {
    const xdg = { ...linux, env: { XDG_CONFIG_HOME: '/home/ada/.cfg' } };
    expect(userFile('claude-desktop', xdg)).toBe('/home/ada/.cfg/Claude/claude_desktop_config.json');
    expect(userFile('vscode', xdg)).toBe('/home/ada/.cfg/Code/User/mcp.json');
    expect(userFile('vscode', { ...windows, env: {} })).toBe(
      'C:\\Users\\ada\\AppData\\Roaming\\Code\\User\\mcp.json',
    );
  });

  it.each([
    ['claude-code', linux, '/home/ada/work/app/.mcp.json'],
    ['vscode', linux, '/home/ada/work/app/.vscode/mcp.json'],
    ['cursor', linux, '/home/ada/work/app/.cursor/mcp.json'],
    ['claude-code', windows, 'C:\\work\\app\\.mcp.json'],
    ['vscode', windows, 'C:\\work\\app\\.vscode\\mcp.json'],
    ['cursor', mac, '/Users/ada/work/app/.cursor/mcp.json'],
  ] as const)('a project’s file for %s on %s: %s', (client, machine, file) => {
    expect(projectFile(client, machine)).toBe(file);
  });

  it('has no project file for Claude Desktop', () => {
    expect(projectFile('claude-desktop', linux)).toBeUndefined();
  });

  it('lists Claude Code’s places in its order of precedence: local, project, user', () => {
    expect(locationsOf('claude-code', linux)).toEqual([
      {
        client: 'claude-code',
        file: '/home/ada/.claude.json',
        serversPath: ['projects', '/home/ada/work/app', 'mcpServers'],
        scope: 'local',
        project: '/home/ada/work/app',
      },
      {
        client: 'claude-code',
        file: '/home/ada/work/app/.mcp.json',
        serversPath: ['mcpServers'],
        scope: 'project',
        project: '/home/ada/work/app',
      },
      { client: 'claude-code', file: '/home/ada/.claude.json', serversPath: ['mcpServers'], scope: 'user' },
    ]);
    expect(locationsOf('vscode', windows).map((l) => [l.scope, l.serversPath, l.project])).toEqual([
      ['project', ['servers'], 'C:\\work\\app'],
      ['user', ['servers'], undefined],
    ]);
  });
});

describe('a file given by path', () => {
  const of = (file: string, keys: string[] = ['mcpServers'], client?: 'cursor') =>
    locationsOfFile(file, linux, client, keys)?.map(
      (l) => `${l.client} ${l.scope} ${l.serversPath.join('.')}`,
    );

  it('belongs to the client its name and folder say', () => {
    expect(of('/backup/claude_desktop_config.json')).toEqual(['claude-desktop user mcpServers']);
    expect(of('/home/ada/.claude.json')).toEqual([
      'claude-code user mcpServers',
      'claude-code local projects./home/ada/work/app.mcpServers',
    ]);
    expect(of('/elsewhere/.mcp.json')).toEqual(['claude-code project mcpServers']);
    expect(of('/elsewhere/.vscode/mcp.json', ['servers'])).toEqual(['vscode project servers']);
    expect(of('/home/ada/.config/Code/User/mcp.json', ['servers'])).toEqual(['vscode user servers']);
    expect(of('/home/ada/.cursor/mcp.json')).toEqual(['cursor user mcpServers']);
    expect(of('/elsewhere/.cursor/mcp.json')).toEqual(['cursor project mcpServers']);
  });

  it('by its content when the name says nothing, or by --client; else it cannot tell', () => {
    expect(of('/tmp/copy.json', ['servers', 'inputs'])).toEqual(['vscode user servers']);
    expect(of('/tmp/copy.json', ['mcpServers'])).toBeUndefined();
    expect(of('/tmp/copy.json', ['mcpServers'], 'cursor')).toEqual(['cursor user mcpServers']);
  });

  it('takes the project of a project file from where the file is', () => {
    expect(locationsOfFile('/elsewhere/.vscode/mcp.json', linux, undefined, [])?.[0]?.project).toBe(
      '/elsewhere',
    );
    expect(locationsOfFile('/elsewhere/.mcp.json', linux, undefined, [])?.[0]?.project).toBe('/elsewhere');
  });
});
