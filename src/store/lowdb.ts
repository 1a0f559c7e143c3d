import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { ApprovalRequestSchema, type ApprovalRequest } from '../approvals/request.js';
import { GatehouseError, describeError, isGatehouseError } from '../errors.js';
import { emptyDocument, upgradeDocument, type StoreDocument } from './document.js';
import { documentStore } from './documentStore.js';
import { appendDurably, durableFile, type DurableFile } from './durableFile.js';
import { releaseLeases } from './outbox.js';
import { lockStore } from './lock.js';
import type { ApprovalStore } from './store.js';

/**
 * The embedded default store: one lowdb JSON document in one file, written whole on every change
 * through a durable adapter, by one process at a time. Fails fast with STORE_LOCKED when another live
 * process holds the file, STORE_INVALID / STORE_VERSION_UNSUPPORTED when the file cannot be read as a
 * store, and STORE_UNAVAILABLE on I/O errors. A missing file is created (with its directory).
 */
export async function openLowdbStore(file: string): Promise<ApprovalStore> {
  const path = resolve(file);
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (error) {
    throw unavailable(path, error);
  }
  const lock = await lockStore(path).catch((error: unknown) => {
    throw isGatehouseError(error) ? error : unavailable(path, error);
  });
  try {
    const db = new Low<StoreDocument>(storeAdapter(durableFile(path)), emptyDocument());
    await db.read();
    // Under the lock no other live process delivers from this file: a lease in it is a dead one's.
    db.data = releaseLeases(db.data);
    // Write at once: a new or migrated store is on disk, in the current version, before anything relies
    // on it, and a read-only or full disk shows now rather than at the first approval.
    await db.write();
    return documentStore(
      db.data,
      {
        write: async (document) => {
          db.data = document;
          await db.write();
        },
        archive: (requests) =>
          appendDurably(archivePath(path), requests.map((r) => `${JSON.stringify(r)}\n`).join('')),
        close: () => lock.release(),
      },
      path,
    );
  } catch (error) {
    await lock.release();
    throw isGatehouseError(error) ? error : unavailable(path, error);
  }
}

/**
 * A store file as the current version reads it (older versions upgraded, untrusted records
 * quarantined), its leases released, and its archive's requests; read under the file's lock, so no
 * live Gatehouse is using it. For moving a store elsewhere (`gatehouse store migrate`).
 */
export async function readLowdbStore(
  file: string,
): Promise<{ document: StoreDocument; archived: ApprovalRequest[] }> {
  const path = resolve(file);
  const lock = await lockStore(path);
  try {
    const document = await storeAdapter(durableFile(path)).read();
    if (!document) {
      throw new GatehouseError('STORE_UNAVAILABLE', `${path}: no such store file`, { file: path });
    }
    const archive = await durableFile(archivePath(path)).read();
    const archived = (archive ?? '')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line, index) => archivedRequest(line, `${archivePath(path)}:${index + 1}`));
    return { document: releaseLeases(document), archived };
  } catch (error) {
    throw isGatehouseError(error) ? error : unavailable(path, error);
  } finally {
    await lock.release();
  }
}

function archivedRequest(line: string, where: string): ApprovalRequest {
  let parsed;
  try {
    parsed = ApprovalRequestSchema.safeParse(JSON.parse(line));
  } catch (error) {
    throw new GatehouseError('STORE_INVALID', `${where}: not JSON (${describeError(error)})`, {
      file: where,
    });
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GatehouseError(
      'STORE_INVALID',
      `${where}: not an archived request: ${issue?.path.join('.')}: ${issue?.message}`,
      { file: where },
    );
  }
  return parsed.data;
}

/** Finished requests moved out of the store: one JSON request per line, appended, never rewritten. */
export const archivePath = (storePath: string) => `${storePath}.archive.jsonl`;

/** lowdb's adapter contract over a durable file: JSON text on disk, a validated, current document in memory. */
function storeAdapter(file: DurableFile): Adapter<StoreDocument> {
  return {
    read: async () => {
      const text = await file.read();
      if (text === undefined) return null;
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (error) {
        throw new GatehouseError(
          'STORE_INVALID',
          `${file.path}: not a Gatehouse store (not JSON: ${describeError(error)})`,
          {
            file: file.path,
          },
        );
      }
      return upgradeDocument(raw, file.path);
    },
    write: (document) => file.write(`${JSON.stringify(document, null, 2)}\n`),
  };
}

function unavailable(path: string, error: unknown): GatehouseError {
  return new GatehouseError(
    'STORE_UNAVAILABLE',
    `${path}: cannot open the store: ${describeError(error)}`,
    { file: path },
    { cause: error },
  );
}
