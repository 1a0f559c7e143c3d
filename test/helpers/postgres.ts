import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from './embeddedPostgres.js';

/**
 * A real PostgreSQL server for one test file, started before its tests and stopped after them, so
 * `npm test` needs nothing installed by hand and leaves no process behind.
 */
export interface TestPostgres {
  /** postgres://postgres:<password>@127.0.0.1:<port>/postgres */
  url: string;
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
  };
}
