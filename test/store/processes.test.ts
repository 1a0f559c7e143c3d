import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGatehouseError } from '../../src/errors.js';
import { StoreDocumentSchema } from '../../src/store/document.js';
import { openLowdbStore } from '../../src/store/lowdb.js';
import { REPO } from '../helpers/paths.js';
import { eventually, spawnProcess, type Spawned } from '../helpers/processes.js';
import { sampleRequest } from './helpers.js';

const CHILD = join(REPO, 'test/store/children/store-process.ts');

let dir: string;
let file: string;
const children: Spawned[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-procs-'));
  file = join(dir, 'approvals.json');
});
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => child.stop('SIGKILL')));
  await rm(dir, { recursive: true, force: true });
});

function child(mode: 'hold' | 'try' | 'write-loop'): Spawned {
  const spawned = spawnProcess(process.execPath, ['--import', 'tsx', CHILD, mode, file]);
  children.push(spawned);
  return spawned;
}

const ready = (spawned: Spawned) =>
  eventually(() => spawned.stdout().includes('READY'), 'the child holds the store', 20_000);

function refusalOf(spawned: Spawned): { code: string; message: string } {
  const line = spawned.stderr().trim().split('\n').at(-1)!;
  return JSON.parse(line);
}

describe('one writer per store file, across processes', () => {
  it('refuses a second process while this one holds the store', async () => {
    const store = await openLowdbStore(file);
    const second = child('try');
    second.child.stdin!.end();
    expect(await second.exited).toBe(3);
    const refusal = refusalOf(second);
    expect(refusal.code).toBe('STORE_LOCKED');
    expect(refusal.message).toContain(file);
    expect(refusal.message).toContain(`pid ${process.pid}`);
    await store.close();

    const third = child('try');
    third.child.stdin!.end();
    expect(await third.exited).toBe(0);
  });

  it('is refused while another process holds the store, and takes over once that process is killed', async () => {
    const holder = child('hold');
    await ready(holder);
    const pid = holder.child.pid!;
    let caught: unknown;
    try {
      await openLowdbStore(file);
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught, 'STORE_LOCKED')).toBe(true);
    expect((caught as Error).message).toContain(`pid ${pid}`);
    expect((caught as Error).message).toContain(file);

    await holder.stop('SIGKILL');
    // The dead holder's lock is still there, and stale.
    expect(JSON.parse(await readFile(`${file}.lock`, 'utf8'))).toMatchObject({ pid, hostname: hostname() });
    const store = await openLowdbStore(file);
    expect((await store.list()).map((r) => r.id)).toEqual([`req-${pid}`]);
    await store.close();
  });

  it('releases the lock when the holder closes the store', async () => {
    const holder = child('hold');
    await ready(holder);
    holder.child.stdin!.end();
    expect(await holder.exited).toBe(0);
    expect(await readdir(dir)).toEqual(['approvals.json']);
  });

  it('lets exactly one of several processes racing for a stale lock hold the store', async () => {
    await writeFile(
      `${file}.lock`,
      JSON.stringify({
        pid: 2 ** 22 + 1,
        hostname: hostname(),
        token: 'stale',
        since: '2026-01-01T00:00:00Z',
      }),
    );
    const racers = Array.from({ length: 4 }, () => child('hold'));
    await eventually(
      () => racers.every((r) => r.stdout().includes('READY') || r.child.exitCode !== null),
      'every racer either holds the store or gave up',
      30_000,
    );
    const holders = racers.filter((r) => r.stdout().includes('READY'));
    expect(holders).toHaveLength(1);
    for (const loser of racers.filter((r) => !holders.includes(r))) {
      expect(loser.child.exitCode).toBe(3);
      expect(refusalOf(loser).code).toBe('STORE_LOCKED');
    }
  });
});

describe('crash safety', () => {
  it('leaves a complete document, holding every acknowledged write, however often the writer is killed', async () => {
    let acknowledged = 0;
    for (let round = 0; round < 8; round++) {
      const writer = child('write-loop');
      await eventually(() => writer.stdout().includes('ACK'), 'the writer acknowledged a write', 20_000);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.floor(Math.random() * 60)));
      await writer.stop('SIGKILL');
      const acks = writer.stdout().match(/ACK (\d+)/g) ?? [];
      acknowledged = Number(acks.at(-1)!.slice(4));

      // Read the file as is, without the store: it must be one whole document.
      const document = StoreDocumentSchema.parse(JSON.parse(await readFile(file, 'utf8')));
      const ids = document.approvals.map((r) => r.id);
      expect(ids).toEqual(ids.map((_, k) => `req-${k}`));
      const progress = ids.length + document.approvals.filter((r) => r.state === 'approved').length;
      // Every acknowledged write is there; at most the one in flight went further.
      expect(progress).toBeGreaterThanOrEqual(acknowledged);
      expect(progress).toBeLessThanOrEqual(acknowledged + 1);
      expect(document.approvals.slice(0, -1).every((r) => r.state === 'approved')).toBe(true);
    }
    expect(acknowledged).toBeGreaterThan(8);

    // A restart takes over the dead writer's lock and reads everything back.
    const store = await openLowdbStore(file);
    const requests = await store.list();
    expect(requests.length).toBeGreaterThanOrEqual(Math.floor(acknowledged / 2));
    expect(await store.get('req-0')).toEqual({
      ...sampleRequest(0),
      state: 'approved',
      decisions: expect.any(Array),
    });
    await store.close();
  });
});
