import { readFileSync } from 'node:fs';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { configJsonSchema } from '../src/config/jsonSchema.js';

// ajv is CommonJS: its class is the default export's `default`.
const Ajv2020 = Ajv2020Module.default;
const committed = JSON.parse(readFileSync('config.schema.json', 'utf8')) as Record<string, unknown>;

describe('config.schema.json', () => {
  it('is what the zod schema generates (run `npm run schema` after changing src/config/schema.ts)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });

  it('accepts the example config, which the loader accepts too', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(committed);
    const example = JSON.parse(readFileSync('mcp.config.example.json', 'utf8')) as unknown;
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(Object.keys(loadConfig('mcp.config.example.json').servers)).toEqual([
      'fs',
      'everything',
      'memory',
    ]);
  });

  it('rejects what the loader rejects: an unknown key', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(committed);
    expect(validate({ mcpServers: { a: { command: 'x', bogus: 1 } } })).toBe(false);
  });
});
