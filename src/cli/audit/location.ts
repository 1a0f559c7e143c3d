import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { AuditLogSettings } from '../../audit/options.js';
import { CHECKPOINTS_FILE } from '../../audit/files.js';
import { parseVerifierKeys, readKeyFile } from '../../audit/keys.js';
import { logSettings } from '../../audit/trail.js';
import { keyLabel, parseVerifierKey, type NoteVerifier } from '../../audit/note.js';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { GatehouseError } from '../../errors.js';

/**
 * Where `gatehouse audit …` finds the log, the key file and the keys to verify with: explicit flags
 * (`--dir`, `--key-file`), else the Gatehouse config (`--config`, by default ./mcp.config.json). An
 * auditor holding only a copy of the log and the published verifier key needs no config at all.
 */

export interface LocationFlags {
  config?: string;
  dir?: string;
  keyFile?: string;
}

export interface AuditLocation {
  dir: string;
  /** Present when the flags or the config name it. */
  keyFile?: string;
  origin?: string;
  /** The engine's settings from the config (defaults without one). */
  settings?: AuditLogSettings;
  /** The mirror's checkpoint file, when the config names a mirror directory. */
  mirrorCheckpoints?: string;
}

export const withLocation = (command: Command): Command =>
  command
    .addOption(new Option('-c, --config <file>', `Gatehouse config (default: ${DEFAULT_CONFIG_FILE})`))
    .option('--dir <dir>', "audit log directory (default: the config's audit.dir)")
    .option('--key-file <file>', "the signing key file (default: the config's audit.keyFile)");

/** The config is read only when asked for, or when the flags leave out something the command needs. */
export function auditLocation(flags: LocationFlags, need: { keyFile?: boolean } = {}): AuditLocation {
  const needConfig =
    flags.config !== undefined ||
    flags.dir === undefined ||
    (need.keyFile === true && flags.keyFile === undefined);
  const config = needConfig ? readConfig(flags) : undefined;
  const audit = config?.audit;
  const mirror = audit?.mirror.dir;
  const file = flags.keyFile ?? audit?.keyFile;
  return {
    dir: path.resolve(flags.dir ?? audit!.dir),
    ...(file !== undefined && { keyFile: path.resolve(file) }),
    ...(audit?.origin !== undefined && { origin: audit.origin }),
    ...(audit && { settings: logSettings(audit) }),
    ...(mirror !== undefined && { mirrorCheckpoints: path.join(mirror, CHECKPOINTS_FILE) }),
  };
}

/** The key file the command needs. */
export const keyFileOf = (flags: LocationFlags): string => auditLocation(flags, { keyFile: true }).keyFile!;

function readConfig(flags: LocationFlags): Config {
  const file = flags.config ?? DEFAULT_CONFIG_FILE;
  if (flags.config === undefined && !existsSync(file)) {
    throw new GatehouseError(
      'USAGE',
      `no ${DEFAULT_CONFIG_FILE} here: name the audit log with --dir DIR ` +
        `(and --key-file FILE where a command needs the key file), or a config with --config FILE`,
    );
  }
  return loadConfig(file);
}

/** Collects a repeatable option's values (commander passes the ones so far, or undefined at first). */
export const repeatable = (value: string, all: string[] | undefined): string[] => [...(all ?? []), value];

export interface KeyFlags {
  key?: string[];
  keys?: string;
}

export const withVerifierKeys = (command: Command): Command =>
  command
    .option('--key <pubkey>', 'a verifier key to trust (repeatable)', repeatable)
    .option('--keys <file>', 'a file of verifier keys, one per line (# comments)');

export interface VerifierKeys {
  keys: NoteVerifier[];
  /** Where the keys came from, for the person reading the result. */
  source: string;
  /** Keys from the key file beside the log prove less than keys published elsewhere. */
  local: boolean;
}

/** The keys to verify with: --key, --keys, else every key of the key file. */
export async function verifierKeys(flags: KeyFlags, keyFile: () => string): Promise<VerifierKeys> {
  const given = flags.key ?? [];
  if (given.length > 0 || flags.keys !== undefined) {
    const keys = given.map((key) => parseVerifierKey(key));
    if (flags.keys !== undefined) {
      let text: string;
      try {
        text = await readFile(flags.keys, 'utf8');
      } catch (error) {
        throw new GatehouseError(
          'AUDIT_KEY_UNAVAILABLE',
          `${flags.keys}: cannot read the verifier keys (${(error as NodeJS.ErrnoException).code ?? error})`,
        );
      }
      const listed = parseVerifierKeys(text, flags.keys);
      if (listed.length === 0)
        throw new GatehouseError('AUDIT_KEY_INVALID', `${flags.keys}: no verifier key`);
      keys.push(...listed);
    }
    const from = [given.length > 0 && '--key', flags.keys !== undefined && flags.keys].filter(Boolean);
    return { keys, source: `${keys.length} key(s) from ${from.join(' and ')}`, local: false };
  }
  const file = keyFile();
  const { verifiers } = await readKeyFile(file);
  return {
    keys: verifiers,
    source: `${verifiers.length} key(s) from the key file ${file}`,
    local: true,
  };
}

export const keyLabels = (keys: readonly NoteVerifier[]): string =>
  keys.map((k) => keyLabel(k.name, k.keyId)).join(', ');
