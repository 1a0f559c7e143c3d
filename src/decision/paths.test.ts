import { describe, expect, it } from 'vitest';
import { compileGlob } from './glob.js';
import { isUnder, normalizePath } from './paths.js';

describe('normalizePath', () => {
  it.each([
    ['/workspace/../etc/passwd', '/etc/passwd'],
    ['/workspace/./a//b/', '/workspace/a/b'],
    ['/../../etc', '/etc'],
    ['//etc///passwd', '/etc/passwd'],
    ['/a/b/../../../..', '/'],
    ['a/../../b', '../b'],
    ['./a/./b', 'a/b'],
    ['', '.'],
    ['.', '.'],
    ['/', '/'],
    ['/a/..b/c', '/a/..b/c'],
    ['/a/.../c', '/a/.../c'],
  ])('%s → %s', (input, output) => {
    expect(normalizePath(input)).toBe(output);
  });
});

describe('isUnder resists traversal tricks', () => {
  it.each([
    ['/workspace/a', '/workspace', true],
    ['/workspace', '/workspace', true],
    ['/workspace/', '/workspace/', true],
    ['/workspace/../etc/passwd', '/workspace', false],
    ['/workspace/a/../../etc', '/workspace', false],
    ['/workspace-evil/a', '/workspace', false],
    ['/workspacex', '/workspace', false],
    ['/workspace/..', '/workspace', false],
    ['/workspace/...', '/workspace', true],
    ['/workspace/..hidden', '/workspace', true],
    ['workspace/a', '/workspace', false],
    ['../workspace/a', '/workspace', false],
    ['/etc/passwd', '/', true],
    ['relative', '/', false],
    ['sandbox/a', './sandbox', true],
    ['sandbox/../x', './sandbox', false],
    ['../x', '.', false],
    ['..x', '.', true],
    ['/workspace/a\\..\\..\\etc', '/workspace', true],
    ['/work/space', '/workspace', false],
  ])('isUnder(%s, %s) is %s', (path, dir, expected) => {
    expect(isUnder(path, dir)).toBe(expected);
  });
});

describe('globs (RE2, linear time)', () => {
  it.each([
    ['*', 'read_file', true],
    ['read_*', 'read_text_file', true],
    ['read_*', 'write_file', false],
    ['*', 'a/b', false],
    ['**', 'a/b', true],
    ['/workspace/**', '/workspace/a/b', true],
    ['**/.env', '/a/b/.env', true],
    ['**/.env', '.env', true],
    ['**/.env', '/a/b/x.env', false],
    ['/a/**/b', '/a/b', true],
    ['/a/**/b', '/a/x/y/b', true],
    ['*.{ts,js}', 'x.ts', true],
    ['*.{ts,js}', 'x.py', false],
    ['{a,b{c,d}}', 'bd', true],
    ['[!a]*', 'bcd', true],
    ['[!a]*', 'abc', false],
    ['[a-c]x', 'bx', true],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['a.b', 'axb', false],
    ['(x)', '(x)', true],
    ['*', '.env', true],
    ['*', 'line\nbreak', true],
  ])('%s against %j is %s', (glob, text, expected) => {
    expect(compileGlob(glob).test(text)).toBe(expected);
  });

  it('answers a glob that would backtrack as a RegExp', () => {
    expect(compileGlob('*a*a*a*a*a*a*b').test('a'.repeat(100_000))).toBe(false);
  });

  it.each([['[abc'], ['{a,b'], ['a\\'], ['[z-a]']])('rejects %s', (glob) => {
    expect(() => compileGlob(glob)).toThrow(/unterminated|lone|not a valid glob/);
  });
});
