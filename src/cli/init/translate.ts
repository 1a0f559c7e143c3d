import path from 'node:path';
import { readEnvFile } from '../../config/envFile.js';
import { CLIENT_NAMES, type Location, type Machine } from './clients.js';
import { extractSecrets, secretFlag, secretVariable, variableName, type Vault } from './secrets.js';

/**
 * One client server definition as a Gatehouse server entry. The shapes are close (Gatehouse takes
 * `mcpServers` entries as Claude Desktop, Claude Code and Cursor write them, and VS Code's `servers`);
 * what differs is translated here: the clients' own variables, VS Code's `envFile` and `inputs`, and
 * secrets, which move into `${VAR}` references with their values in the vault.
 */

export interface ImportContext {
  location: Location;
  machine: Machine;
  vault: Vault;
  /** Disabled in the client by a list beside the definition (Claude Code's `disabledMcpServers`). */
  disabledByClient: boolean;
}

export interface ImportedServer {
  /** The name in Gatehouse's config: the client's, made a valid server name. */
  name: string;
  /** The name in the client's file. */
  original: string;
  location: Location;
  /** The Gatehouse entry, secrets replaced by `${VAR}`. */
  server: Record<string, unknown>;
  disabled: boolean;
  /** Variables the client hands Gatehouse at launch: name → the client's own expression. */
  passthrough: Record<string, string>;
  /** Variables of the env file this server's entry refers to. */
  secrets: string[];
  notes: string[];
}

export interface SkippedServer {
  original: string;
  location: Location;
  reason: string;
}

const STDIO_KEYS = new Set(['type', 'command', 'args', 'env', 'envFile', 'cwd', 'disabled']);
const HTTP_KEYS = new Set(['type', 'url', 'headers', 'disabled']);
const HTTP_TYPES: Record<string, 'http' | 'sse'> = {
  http: 'http',
  'streamable-http': 'http',
  streamableHttp: 'http',
  sse: 'sse',
};

export function importServer(
  original: string,
  raw: unknown,
  context: ImportContext,
): ImportedServer | SkippedServer {
  const { location } = context;
  const skip = (reason: string): SkippedServer => ({ original, location, reason });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return skip('not an object');
  const definition = raw as Record<string, unknown>;
  const type = typeof definition.type === 'string' ? definition.type : undefined;
  const name = serverName(original);
  const imported: ImportedServer = {
    name,
    original,
    location,
    server: {},
    disabled: definition.disabled === true || context.disabledByClient,
    passthrough: {},
    secrets: [],
    notes: [],
  };
  const references = (value: string) => translateReferences(value, context, imported);
  const secret = (value: string, field: string | undefined) =>
    extractSecrets(references(value), name, field, context.vault);

  if (typeof definition.command === 'string' && (type === undefined || type === 'stdio')) {
    const args = stringList(definition.args);
    // The server's own env wins over its envFile, whose values are references already.
    const env: Record<string, string> = {
      ...envFileVariables(definition.envFile, context, imported),
      ...Object.fromEntries(Object.entries(stringMap(definition.env)).map(([k, v]) => [k, secret(v, k)])),
    };
    const cwd = typeof definition.cwd === 'string' ? references(definition.cwd) : location.project;
    imported.server = {
      command: references(definition.command),
      ...(args.length > 0 ? { args: args.map((arg, i) => secret(arg, secretFlag(args[i - 1]))) } : {}),
      ...(Object.keys(env).length > 0 ? { env } : {}),
      ...(cwd ? { cwd } : {}),
    };
    noteDropped(definition, STDIO_KEYS, imported);
  } else if (typeof definition.url === 'string' && (type === undefined || type in HTTP_TYPES)) {
    const headers = stringMap(definition.headers);
    imported.server = {
      type: HTTP_TYPES[type ?? 'http'],
      url: secret(definition.url, undefined),
      ...(Object.keys(headers).length > 0
        ? { headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, secret(v, k)])) }
        : {}),
    };
    noteDropped(definition, HTTP_KEYS, imported);
  } else if (type !== undefined && type !== 'stdio' && !(type in HTTP_TYPES)) {
    return skip(`its transport "${type}" is not one Gatehouse fronts (stdio, http, sse)`);
  } else {
    return skip('it has neither "command" (stdio) nor "url" (HTTP)');
  }
  if (imported.disabled) imported.server.disabled = true;
  if (name !== original)
    imported.notes.push(`named "${name}" in Gatehouse (server names are A-Z a-z 0-9 _ . -)`);
  imported.secrets = referencedSecrets(imported.server, context.vault);
  return imported;
}

export const isSkipped = (outcome: ImportedServer | SkippedServer): outcome is SkippedServer =>
  'reason' in outcome;

/** A valid Gatehouse server name (1-64 of A-Z a-z 0-9 _ . -) for a client's server name. */
export function serverName(original: string): string {
  const name = original.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 64);
  return name.replace(/-/g, '') === '' ? 'server' : name;
}

/** `${…}` as MCP clients write them: Claude Code's `${VAR}`, VS Code's and Cursor's `${env:VAR}` and more. */
const CLIENT_REFERENCE = /\$\{([^}]*)\}/g;

/**
 * A client's variables as Gatehouse reads them. Claude Code's `${VAR}` and `${VAR:-default}` are
 * Gatehouse's own syntax. VS Code and Cursor write `${env:VAR}` (Gatehouse's `${VAR:-}`: empty when
 * unset, as there), and
 * `${userHome}`, `${workspaceFolder}`, `${pathSeparator}`, resolved here where the file says what they
 * are; VS Code's `${input:id}` is a value the client asks its user for, so the client keeps asking and
 * hands it to Gatehouse in its environment (a passthrough variable). Anything else stays as written.
 */
function translateReferences(value: string, context: ImportContext, imported: ImportedServer): string {
  const { location, machine } = context;
  if (location.client !== 'vscode' && location.client !== 'cursor') return value;
  const p = machine.platform === 'win32' ? path.win32 : path.posix;
  const passthrough = (hint: string, expression: string) => {
    const name = variableName(hint);
    imported.passthrough[name] = expression;
    return `\${${name}}`;
  };
  return value.replace(CLIENT_REFERENCE, (whole, inner: string) => {
    // The client reads an unset variable as empty; so does Gatehouse, given an empty default.
    const env = /^env:([A-Za-z_][A-Za-z0-9_]*)$/.exec(inner);
    if (env) return `\${${env[1]}:-}`;
    const input = /^input:(.+)$/.exec(inner);
    if (input && location.client === 'vscode') return passthrough(`input_${input[1]}`, whole);
    switch (inner) {
      case 'userHome':
        return machine.home;
      case 'pathSeparator':
      case '/':
        return p.sep;
      case 'workspaceFolder':
        return location.project ?? passthrough('workspace_folder', whole);
      case 'workspaceFolderBasename':
        return location.project
          ? p.basename(location.project)
          : passthrough('workspace_folder_basename', whole);
    }
    imported.notes.push(
      `${whole} is a ${CLIENT_NAMES[location.client]} variable Gatehouse cannot resolve; left as it is`,
    );
    return whole;
  });
}

/** VS Code's and Cursor's per-server `envFile`: its variables join the server's env, all as secrets. */
function envFileVariables(
  envFile: unknown,
  context: ImportContext,
  imported: ImportedServer,
): Record<string, string> {
  if (typeof envFile !== 'string') return {};
  const { location, machine } = context;
  const p = machine.platform === 'win32' ? path.win32 : path.posix;
  const named = translateReferences(envFile, context, imported);
  if (named.includes('${')) {
    imported.notes.push(`its envFile ${envFile} depends on the client; its variables were not imported`);
    return {};
  }
  const file = p.resolve(location.project ?? p.dirname(location.file), named);
  try {
    const variables = readEnvFile(file);
    imported.notes.push(
      `the ${Object.keys(variables).length} variable(s) of its envFile ${file} are in Gatehouse's env file now`,
    );
    // Every value of an env file is treated as a secret: whoever wrote it kept them out of the config.
    return Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [
        key,
        `\${${context.vault.put(secretVariable(imported.name, key), value)}}`,
      ]),
    );
  } catch (error) {
    imported.notes.push(`its envFile ${file} cannot be read (${(error as Error).message}); left out`);
    return {};
  }
}

function noteDropped(definition: Record<string, unknown>, known: Set<string>, imported: ImportedServer) {
  const dropped = Object.keys(definition).filter((key) => !known.has(key));
  if (dropped.length > 0) {
    imported.notes.push(`left out ${dropped.map((k) => `"${k}"`).join(', ')}: Gatehouse has no such setting`);
  }
}

const stringList = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v) => v !== null && v !== undefined).map(String) : [];

/** A map of strings; VS Code allows numbers, and null to unset a variable (dropped here). */
function stringMap(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
      .map(([k, v]) => [k, String(v)]),
  );
}

/** The env-file variables a server entry refers to. */
function referencedSecrets(server: Record<string, unknown>, vault: Vault): string[] {
  const names = [...JSON.stringify(server).matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!);
  return [...new Set(names.filter((name) => name in vault.variables))];
}
