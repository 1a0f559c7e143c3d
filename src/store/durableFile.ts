import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { serial } from '../shared/serial.js';

/**
 * A text file replaced atomically and durably: the new content goes to `<file>.tmp`, which is fsynced,
 * renamed over the file, and then the directory is fsynced so the rename itself survives a power cut.
 * A crash at any point leaves the old content or the new one, never a mix. Writes run one at a time in
 * call order and resolve only once on disk. (lowdb's own writer, steno, renames but never fsyncs.)
 */
export interface DurableFile {
  readonly path: string;
  /** The content, or undefined when the file does not exist. */
  read(): Promise<string | undefined>;
  write(text: string): Promise<void>;
}

export function durableFile(path: string): DurableFile {
  const exclusive = serial();
  return {
    path,
    read: async () => {
      try {
        return await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    write: (text) => exclusive(() => replace(path, text)),
  };
}

async function replace(path: string, text: string): Promise<void> {
  // One writer per file (the store lock), so a fixed temp name is safe; a crash's leftover is overwritten.
  const temp = `${path}.tmp`;
  await writeSynced(temp, 'w', text);
  await rename(temp, path);
  await syncDirectory(path);
}

/**
 * Appends `text` to a file (created 0600 when missing) and resolves once it is on disk, with the
 * directory entry of a new file. For append-only logs such as the store's archive.
 */
export async function appendDurably(path: string, text: string): Promise<void> {
  await writeSynced(path, 'a', text);
  await syncDirectory(path);
}

async function writeSynced(path: string, flags: 'w' | 'a', text: string): Promise<void> {
  // 0600: requests carry tool arguments, which may be secrets.
  const file = await open(path, flags, 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
}

async function syncDirectory(path: string): Promise<void> {
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
