import {
  constants,
  copyFileSync,
  existsSync,
  readdirSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { GatehouseError } from '../../errors.js';
import { CLIENT_NAMES, type Location } from './clients.js';
import { editJsonc, type JsonEdit } from './jsonc.js';
import type { Imports } from './sources.js';

/**
 * The client side: the entry that registers Gatehouse in a client instead of the servers it now
 * fronts, shown for the user to paste or (`--apply`) written into the client's own file after a
 * backup beside it, which `--undo` puts back.
 */

/** The name Gatehouse is registered under in every client. */
export const GATEHOUSE_ENTRY = 'gatehouse';

/** How a client starts Gatehouse: a command and its arguments, `serve --config <file>` included. */
export interface Launch {
  command: string;
  args: string[];
}

/**
 * This Gatehouse, launched as it was launched now: the same node (an absolute path, since GUI clients
 * do not see the shell's PATH), the same loader (`--import tsx` from a checkout, resolved to a file so
 * that it works from any folder) and the same entry point.
 */
export function selfLaunch(configFile: string): Launch {
  const execArgs: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i]!;
    const inline = /^--import=(.+)$/.exec(arg)?.[1];
    const specifier = inline ?? (arg === '--import' ? process.execArgv[++i] : undefined);
    if (specifier !== undefined) execArgs.push('--import', resolveSpecifier(specifier));
  }
  return {
    command: process.execPath,
    args: [...execArgs, path.resolve(process.argv[1]!), 'serve', '--config', configFile],
  };
}

function resolveSpecifier(specifier: string): string {
  if (/^(?:file|data|node):/.test(specifier) || path.isAbsolute(specifier)) return specifier;
  try {
    return import.meta.resolve(specifier);
  } catch {
    return specifier;
  }
}

/** The entry for Gatehouse in a client's servers block, with the variables the client hands it. */
export function clientEntry(location: Location, launch: Launch, passthrough: Record<string, string>) {
  const env = Object.keys(passthrough).length > 0 ? { env: passthrough } : {};
  switch (location.client) {
    case 'vscode':
      return { type: 'stdio', command: launch.command, args: launch.args, ...env };
    case 'claude-code':
      // As `claude mcp add` writes a stdio server.
      return { type: 'stdio', command: launch.command, args: launch.args, env: passthrough };
    default:
      return { command: launch.command, args: launch.args, ...env };
  }
}

/** The edits to a client's file: the moved servers out, Gatehouse in. */
export function registrationEdits(location: Location, moved: readonly string[], entry: unknown): JsonEdit[] {
  return [
    ...moved.map((name) => ({ path: [...location.serversPath, name], value: undefined })),
    { path: [...location.serversPath, GATEHOUSE_ENTRY], value: entry },
  ];
}

/** What to do by hand in the client, for the location: a JSON block to paste, or the `claude` commands. */
export function manualSteps(location: Location, moved: readonly string[], entry: unknown): string[] {
  const where = `${CLIENT_NAMES[location.client]} (${location.file}${location.scope === 'local' ? `, projects["${location.project}"]` : ''})`;
  if (location.client === 'claude-code') {
    const scope = `--scope ${location.scope}`;
    const { command, args, env } = entry as Launch & { env: Record<string, string> };
    return [
      `In ${where}${location.scope === 'user' ? '' : `, run in ${location.project}`}:`,
      ...moved.map((name) => `  claude mcp remove ${scope} ${shellQuote(name)}`),
      `  claude mcp add ${scope}${Object.entries(env)
        .map(([k, v]) => ` --env ${shellQuote(`${k}=${v}`)}`)
        .join('')} ${GATEHOUSE_ENTRY} -- ${[command, ...args].map(shellQuote).join(' ')}`,
    ];
  }
  const key = location.serversPath[location.serversPath.length - 1]!;
  return [
    `In ${where}, remove ${moved.map((n) => `"${n}"`).join(', ')} from "${key}" and add:`,
    ...JSON.stringify({ [key]: { [GATEHOUSE_ENTRY]: entry } }, null, 2)
      .split('\n')
      .map((line) => `  ${line}`),
  ];
}

export interface Registration {
  location: Location;
  moved: string[];
  entry: unknown;
}

/** For each place servers came from: the servers that move behind Gatehouse and the entry replacing them. */
export function registrations(imports: Imports, launch: Launch): Registration[] {
  const byLocation = new Map<string, Registration & { passthrough: Record<string, string> }>();
  const at = (location: Location) => {
    const key = JSON.stringify([location.file, location.serversPath]);
    let registration = byLocation.get(key);
    if (!registration) {
      registration = { location, moved: [], entry: undefined, passthrough: {} };
      byLocation.set(key, registration);
    }
    return registration;
  };
  for (const server of imports.servers) {
    const registration = at(server.location);
    registration.moved.push(server.original);
    Object.assign(registration.passthrough, server.passthrough);
  }
  for (const merged of imports.merged) at(merged.location).moved.push(merged.original);
  return [...byLocation.values()].map(({ location, moved, passthrough }) => ({
    location,
    moved,
    entry: clientEntry(location, launch, passthrough),
  }));
}

export function editsByFile(changes: readonly Registration[]): Map<string, JsonEdit[]> {
  const out = new Map<string, JsonEdit[]>();
  for (const change of changes) {
    out.set(change.location.file, [
      ...(out.get(change.location.file) ?? []),
      ...registrationEdits(change.location, change.moved, change.entry),
    ]);
  }
  return out;
}

/** POSIX shell quoting, only where needed. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const BACKUP = '.gatehouse-backup-';

/**
 * Writes `edits` into the client's file, after copying it byte for byte to a timestamped backup beside
 * it (mode kept: ~/.claude.json is private). The new text replaces the file atomically. Resolves to the
 * backup's path.
 */
export function applyEdits(file: string, text: string, edits: readonly JsonEdit[], now: Date): string {
  const edited = editJsonc(text, edits);
  try {
    // A client file may be a link into a dotfiles folder: the file it points to is the one to change.
    const target = realpathSync(file);
    const backup = backupName(target, now);
    copyFileSync(target, backup, constants.COPYFILE_EXCL);
    replaceFile(target, edited, statSync(target).mode);
    return backup;
  } catch (error) {
    throw new GatehouseError('CLIENT_CONFIG_INVALID', `${file}: cannot rewrite the file (${String(error)})`, {
      file,
    });
  }
}

/** The newest backup of `file` copied back over it, and removed; undefined when there is none. */
export function undoLatest(file: string): string | undefined {
  const target = existsSync(file) ? realpathSync(file) : file;
  const backup = backupsOf(target).at(-1);
  if (!backup) return undefined;
  try {
    const temporary = `${target}.gatehouse-restore-${process.pid}`;
    copyFileSync(backup, temporary);
    renameSync(temporary, target);
    unlinkSync(backup);
  } catch (error) {
    throw new GatehouseError(
      'CLIENT_CONFIG_INVALID',
      `${file}: cannot restore ${backup} (${String(error)})`,
      { file },
    );
  }
  return backup;
}

/** The backups of `file`, oldest first (their names sort by time). */
export function backupsOf(file: string): string[] {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}${BACKUP}`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => path.join(dir, name));
}

/** `<file>.gatehouse-backup-2026-03-02T09-10-00.000Z`: sortable, and without `:` (Windows refuses it). */
function backupName(file: string, now: Date): string {
  const stamp = now.toISOString().replace(/:/g, '-');
  let name = `${file}${BACKUP}${stamp}`;
  for (let n = 2; backupsOf(file).includes(name); n++) name = `${file}${BACKUP}${stamp}-${n}`;
  return name;
}

function replaceFile(file: string, text: string, mode: number): void {
  const temporary = `${file}.gatehouse-write-${process.pid}`;
  writeFileSync(temporary, text, { mode: mode & 0o777 });
  renameSync(temporary, file);
}
