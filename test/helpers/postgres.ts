import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from './embeddedPostgres.js';

/**
 * A real PostgreSQL server for one test file, started before its tests and stopped after them, so
 * `npm test` needs nothing installed by hand and leaves no process behind.
 */
export interface TestPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
  /**
   * `work` on a connection of the test's own (with `schema` first on its search path, if given),
   * closed after: what the database really holds, not what a store says.
   */
  withClient<T>(work: (client: pg.Client) => Promise<T>, schema?: string): Promise<T>;
}

export function usePostgres(): TestPostgres {
  let server: EmbeddedServer | undefined;
  beforeAll(async () => {
    server = await startEmbeddedPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    get url() {
      return server!.url();
    },
    async withClient(work, schema) {
      const client = new pg.Client({
        connectionString: server!.url(),
        ...(schema ? { options: `-c search_path=${schema}` } : {}),
      });
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end();
      }
    },
  };
}
