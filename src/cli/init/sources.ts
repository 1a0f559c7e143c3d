import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { GatehouseError } from '../../errors.js';
import {
  CLIENT_NAMES,
  locationsOf,
  locationsOfFile,
  userFile,
  type ClientKind,
  type Location,
  type Machine,
} from './clients.js';
import { readClientText, type ClientText } from './jsonc.js';
import { GATEHOUSE_ENTRY } from './register.js';
import { createVault, type Vault } from './secrets.js';
import { importServer, isSkipped, type ImportedServer, type SkippedServer } from './translate.js';

/**
 * Finding and reading the servers a user already has: in the files given by path, or in every place
 * the chosen clients keep them on this machine; then importing each definition (translate.ts).
 */

export interface Imports {
  servers: ImportedServer[];
  skipped: SkippedServer[];
  /** Servers defined the same way in two places: imported once, removed from both. */
  merged: { original: string; location: Location; into: string }[];
  /** The client files read, by path: their text is what `--apply` edits. */
  texts: Map<string, ClientText>;
  vault: Vault;
  /** Every file looked at, for the message when nothing was found. */
  lookedAt: string[];
  /** Where Gatehouse is registered already (by an earlier `--apply`). */
  registered: Location[];
}

export interface SourceFlags {
  client?: ClientKind;
  from: string[];
}

/** The locations to import from: the files given by path, or every known place of the chosen clients. */
export function sourceLocations(
  flags: SourceFlags,
  machine: Machine,
): { locations: Location[]; given: boolean } {
  if (flags.from.length === 0) {
    const clients = flags.client ? [flags.client] : (Object.keys(CLIENT_NAMES) as ClientKind[]);
    return { locations: clients.flatMap((client) => locationsOf(client, machine)), given: false };
  }
  const locations = flags.from.flatMap((given) => {
    const file = path.resolve(given);
    const text = readClientText(file);
    if (!text) throw new GatehouseError('USAGE', `--from ${given}: no such file`);
    const keys = text.value !== null && typeof text.value === 'object' ? Object.keys(text.value) : [];
    const found = locationsOfFile(file, machine, flags.client, keys);
    if (!found) {
      throw new GatehouseError(
        'USAGE',
        `--from ${given}: cannot tell which client this file belongs to; say it with --client claude-desktop|claude-code|vscode|cursor`,
      );
    }
    return found;
  });
  return { locations, given: true };
}

export function importLocations(locations: readonly Location[], machine: Machine): Imports {
  const imports: Imports = {
    servers: [],
    skipped: [],
    merged: [],
    texts: new Map(),
    vault: createVault(),
    lookedAt: [...new Set(locations.map((l) => l.file))],
    registered: [],
  };
  const byName = new Map<string, ImportedServer>();
  for (const requested of locations) {
    const text = textOf(requested.file, imports.texts);
    if (!text) continue;
    const location = resolveLocation(requested, text.value, machine);
    const servers = location && serversAt(text.value, location);
    if (!location || !servers) continue;
    const disabled = disabledByClient(location, machine, imports.texts);
    for (const [original, definition] of Object.entries(servers)) {
      // Gatehouse itself, registered by an earlier run: replaced, never imported into itself.
      if (original === GATEHOUSE_ENTRY) {
        imports.registered.push(location);
        continue;
      }
      const outcome = importServer(original, definition, {
        location,
        machine,
        vault: imports.vault,
        disabledByClient: disabled.has(original),
      });
      if (isSkipped(outcome)) {
        imports.skipped.push(outcome);
        continue;
      }
      const same = byName.get(outcome.name);
      if (same && isDeepStrictEqual(same.server, outcome.server)) {
        imports.merged.push({ original, location, into: same.name });
        continue;
      }
      let name = outcome.name;
      for (let n = 2; byName.has(name); n++) name = `${outcome.name}-${n}`;
      if (name !== outcome.name) {
        outcome.notes.push(`named "${name}" in Gatehouse: another server is called "${outcome.name}"`);
        outcome.name = name;
      }
      byName.set(name, outcome);
      imports.servers.push(outcome);
    }
  }
  return imports;
}

function textOf(file: string, texts: Map<string, ClientText>): ClientText | undefined {
  if (!texts.has(file)) {
    const text = readClientText(file);
    if (text) texts.set(file, text);
  }
  return texts.get(file);
}

const asObject = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** Claude Code keys a project's settings in ~/.claude.json by its path as it wrote it. */
function projectEntry(document: unknown, machine: Machine): [string, Record<string, unknown>] | undefined {
  const projects = asObject(asObject(document)?.projects);
  const key =
    projects && Object.keys(projects).find((k) => path.resolve(k) === path.resolve(machine.project));
  const entry = key === undefined ? undefined : asObject(projects?.[key]);
  return key !== undefined && entry ? [key, entry] : undefined;
}

/** The location with the project key as the file spells it; undefined when the file has no such project. */
function resolveLocation(location: Location, document: unknown, machine: Machine): Location | undefined {
  if (location.scope !== 'local') return location;
  const entry = projectEntry(document, machine);
  return entry && { ...location, serversPath: ['projects', entry[0], 'mcpServers'] };
}

function serversAt(document: unknown, location: Location): Record<string, unknown> | undefined {
  let value: unknown = document;
  for (const key of location.serversPath) value = asObject(value)?.[key];
  const servers = asObject(value);
  return servers && Object.keys(servers).length > 0 ? servers : undefined;
}

/**
 * Claude Code's per-project switches in ~/.claude.json: servers turned off in the project
 * (`disabledMcpServers`), and .mcp.json servers the user refused (`disabledMcpjsonServers`).
 */
function disabledByClient(location: Location, machine: Machine, texts: Map<string, ClientText>): Set<string> {
  if (location.client !== 'claude-code') return new Set();
  const entry = projectEntry(textOf(userFile('claude-code', machine), texts)?.value, machine)?.[1];
  return new Set([
    ...stringsOf(entry?.disabledMcpServers),
    ...(location.scope === 'project' ? stringsOf(entry?.disabledMcpjsonServers) : []),
  ]);
}

const stringsOf = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
