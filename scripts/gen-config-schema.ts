/**
 * Writes config.schema.json from the zod schema, the config's single source of truth.
 * `npm run schema` regenerates it; test/config-schema.test.ts fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/jsonSchema.js';

writeFileSync(
  new URL('../config.schema.json', import.meta.url),
  `${JSON.stringify(configJsonSchema(), null, 2)}\n`,
);
console.log('wrote config.schema.json');
