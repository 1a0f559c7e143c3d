import { mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { verifierKeyLabel } from '../../audit/describe.js';
import {
  createKeyFile,
  generateAuditKey,
  keyRotationRecord,
  readKeyFile,
  rotateKeyFile,
} from '../../audit/keys.js';
import { openAuditLog, type AuditLog } from '../../audit/log.js';
import { keyLabel, parseSignerKey } from '../../audit/note.js';
import { GatehouseError, isGatehouseError } from '../../errors.js';
import type { CliIo } from '../options.js';
import { auditLocation, type LocationFlags } from './location.js';

/**
 * `gatehouse audit keygen` and `rotate-key`. Both print the verifier key to publish on standard output
 * (`gatehouse audit keygen > audit.pub`) and what they did on standard error.
 *
 * Rotation is offline: it takes the log's lock, so a running Gatehouse makes it fail and say so. It
 * records the rotation itself, in this order: the `audit.key_rotated` record (durable), then the key
 * file, then a checkpoint signed with the old key that covers the record (the old key vouches for the
 * new one), then one signed with the new key. A crash before the key file changes leaves a record
 * announcing a key that never signs, which verifies; the reverse order could leave checkpoints signed
 * by a key no record announces.
 */

export async function auditKeygen(
  flags: LocationFlags & { name?: string; out?: string },
  io: CliIo,
): Promise<number> {
  const location = flags.out === undefined ? auditLocation(flags, { keyFile: true }) : undefined;
  const file = path.resolve(flags.out ?? location!.keyFile!);
  const name = flags.name ?? location?.origin ?? `gatehouse/${hostname()}`;
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { verifierKey } = await createKeyFile(file, name);
  io.out(verifierKey);
  io.err(
    `wrote the audit signing key to ${file} (mode 0600). Publish the verifier key above to whoever ` +
      'checks the trail (gatehouse audit verify --key ...); keep the key file secret and backed up.',
  );
  return 0;
}

export async function auditRotateKey(flags: LocationFlags & { name?: string }, io: CliIo): Promise<number> {
  const location = auditLocation(flags, { keyFile: true });
  const keyFile = location.keyFile!;
  const keys = await readKeyFile(keyFile);
  const next = generateAuditKey(flags.name ?? keys.signer.name);
  const nextLabel = verifierKeyLabel(next.verifierKey);
  const previous = keyLabel(keys.signer.name, keys.signer.keyId);

  if (!(await isDirectory(location.dir))) {
    await rotateKeyFile(keyFile, undefined, new Date(), next);
    io.out(next.verifierKey);
    io.err(
      `rotated ${keyFile} from ${previous} to ${nextLabel}; there is no audit log at ${location.dir} yet, so nothing recorded it.`,
    );
    return 0;
  }

  let log: AuditLog;
  try {
    log = await openAuditLog({
      dir: location.dir,
      signer: keys.signer,
      verifiers: keys.verifiers,
      ...(location.origin !== undefined && { origin: location.origin }),
      ...(location.settings && { settings: location.settings }),
    });
  } catch (error) {
    if (!isGatehouseError(error, 'AUDIT_LOG_LOCKED')) throw error;
    throw new GatehouseError(
      'AUDIT_LOG_LOCKED',
      `${error.message}. Stop Gatehouse, then rotate: the rotation is recorded in the log, which only one process may write`,
      error.context,
    );
  }
  try {
    const { seq } = await log.append(keyRotationRecord(keys.signer.verifierKey, next.verifierKey), {
      sync: true,
    });
    await rotateKeyFile(keyFile, undefined, new Date(), next);
    await log.useSigner(parseSignerKey(next.signerKey));
    io.out(next.verifierKey);
    io.err(
      `rotated ${keyFile} from ${previous} to ${nextLabel}: record ${seq} (audit.key_rotated) announces ` +
        `the new key under a checkpoint signed by ${previous}. Publish the new verifier key above, and keep the ` +
        'old one published: it still verifies the checkpoints it signed.',
    );
    return 0;
  } finally {
    await log.close();
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}
