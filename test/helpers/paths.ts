import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the working directory of every process the tests spawn. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

const fromRepo = (relative: string) => fileURLToPath(new URL(relative, new URL('../../', import.meta.url)));

/** The CLI from source: what bin/gatehouse.js runs from dist/. */
export const GATEHOUSE_BIN = fromRepo('src/cli/run.ts');

/** The CLI as built (dist/, which `npm install` builds): what a client that launches `gatehouse` runs. */
const GATEHOUSE_BUILT = fromRepo('bin/gatehouse.js');

/**
 * GATEHOUSE_BUILT, once dist/ is known to be built from the sources as they are: a test of the built
 * CLI must not pass on yesterday's code. Throws, naming a newer source file, when dist/ is stale.
 */
export function builtGatehouse(): string {
  const built = fromRepo('dist/cli/run.js');
  if (!existsSync(built)) throw new Error('dist/ is not built: run `npm run build` (npm install does it)');
  const builtAt = statSync(built).mtimeMs;
  const src = fromRepo('src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).find(
    (file) =>
      file.endsWith('.ts') && !file.endsWith('.test.ts') && statSync(path.join(src, file)).mtimeMs > builtAt,
  );
  if (newer) throw new Error(`dist/ is older than src/${newer}: run \`npm run build\``);
  return GATEHOUSE_BUILT;
}

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
  | 'header-annotations'
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
