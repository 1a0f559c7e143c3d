import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { GatehouseError } from '../errors.js';
import { durableFile } from '../store/durableFile.js';
import {
  generateNoteKey,
  isValidKeyName,
  parseSignerKey,
  parseVerifierKey,
  type NoteSigner,
  type NoteVerifier,
} from './note.js';

/**
 * The audit signing keys, in one JSON file made by `gatehouse audit keygen` (mode 0600). The file keeps
 * every key the log was ever signed with, so that old checkpoints stay verifiable, but only the current
 * key keeps its private half: rotation drops the old one.
 *
 *     { "version": 1, "current": "<name>+<key id>",
 *       "keys": [ { "signer": "PRIVATE+KEY+...", "verifier": "...", "created": "..." },
 *                 { "verifier": "...", "created": "...", "retired": "..." } ] }
 */

const KeyEntrySchema = z.strictObject({
  /** Only on the current key. */
  signer: z.string().optional(),
  verifier: z.string(),
  created: z.iso.datetime(),
  retired: z.iso.datetime().optional(),
});

export const KeyFileSchema = z.strictObject({
  version: z.literal(1),
  /** `<name>+<8 hex key id>` of the key that signs new checkpoints. */
  current: z.string(),
  keys: z.array(KeyEntrySchema).min(1),
  /**
   * 32 random bytes (base64) keying the argument digests in audit records. It outlives key rotation,
   * so one set of arguments has one digest across the whole log.
   */
  digestKey: z.base64().refine((b) => Buffer.from(b, 'base64').length === 32, 'digestKey is 32 bytes'),
});
export type KeyFile = z.infer<typeof KeyFileSchema>;

export interface AuditKeys {
  file: string;
  /** Signs new checkpoints. */
  signer: NoteSigner;
  /** Every key in the file, the current one first: what verifies this log's checkpoints. */
  verifiers: NoteVerifier[];
  /** Keys the argument digests (HMAC-SHA256); secret like the signer. */
  digestKey: Buffer;
}

/** The record content that announces a key rotation; the caller appends it to the log. */
export const KeyRotationSchema = z.strictObject({
  event: z.literal('audit.key_rotated'),
  previousKey: z.string(),
  nextKey: z.string(),
});
export type KeyRotation = z.infer<typeof KeyRotationSchema>;

/** A fresh key: the signer key string (secret) and the verifier key string (to publish). */
export function generateAuditKey(name: string): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) {
    throw new GatehouseError(
      'AUDIT_KEY_INVALID',
      `"${name}" cannot name an audit key: use a non-empty name without spaces or plus, such as example.com/gatehouse`,
      { name },
    );
  }
  return generateNoteKey(name);
}

const labelOf = (verifierKey: string): string => verifierKey.split('+').slice(0, 2).join('+');

/**
 * Writes a new key file with one fresh key. Refuses to replace an existing file: losing a signing key
 * would leave its checkpoints without a signer to continue them.
 */
export async function createKeyFile(
  path: string,
  name: string,
  now = new Date(),
): Promise<{ verifierKey: string }> {
  if (await exists(path)) {
    throw new GatehouseError(
      'AUDIT_KEY_UNAVAILABLE',
      `${path}: a key file already exists; rotate its key instead of replacing the file`,
      { file: path },
    );
  }
  const { signerKey, verifierKey } = generateAuditKey(name);
  const created = now.toISOString();
  await writeKeyFile(path, {
    version: 1,
    current: labelOf(verifierKey),
    keys: [{ signer: signerKey, verifier: verifierKey, created }],
    digestKey: randomBytes(32).toString('base64'),
  });
  return { verifierKey };
}

/**
 * Adds a fresh current key (by default under the current key's name) and retires the old one, whose
 * private half is dropped. Returns both verifier keys, for the rotation record. `next` is a key made
 * beforehand with `generateAuditKey`, so that the rotation can be recorded before the file changes.
 */
export async function rotateKeyFile(
  path: string,
  name?: string,
  now = new Date(),
  next?: { signerKey: string; verifierKey: string },
): Promise<{ previousKey: string; nextKey: string }> {
  const { file, keys } = await loadKeyFile(path);
  const { signerKey, verifierKey } = next ?? generateAuditKey(name ?? keys.signer.name);
  const at = now.toISOString();
  await writeKeyFile(path, {
    version: 1,
    current: labelOf(verifierKey),
    keys: [
      { signer: signerKey, verifier: verifierKey, created: at },
      ...file.keys.map(({ verifier, created, retired }) => ({ verifier, created, retired: retired ?? at })),
    ],
    digestKey: file.digestKey,
  });
  return { previousKey: keys.signer.verifierKey, nextKey: verifierKey };
}

export function keyRotationRecord(previousKey: string, nextKey: string): KeyRotation {
  parseVerifierKey(previousKey);
  parseVerifierKey(nextKey);
  return { event: 'audit.key_rotated', previousKey, nextKey };
}

/**
 * Reads and checks a key file: mode 0600 (no access for group or others, as ssh demands of its keys),
 * the schema, every key, and that the current key has its private half. Errors name the file and the
 * entry, never a key's private part.
 */
export async function readKeyFile(path: string): Promise<AuditKeys> {
  return (await loadKeyFile(path)).keys;
}

async function loadKeyFile(path: string): Promise<{ file: KeyFile; keys: AuditKeys }> {
  const file = await readKeyFileJson(path);
  const invalid = (where: string, problem: string) =>
    new GatehouseError('AUDIT_KEY_INVALID', `${path}: ${where}: ${problem}`, { file: path, where });
  const seen = new Set<string>();
  let signer: NoteSigner | undefined;
  const verifiers = file.keys.map((entry, i) => {
    const verifier = withKeyProblem(
      () => parseVerifierKey(entry.verifier),
      (p) => invalid(`keys[${i}].verifier`, p),
    );
    const label = labelOf(entry.verifier);
    if (seen.has(label)) throw invalid(`keys[${i}]`, `the key ${label} is listed twice`);
    seen.add(label);
    if (entry.signer !== undefined) {
      const parsed = withKeyProblem(
        () => parseSignerKey(entry.signer!),
        (p) => invalid(`keys[${i}].signer`, p),
      );
      if (parsed.verifierKey !== entry.verifier) {
        throw invalid(`keys[${i}]`, 'the signer key does not belong to the verifier key beside it');
      }
      if (label === file.current) signer = parsed;
    }
    return verifier;
  });
  if (!seen.has(file.current)) throw invalid('current', `no key ${file.current} is listed`);
  if (signer === undefined) throw invalid('current', `the key ${file.current} has no signer (private) key`);
  const current = verifiers.find((v) => labelOf(v.key) === file.current)!;
  return {
    file,
    keys: {
      file: path,
      signer,
      verifiers: [current, ...verifiers.filter((v) => v !== current)],
      digestKey: Buffer.from(file.digestKey, 'base64'),
    },
  };
}

/**
 * Verifier keys as an auditor keeps them: one per line, blank lines and `#` comments ignored.
 * `source` names the file in errors.
 */
export function parseVerifierKeys(text: string, source: string): NoteVerifier[] {
  const verifiers: NoteVerifier[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    verifiers.push(
      withKeyProblem(
        () => parseVerifierKey(line),
        (problem) =>
          new GatehouseError('AUDIT_KEY_INVALID', `${source}:${i + 1}: ${problem}`, {
            file: source,
            line: i + 1,
          }),
      ),
    );
  });
  return verifiers;
}

function withKeyProblem<T>(parse: () => T, wrap: (problem: string) => GatehouseError): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof GatehouseError && error.code === 'AUDIT_KEY_INVALID') throw wrap(error.message);
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw unavailable(path, error);
  }
}

function unavailable(path: string, error: unknown): GatehouseError {
  const code = (error as NodeJS.ErrnoException).code;
  const problem =
    code === 'ENOENT'
      ? 'no such key file; create one with `gatehouse audit keygen`'
      : `cannot be read (${code ?? 'error'})`;
  return new GatehouseError(
    'AUDIT_KEY_UNAVAILABLE',
    `${path}: ${problem}`,
    { file: path, errno: code },
    { cause: error },
  );
}

async function readKeyFileJson(path: string): Promise<KeyFile> {
  let text: string;
  let mode: number;
  try {
    mode = (await stat(path)).mode;
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unavailable(path, error);
  }
  if ((mode & 0o077) !== 0) {
    throw new GatehouseError(
      'AUDIT_KEY_INVALID',
      `${path}: the key file is open to group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`,
      { file: path, mode: mode & 0o777 },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the text around the error, which may be a private key.
    throw new GatehouseError('AUDIT_KEY_INVALID', `${path}: the key file is not valid JSON`, { file: path });
  }
  const parsed = KeyFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
    throw new GatehouseError('AUDIT_KEY_INVALID', `${path}: ${where}: ${issue.message}`, {
      file: path,
      where,
    });
  }
  return parsed.data;
}

async function writeKeyFile(path: string, file: KeyFile): Promise<void> {
  try {
    // A key in a folder of its own that does not exist yet (./.gatehouse on a first start).
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await durableFile(path).write(`${JSON.stringify(file, null, 2)}\n`);
  } catch (error) {
    throw unavailable(path, error);
  }
}
