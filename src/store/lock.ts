import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { z } from 'zod';
import { GatehouseError } from '../errors.js';

/**
 * Exactly one process writes a store file. The lock is `<file>.lock`, holding who took it. It is made
 * by writing a private file and hard-linking it into place: link fails if the name exists, and the lock
 * never appears half-written (O_EXCL then write could leave an empty lock after a crash). A lock whose
 * pid is dead on this host, or now belongs to a younger process, is stale and taken over. A lock from
 * another host cannot be checked and is always refused.
 */

const LockOwnerSchema = z.object({
  pid: z.number().int().positive(),
  hostname: z.string(),
  /** Tells our lock from another one with the same pid (a restart in a fresh pid namespace). */
  token: z.string(),
  /** Linux process start time (clock ticks after boot): a live pid that started later is a reuse. */
  startTime: z.string().optional(),
  since: z.string(),
});
type LockOwner = z.infer<typeof LockOwnerSchema>;

export interface StoreLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
}

/** Lock files this process holds: a second open in the same process must fail too. */
const heldHere = new Set<string>();

export async function lockStore(file: string): Promise<StoreLock> {
  const path = `${file}.lock`;
  if (heldHere.has(path)) {
    throw new GatehouseError(
      'STORE_LOCKED',
      `${file}: the store is already open in this process (pid ${process.pid}); open it once and share it`,
      { file, lockFile: path, pid: process.pid },
    );
  }
  // Claimed before the first await, so concurrent opens in this process cannot both get through.
  heldHere.add(path);
  try {
    return await acquire(file, path);
  } catch (error) {
    heldHere.delete(path);
    throw error;
  }
}

async function acquire(file: string, path: string): Promise<StoreLock> {
  const me: LockOwner = {
    pid: process.pid,
    hostname: hostname(),
    token: randomUUID(),
    startTime: startTimeOf(process.pid),
    since: new Date().toISOString(),
  };
  // A few rounds: a stale lock removed here may be re-taken by another starting process meanwhile.
  for (let round = 0; round < 3; round++) {
    if (await tryCreate(path, me)) return { path, release: () => release(path, me) };
    const holder = await readOwner(path);
    if (holder === 'gone') continue;
    if (holder === 'unreadable') {
      throw new GatehouseError(
        'STORE_LOCKED',
        `${file}: the lock file ${path} exists but was not written by Gatehouse; ` +
          `if no Gatehouse uses this store, delete the lock file`,
        { file, lockFile: path },
      );
    }
    if (holder.hostname !== me.hostname) {
      throw new GatehouseError(
        'STORE_LOCKED',
        `${file}: the store is locked by pid ${holder.pid} on host ${holder.hostname} (since ${holder.since}), ` +
          `which this host cannot check; if that process is gone, delete ${path}`,
        { file, lockFile: path, pid: holder.pid, hostname: holder.hostname },
      );
    }
    if (isRunning(holder)) {
      throw new GatehouseError(
        'STORE_LOCKED',
        `${file}: the store is in use by another Gatehouse process (pid ${holder.pid}, since ${holder.since}); ` +
          'only one process may write a store: stop that process or give this one another store path',
        { file, lockFile: path, pid: holder.pid, hostname: holder.hostname },
      );
    }
    await removeStale(path, holder);
  }
  throw new GatehouseError(
    'STORE_LOCKED',
    `${file}: could not take the lock ${path}; another process keeps taking it`,
    {
      file,
      lockFile: path,
    },
  );
}

async function tryCreate(path: string, me: LockOwner): Promise<boolean> {
  const temp = `${path}.${me.pid}.${me.token}`;
  await writeFile(temp, `${JSON.stringify(me)}\n`, { mode: 0o600 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function readOwner(path: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const parsed = LockOwnerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function isRunning(holder: LockOwner): boolean {
  // Our own pid without our own lock: left by an earlier process that had the same pid.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the pid exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = startTimeOf(holder.pid);
  if (now === 'zombie') return false;
  return holder.startTime === undefined || now === undefined || now === holder.startTime;
}

/** Field 22 of /proc/<pid>/stat; undefined where there is no /proc, 'zombie' for a dead, unreaped child. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return 'zombie';
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Moves the stale lock aside before deleting it. rename is atomic, so if two processes race to remove
 * the same stale lock only one moves it; and if the file moved turns out to be a fresh lock another
 * process took meanwhile, it is linked back.
 */
async function removeStale(path: string, stale: LockOwner): Promise<void> {
  const aside = `${path}.stale.${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readOwner(aside);
  if (typeof moved === 'object' && moved.token !== stale.token) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
}

async function release(path: string, me: LockOwner): Promise<void> {
  heldHere.delete(path);
  const holder = await readOwner(path);
  if (typeof holder === 'object' && holder.token === me.token) await unlink(path).catch(() => undefined);
}
