import path from 'node:path';

/**
 * Where each MCP client keeps its server definitions, on Linux, macOS and Windows, as their documentation
 * gives it: Claude Desktop's claude_desktop_config.json in its app-data folder, Claude Code's
 * ~/.claude.json (user scope, and a project's local scope under `projects[<path>]`) and a project's
 * .mcp.json, VS Code's user mcp.json (beside its settings.json) and a workspace's .vscode/mcp.json,
 * Cursor's ~/.cursor/mcp.json and a project's .cursor/mcp.json. Pure: the machine is a parameter, so
 * every platform's paths are tested on any.
 */

export const CLIENTS = ['claude-desktop', 'claude-code', 'vscode', 'cursor'] as const;
export type ClientKind = (typeof CLIENTS)[number];

export const CLIENT_NAMES: Record<ClientKind, string> = {
  'claude-desktop': 'Claude Desktop',
  'claude-code': 'Claude Code',
  vscode: 'VS Code',
  cursor: 'Cursor',
};

export interface Machine {
  platform: NodeJS.Platform;
  home: string;
  env: NodeJS.ProcessEnv;
  /** The project folder: where project-scoped files are looked for. */
  project: string;
}

export type Scope = 'user' | 'project' | 'local';

/** One block of server definitions in a client's file. */
export interface Location {
  client: ClientKind;
  file: string;
  /** The JSON path of the block: `mcpServers`, `servers` (VS Code), `projects.<path>.mcpServers`. */
  serversPath: string[];
  scope: Scope;
  /** The project a project or local scope belongs to: `${workspaceFolder}`, and the servers' folder. */
  project?: string;
}

const pathsOf = (machine: Machine) => (machine.platform === 'win32' ? path.win32 : path.posix);

/** The per-user application data folder Electron apps (Claude Desktop, VS Code) keep settings in. */
function appDataDir(machine: Machine): string {
  const p = pathsOf(machine);
  if (machine.platform === 'darwin') return p.join(machine.home, 'Library', 'Application Support');
  if (machine.platform === 'win32') return machine.env.APPDATA ?? p.join(machine.home, 'AppData', 'Roaming');
  return machine.env.XDG_CONFIG_HOME || p.join(machine.home, '.config');
}

/** The client's user-level file on this machine. */
export function userFile(client: ClientKind, machine: Machine): string {
  const p = pathsOf(machine);
  switch (client) {
    case 'claude-desktop':
      return p.join(appDataDir(machine), 'Claude', 'claude_desktop_config.json');
    case 'claude-code':
      return p.join(machine.home, '.claude.json');
    case 'vscode':
      return p.join(appDataDir(machine), 'Code', 'User', 'mcp.json');
    case 'cursor':
      return p.join(machine.home, '.cursor', 'mcp.json');
  }
}

/** The client's file inside a project, if it has one. */
export function projectFile(client: ClientKind, machine: Machine): string | undefined {
  const p = pathsOf(machine);
  switch (client) {
    case 'claude-desktop':
      return undefined;
    case 'claude-code':
      return p.join(machine.project, '.mcp.json');
    case 'vscode':
      return p.join(machine.project, '.vscode', 'mcp.json');
    case 'cursor':
      return p.join(machine.project, '.cursor', 'mcp.json');
  }
}

const serversKey = (client: ClientKind) => (client === 'vscode' ? 'servers' : 'mcpServers');

/** Every place the client may hold servers on this machine, most specific first (Claude Code's precedence). */
export function locationsOf(client: ClientKind, machine: Machine): Location[] {
  const project = projectFile(client, machine);
  return [
    ...userLocations(client, userFile(client, machine), machine),
    ...(project ? [projectLocation(client, project, machine)] : []),
  ].sort((a, b) => SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope]);
}

const SCOPE_ORDER: Record<Scope, number> = { local: 0, project: 1, user: 2 };

function userLocations(client: ClientKind, file: string, machine: Machine): Location[] {
  const user: Location = { client, file, serversPath: [serversKey(client)], scope: 'user' };
  if (client !== 'claude-code') return [user];
  // Claude Code's local scope: servers for one project, kept in ~/.claude.json under its path.
  return [
    user,
    {
      client,
      file,
      serversPath: ['projects', machine.project, 'mcpServers'],
      scope: 'local',
      project: machine.project,
    },
  ];
}

function projectLocation(client: ClientKind, file: string, machine: Machine): Location {
  const p = pathsOf(machine);
  // .mcp.json sits in the project folder; .vscode/mcp.json and .cursor/mcp.json one level down.
  const project = client === 'claude-code' ? p.dirname(file) : p.dirname(p.dirname(file));
  return { client, file, serversPath: [serversKey(client)], scope: 'project', project };
}

/**
 * The locations of a file given by path: its client from `client` or from its name and folder
 * (claude_desktop_config.json, .claude.json, .mcp.json, .vscode/mcp.json, .cursor/mcp.json, a VS Code
 * `User/mcp.json`), else from its top-level key (`servers` is VS Code's). Undefined: cannot tell.
 */
export function locationsOfFile(
  file: string,
  machine: Machine,
  client: ClientKind | undefined,
  topLevelKeys: readonly string[],
): Location[] | undefined {
  const p = pathsOf(machine);
  const base = p.basename(file);
  const folder = p.basename(p.dirname(file));
  const named: ClientKind | undefined =
    base === 'claude_desktop_config.json'
      ? 'claude-desktop'
      : base === '.claude.json' || base === '.mcp.json'
        ? 'claude-code'
        : folder === '.vscode' || (base === 'mcp.json' && folder === 'User')
          ? 'vscode'
          : folder === '.cursor'
            ? 'cursor'
            : topLevelKeys.includes('servers') && !topLevelKeys.includes('mcpServers')
              ? 'vscode'
              : undefined;
  const kind = client ?? named;
  if (!kind) return undefined;
  const inProject =
    base === '.mcp.json' ||
    folder === '.vscode' ||
    (folder === '.cursor' && p.resolve(p.dirname(p.dirname(file))) !== p.resolve(machine.home));
  if (inProject) return [projectLocation(kind, file, machine)];
  return userLocations(kind, file, machine).filter(
    // A .claude.json given by path: its user scope, and the local scope of the project init runs for.
    (location) => location.scope === 'user' || base === '.claude.json',
  );
}
