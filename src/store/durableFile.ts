import { open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { serial } from './serial.js';

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
  // 0600: requests carry tool arguments, which may be secrets.
  const file = await open(temp, 'w', 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
