import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors.js';
import { signCheckpoint, openCheckpoint } from './checkpoint.js';
import {
  createKeyFile,
  generateAuditKey,
  keyRotationRecord,
  parseVerifierKeys,
  readKeyFile,
  rotateKeyFile,
  type KeyFile,
} from './keys.js';
import { EMPTY_ROOT } from './merkle.js';
import { parseVerifierKey } from './note.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-keys-'));
  path = join(dir, 'audit-key.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

async function failure(run: () => Promise<unknown>): Promise<GatehouseError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof GatehouseError) return error;
    throw error;
  }
  throw new Error('expected a GatehouseError');
}

const secretOf = (file: KeyFile): string => file.keys[0]!.signer!.split('+')[4]!;

describe('audit key files', () => {
  it('creates a 0600 file whose key signs checkpoints its verifier key verifies', async () => {
    const { verifierKey } = await createKeyFile(path, 'example.com/gatehouse');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const keys = await readKeyFile(path);
    expect(keys.signer.verifierKey).toBe(verifierKey);
    expect(keys.verifiers.map((v) => v.key)).toEqual([verifierKey]);
    const signed = signCheckpoint(
      { origin: 'example.com/gatehouse', size: 0, rootHash: EMPTY_ROOT, extensions: [] },
      keys.signer,
    );
    expect(openCheckpoint(signed.note, [parseVerifierKey(verifierKey)]).checkpoint.size).toBe(0);
  });

  it('refuses to replace an existing key file', async () => {
    await createKeyFile(path, 'example.com/gatehouse');
    const before = await readFile(path, 'utf8');
    const error = await failure(() => createKeyFile(path, 'example.com/gatehouse'));
    expect(error.code).toBe('AUDIT_KEY_UNAVAILABLE');
    expect(error.message).toContain(path);
    expect(await readFile(path, 'utf8')).toBe(before);
  });

  it('rotates: a new current key, the old one kept as a verifier without its private half', async () => {
    const { verifierKey: first } = await createKeyFile(path, 'example.com/gatehouse');
    const firstSecret = secretOf(JSON.parse(await readFile(path, 'utf8')) as KeyFile);
    const { digestKey } = await readKeyFile(path);
    expect(digestKey).toHaveLength(32);
    const { previousKey, nextKey } = await rotateKeyFile(path, undefined, new Date('2026-03-01T00:00:00Z'));
    expect(previousKey).toBe(first);
    const keys = await readKeyFile(path);
    expect(keys.signer.verifierKey).toBe(nextKey);
    expect(keys.signer.name).toBe('example.com/gatehouse');
    // Argument digests stay comparable across the rotation.
    expect(keys.digestKey.equals(digestKey)).toBe(true);
    expect(keys.verifiers.map((v) => v.key)).toEqual([nextKey, first]);
    const text = await readFile(path, 'utf8');
    expect(text).not.toContain(firstSecret);
    expect((JSON.parse(text) as KeyFile).keys[1]).toMatchObject({ retired: '2026-03-01T00:00:00.000Z' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(keyRotationRecord(previousKey, nextKey)).toEqual({
      event: 'audit.key_rotated',
      previousKey: first,
      nextKey,
    });
  });

  it('refuses a key file others can read, naming the file and the fix', async () => {
    await createKeyFile(path, 'example.com/gatehouse');
    await chmod(path, 0o644);
    const error = await failure(() => readKeyFile(path));
    expect(error.code).toBe('AUDIT_KEY_INVALID');
    expect(error.message).toBe(
      `${path}: the key file is open to group or others (mode 644); run chmod 600 on it`,
    );
  });

  it('names the file and the entry of every problem, never quoting a private key', async () => {
    const DIGEST_KEY = Buffer.alloc(32, 7).toString('base64');
    const { signerKey, verifierKey } = generateAuditKey('example.com/gatehouse');
    const other = generateAuditKey('example.com/gatehouse');
    const label = verifierKey.split('+').slice(0, 2).join('+');
    const secret = signerKey.split('+')[4]!;
    const cases: [unknown, string][] = [
      [`${signerKey} not json`, `${path}: the key file is not valid JSON`],
      [{ version: 2, current: label, keys: [] }, `${path}: version: `],
      [
        {
          version: 1,
          current: label,
          keys: [{ signer: signerKey.slice(0, -4), verifier: verifierKey, created: '2026-01-01T00:00:00Z' }],
          digestKey: DIGEST_KEY,
        },
        `${path}: keys[0].signer: `,
      ],
      [
        {
          version: 1,
          current: label,
          keys: [{ signer: other.signerKey, verifier: verifierKey, created: '2026-01-01T00:00:00Z' }],
          digestKey: DIGEST_KEY,
        },
        `${path}: keys[0]: the signer key does not belong to the verifier key beside it`,
      ],
      [
        {
          version: 1,
          current: label,
          keys: [{ verifier: verifierKey, created: '2026-01-01T00:00:00Z' }],
          digestKey: DIGEST_KEY,
        },
        `${path}: current: the key ${label} has no signer (private) key`,
      ],
      [
        {
          version: 1,
          current: 'x+00000000',
          keys: [{ signer: signerKey, verifier: verifierKey, created: '2026-01-01T00:00:00Z' }],
          digestKey: DIGEST_KEY,
        },
        `${path}: current: no key x+00000000 is listed`,
      ],
    ];
    for (const [content, message] of cases) {
      await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content), { mode: 0o600 });
      const error = await failure(() => readKeyFile(path));
      expect(error.code).toBe('AUDIT_KEY_INVALID');
      expect(error.message.startsWith(message), error.message).toBe(true);
      expect(error.message).not.toContain(secret);
      expect(JSON.stringify(error.context)).not.toContain(secret);
    }
  });

  it('says how to make a key file that does not exist', async () => {
    const error = await failure(() => readKeyFile(path));
    expect(error.code).toBe('AUDIT_KEY_UNAVAILABLE');
    expect(error.message).toBe(`${path}: no such key file; create one with \`gatehouse audit keygen\``);
  });

  it('refuses a key name with a space or plus', () => {
    expect(() => generateAuditKey('my log')).toThrow(/cannot name an audit key/);
    expect(() => generateAuditKey('a+b')).toThrow(/cannot name an audit key/);
  });

  it('reads verifier key lists with comments, naming the line of a bad key', () => {
    const { verifierKey } = generateAuditKey('example.com/gatehouse');
    expect(parseVerifierKeys(`# auditor's keys\n\n${verifierKey}\n`, 'keys.txt').map((v) => v.key)).toEqual([
      verifierKey,
    ]);
    expect(() => parseVerifierKeys(`${verifierKey}\nnot-a-key\n`, 'keys.txt')).toThrow(/^keys\.txt:2: /);
  });
});
