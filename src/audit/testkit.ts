import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINTS_FILE } from './files.js';
import { openAuditLog, type AuditLog, type AuditLogOptions } from './log.js';
import {
  generateNoteKey,
  parseSignerKey,
  parseVerifierKey,
  type NoteSigner,
  type NoteVerifier,
} from './note.js';

/** Builders shared by the audit log's tests: real directories under the system temp dir. */

export interface TestKey {
  signer: NoteSigner;
  verifier: NoteVerifier;
  verifierKey: string;
  /** The secret key string, for a child process to sign with. */
  signerKey: string;
}

export function testKey(name = 'audit.test/gatehouse'): TestKey {
  const { signerKey, verifierKey } = generateNoteKey(name);
  return {
    signer: parseSignerKey(signerKey),
    verifier: parseVerifierKey(verifierKey),
    verifierKey,
    signerKey,
  };
}

export async function tempDir(
  prefix = 'gatehouse-audit-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A log with small, test-friendly settings unless overridden. */
export function openTestLog(
  dir: string,
  key: TestKey,
  options: Partial<AuditLogOptions> = {},
): Promise<AuditLog> {
  return openAuditLog({
    dir,
    signer: key.signer,
    ...options,
    settings: {
      groupCommit: { maxDelayMs: 0 },
      checkpoint: { everyRecords: 1000, everySeconds: 3600 },
      ...options.settings,
    },
  });
}

/** Appends `count` records `{ event: 'test', n }`, synced, and closes the log. */
export async function writeRecords(
  dir: string,
  key: TestKey,
  count: number,
  options: Partial<AuditLogOptions> = {},
) {
  const log = await openTestLog(dir, key, options);
  for (let n = 0; n < count; n++) await log.append({ event: 'test', n }, { sync: n === count - 1 });
  await log.close();
}

export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('segment-')).sort();
}

/** The lines of one file (without newlines), and a way to write them back changed. */
export async function lines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  return text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
}

export async function writeLines(path: string, content: readonly string[]): Promise<void> {
  await writeFile(path, content.map((line) => `${line}\n`).join(''));
}

export const checkpointsPath = (dir: string): string => join(dir, CHECKPOINTS_FILE);
