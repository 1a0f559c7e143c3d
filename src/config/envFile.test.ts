import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { formatEnvFile, readEnvFile } from './envFile.js';

describe('env files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-envfile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes every value so that it reads back unchanged, quotes and line breaks included', () => {
    const values = {
      PLAIN: 'ghp_0123456789abcdefABCDEF0123456789abcd',
      SPACES: ' Bearer  x y ',
      HASH: 'pa#ss # not a comment',
      SINGLE: "it's",
      DOUBLE: 'say "hi"',
      BOTH: `it's "quoted"`,
      NEWLINE: 'line one\nline two',
      BACKSLASH_N: 'C:\\new\\folder',
      EQUALS: 'a=b==',
      EMPTY: '',
    };
    const file = path.join(dir, '.env');
    writeFileSync(file, formatEnvFile(values, ['secrets moved out of mcp.config.json']));
    expect(readEnvFile(file)).toEqual(values);
  });

  it('starts with the header as comments', () => {
    const text = formatEnvFile({ A: '1' }, ['one', 'two']);
    expect(text).toBe("# one\n# two\nA='1'\n");
    expect(parseEnv(text)).toEqual({ A: '1' });
  });

  it('refuses what it cannot write unchanged rather than writing it altered', () => {
    expect(() => formatEnvFile({ ALL: 'a\\nb"\'`' })).toThrow(
      'the value of ALL cannot be written to an env file unchanged',
    );
    expect(() => formatEnvFile({ 'NOT-A-NAME': 'x' })).toThrow(
      '"NOT-A-NAME" cannot be an environment variable name',
    );
  });
});
