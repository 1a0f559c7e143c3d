import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as FsPromises from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { durableFile } from './durableFile.js';

/** Every fs call the writer makes, in order, so the test can check what is fsynced before what. */
const calls: string[] = vi.hoisted(() => []);
const gate = vi.hoisted(() => ({ renameDelayMs: 0, inFlight: 0, maxInFlight: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  const name = (path: unknown) => String(path).split('/').pop();
  return {
    ...actual,
    open: async (path: string, flags: string, mode?: number) => {
      const handle = await actual.open(path, flags, mode);
      calls.push(`open ${name(path)} ${flags}`);
      return new Proxy(handle, {
        get(target, key) {
          const value = Reflect.get(target, key, target);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            if (key === 'writeFile') {
              gate.inFlight++;
              gate.maxInFlight = Math.max(gate.maxInFlight, gate.inFlight);
            }
            const result = await value.apply(target, args);
            calls.push(`${String(key)} ${name(path)}`);
            return result;
          };
        },
      });
    },
    rename: async (from: string, to: string) => {
      await new Promise((resolve) => setTimeout(resolve, gate.renameDelayMs));
      await actual.rename(from, to);
      gate.inFlight--;
      calls.push(`rename ${name(from)} ${name(to)}`);
    },
  };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-durable-'));
  calls.length = 0;
  Object.assign(gate, { renameDelayMs: 0, inFlight: 0, maxInFlight: 0 });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('durableFile', () => {
  it('reads undefined for a missing file', async () => {
    expect(await durableFile(join(dir, 'none.json')).read()).toBeUndefined();
  });

  it('fsyncs the temp file before the rename and the directory after it', async () => {
    const file = durableFile(join(dir, 'store.json'));
    await file.write('{"a":1}\n');
    const dirName = dir.split('/').pop();
    expect(calls).toEqual([
      'open store.json.tmp w',
      'writeFile store.json.tmp',
      'sync store.json.tmp',
      'close store.json.tmp',
      'rename store.json.tmp store.json',
      `open ${dirName} r`,
      `sync ${dirName}`,
      `close ${dirName}`,
    ]);
    expect(await file.read()).toBe('{"a":1}\n');
    expect(await readdir(dir)).toEqual(['store.json']);
    expect((await stat(join(dir, 'store.json'))).mode & 0o777).toBe(0o600);
  });

  it('runs writes one at a time, in call order, each resolving once it is renamed into place', async () => {
    gate.renameDelayMs = 5;
    const path = join(dir, 'store.json');
    const file = durableFile(path);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        file.write(`${i}`).then(async () => {
          order.push(i);
          // Resolved means on disk: this write or a later one is what the file holds.
          expect(Number(await readFile(path, 'utf8'))).toBeGreaterThanOrEqual(i);
        }),
      ),
    );
    expect(gate.maxInFlight).toBe(1);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(await file.read()).toBe('19');
  });

  it('keeps going after a failed write', async () => {
    const file = durableFile(join(dir, 'sub', 'store.json'));
    await expect(file.write('lost')).rejects.toThrow(/ENOENT/);
    await mkdir(join(dir, 'sub'));
    await file.write('kept');
    expect(await file.read()).toBe('kept');
  });
});
