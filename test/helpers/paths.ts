import { fileURLToPath } from 'node:url';

/** The repository root: the working directory of every process the tests spawn. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

const fromRepo = (relative: string) => fileURLToPath(new URL(relative, new URL('../../', import.meta.url)));

/** The CLI from source: what bin/gatehouse.js runs from dist/. */
export const GATEHOUSE_BIN = fromRepo('src/cli/run.ts');

/** The CLI as built (dist/, which `npm install` builds): what a client that launches `gatehouse` runs. */
export const GATEHOUSE_BUILT = fromRepo('bin/gatehouse.js');

/** `stdio-tap.mjs LOG COMMAND…`, plain JavaScript for node itself (see the file). */
export const STDIO_TAP = fromRepo('test/fixtures/servers/stdio-tap.mjs');

/** Real servers from npm, run with this node rather than through npx. */
export const EVERYTHING = fromRepo('node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const FILESYSTEM = fromRepo('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
export const MEMORY = fromRepo('node_modules/@modelcontextprotocol/server-memory/dist/index.js');

export type Fixture =
  | 'hang'
  | 'crashy'
  | 'noisy-stdout'
  | 'twin'
  | 'env-echo'
  | 'forks'
  | 'rich-results'
  | 'recorder'
  | 'shapeshifter'
  | 'probe'
  | 'leaky'
  | 'per-call-env'
  | 'slow-start'
  | 'modern'
  | 'garbage-discover';

/** `node --import tsx <fixture>`: the argv of a fixture server under test/fixtures/servers. */
export function fixtureArgs(fixture: Fixture, ...args: string[]): string[] {
  return ['--import', 'tsx', fromRepo(`test/fixtures/servers/${fixture}.ts`), ...args];
}
