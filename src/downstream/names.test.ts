import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXPOSED_NAME, defaultPrefix, exposedName } from './names.js';

describe('exposedName', () => {
  it.each([
    ['fs__', 'read_file', 'fs__read_file'],
    ['everything__', 'get-tiny-image', 'everything__get-tiny-image'],
    ['', 'whoami', 'whoami'],
    [defaultPrefix('memory'), 'create_entities', 'memory__create_entities'],
  ])('passes a valid name unchanged: %s + %s', (prefix, name, expected) => {
    expect(exposedName(prefix, name)).toBe(expected);
  });

  it('keeps a name of exactly 64 characters', () => {
    const name = 'a'.repeat(60);
    expect(exposedName('fs__', name)).toBe(`fs__${name}`);
  });

  it('cuts a longer name to 64 characters ending in a hash suffix', () => {
    const name = `${'very_long_tool_name_'.repeat(4)}end`;
    const exposed = exposedName('server__', name);
    expect(exposed).toHaveLength(64);
    expect(exposed).toMatch(/^server__very_long_tool_name_.*_[0-9a-f]{8}$/);
    expect(exposed).toMatch(EXPOSED_NAME);
  });

  it('gives two long names that share their first 64 characters different exposed names', () => {
    const stem = 'x'.repeat(70);
    expect(exposedName('s__', `${stem}_one`)).not.toBe(exposedName('s__', `${stem}_two`));
  });

  it('replaces characters a client refuses, and hashes so that different originals stay apart', () => {
    const dotted = exposedName('fs__', 'read.file');
    const spaced = exposedName('fs__', 'read file');
    expect(dotted).toMatch(/^fs__read_file_[0-9a-f]{8}$/);
    expect(spaced).toMatch(/^fs__read_file_[0-9a-f]{8}$/);
    expect(dotted).not.toBe(spaced);
    expect(exposedName('', 'café/ünïcode')).toMatch(EXPOSED_NAME);
  });

  it('is stable across processes and releases (golden values)', () => {
    // A client remembers tool names; these must never change for the same input.
    expect(exposedName('everything__', 'Dynamic Text Resource')).toBe(
      'everything__Dynamic_Text_Resource_f6a2b929',
    );
    expect(exposedName('everything__', 'Dynamic Blob Resource')).toBe(
      'everything__Dynamic_Blob_Resource_5c26ec5c',
    );
  });

  it('always yields a valid, deterministic name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 120 }), (prefix, name) => {
        const exposed = exposedName(prefix, name);
        expect(exposed).toMatch(EXPOSED_NAME);
        expect(exposedName(prefix, name)).toBe(exposed);
        if (EXPOSED_NAME.test(prefix + name)) expect(exposed).toBe(prefix + name);
      }),
    );
  });
});
