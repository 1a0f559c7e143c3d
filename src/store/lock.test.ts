import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../errors.js';
import { refusal } from '../../test/store/helpers.js';
import { lockStore } from './lock.js';

let dir: string;
let file: string;
let sleeper: ChildProcess | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-lock-'));
  file = join(dir, 'approvals.json');
});
afterEach(async () => {
  if (sleeper && sleeper.exitCode === null) {
    const exited = new Promise((resolve) => sleeper!.once('exit', resolve));
    sleeper.kill('SIGKILL');
    await exited;
  }
  sleeper = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A pid that existed a moment ago and is now dead and reaped. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

/** A live process on this host that is not this one. */
async function livePid(): Promise<number> {
  sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  await new Promise((resolve) => sleeper!.once('spawn', resolve));
  return sleeper.pid!;
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

async function plantLock(owner: Record<string, unknown>): Promise<void> {
  const lock = { hostname: hostname(), token: 'planted', since: '2026-01-01T00:00:00.000Z', ...owner };
  await writeFile(`${file}.lock`, JSON.stringify(lock));
}

describe('lockStore', () => {
  it('writes who holds the lock and removes it on release', async () => {
    const lock = await lockStore(file);
    const owner = JSON.parse(await readFile(`${file}.lock`, 'utf8'));
    expect(owner).toMatchObject({ pid: process.pid, hostname: hostname() });
    expect(owner.startTime).toBe(startTime(process.pid));
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a lock held by a live process on this host, naming the file and the pid', async () => {
    const pid = await livePid();
    await plantLock({ pid, startTime: startTime(pid) });
    const error = await refusal(lockStore(file));
    expect(error.code).toBe('STORE_LOCKED');
    expect(error.message).toContain(file);
    expect(error.message).toContain(`pid ${pid}`);
    expect(error.context).toMatchObject({ file, pid });
    expect(JSON.parse(await readFile(`${file}.lock`, 'utf8')).token).toBe('planted');
  });

  it('takes over a lock whose process is dead', async () => {
    await plantLock({ pid: deadPid() });
    const lock = await lockStore(file);
    expect(JSON.parse(await readFile(`${file}.lock`, 'utf8')).pid).toBe(process.pid);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes over a lock whose pid now belongs to a younger process', async () => {
    const pid = await livePid();
    await plantLock({ pid, startTime: String(Number(startTime(pid)) - 1) });
    const lock = await lockStore(file);
    await lock.release();
  });

  it("takes over a lock with this process's pid that this process does not hold (a restart in a new pid namespace)", async () => {
    await plantLock({ pid: process.pid, startTime: startTime(process.pid) });
    const lock = await lockStore(file);
    await lock.release();
  });

  it('refuses a lock from another host, which it cannot check', async () => {
    await plantLock({ pid: deadPid(), hostname: 'elsewhere.example' });
    const error = await refusal(lockStore(file));
    expect(error.code).toBe('STORE_LOCKED');
    expect(error.message).toMatch(/on host elsewhere\.example.*delete .*\.lock/);
  });

  it('refuses a lock file it did not write, rather than guess', async () => {
    await writeFile(`${file}.lock`, '');
    expect((await refusal(lockStore(file))).message).toMatch(/was not written by Gatehouse/);
    await writeFile(`${file}.lock`, '{"pid": "x"}');
    expect((await refusal(lockStore(file))).code).toBe('STORE_LOCKED');
  });

  it('refuses a second lock in the same process', async () => {
    const lock = await lockStore(file);
    expect((await refusal(lockStore(file))).message).toMatch(/already open in this process/);
    await lock.release();
    await (await lockStore(file)).release();
  });

  it('lets one of many simultaneous attempts in this process win', async () => {
    await plantLock({ pid: deadPid() });
    const attempts = await Promise.allSettled(Array.from({ length: 10 }, () => lockStore(file)));
    const won = attempts.filter((a) => a.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const lost of attempts.filter((a) => a.status === 'rejected')) {
      expect((lost.reason as GatehouseError).message).toMatch(/already open in this process/);
    }
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockStore>>>).value.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('forgets a failed attempt, so a later one may succeed', async () => {
    const pid = await livePid();
    await plantLock({ pid, startTime: startTime(pid) });
    expect((await refusal(lockStore(file))).message).toContain(`pid ${pid}`);
    await rm(`${file}.lock`);
    await (await lockStore(file)).release();
  });

  it('does not remove a lock that is no longer its own', async () => {
    const lock = await lockStore(file);
    await plantLock({ pid: deadPid() });
    await lock.release();
    expect(JSON.parse(await readFile(`${file}.lock`, 'utf8')).token).toBe('planted');
  });
});
