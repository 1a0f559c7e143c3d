import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { main } from '../../src/cli/index.js';

/** `gatehouse <command...> <args...>` in this process, as the CLI runs it: its exit code and output. */
export function cliCommand(...command: string[]) {
  return async (...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'gatehouse', ...command, ...args], {
      out: (s) => void out.push(s),
      err: (s) => void err.push(s),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
}

/** A temporary folder for the file's tests, made before them and removed after. */
export function tempDirForTests(prefix: string): { readonly path: string } {
  const dir = { path: '' };
  beforeAll(async () => {
    dir.path = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterAll(() => rm(dir.path, { recursive: true, force: true }));
  return dir;
}
