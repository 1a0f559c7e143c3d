import { describe, expect, it } from 'vitest';
import { parseJsonPath } from './paths.js';

describe('JSON path subset', () => {
  it.each([
    [
      '$.a.b',
      [
        { kind: 'member', name: 'a' },
        { kind: 'member', name: 'b' },
      ],
    ],
    ["$['a b']", [{ kind: 'member', name: 'a b' }]],
    ['$["x-api-key"]', [{ kind: 'member', name: 'x-api-key' }]],
    [
      "$['it\\'s']['a\\\\b']['\\u0041']",
      [
        { kind: 'member', name: "it's" },
        { kind: 'member', name: 'a\\b' },
        { kind: 'member', name: 'A' },
      ],
    ],
    [
      '$.items[2].token',
      [
        { kind: 'member', name: 'items' },
        { kind: 'index', index: 2 },
        { kind: 'member', name: 'token' },
      ],
    ],
    [
      '$.items[*].token',
      [{ kind: 'member', name: 'items' }, { kind: 'wildcard' }, { kind: 'member', name: 'token' }],
    ],
    ['$.items.*', [{ kind: 'member', name: 'items' }, { kind: 'wildcard' }]],
    ['$..token', [{ kind: 'descendant', name: 'token' }]],
    ["$..['a b']", [{ kind: 'descendant', name: 'a b' }]],
    [
      '$.a..*',
      [
        { kind: 'member', name: 'a' },
        { kind: 'descendant', name: undefined },
      ],
    ],
    ['$.héllo_1', [{ kind: 'member', name: 'héllo_1' }]],
    ['$[0]', [{ kind: 'index', index: 0 }]],
  ])('reads %s', (text, steps) => {
    expect(parseJsonPath(text)).toEqual({ ok: true, steps });
  });

  it.each([
    ['token', 'a path starts with $ (column 1)'],
    ['$', '$ alone names all the arguments'],
    ['$.', 'the path ends after . (column 3)'],
    ['$.x-api-key', 'unexpected "-"; names other than [A-Za-z0-9_] go in brackets'],
    ['$.1abc', '"1" cannot start a name after .'],
    ['$.a[?(@.x)]', 'filter expressions [?...] are not supported (column 5)'],
    ['$.a[-1]', 'negative indices are not supported'],
    ['$.a[1:2]', 'slices [a:b] are not supported'],
    ["$.a['b','c']", 'unions [a,b] are not supported'],
    ['$.a[01]', 'index 01 has a leading zero'],
    ["$.a['b", "the quoted name has no closing '"],
    ["$.a['\\q']", 'unknown escape \\q'],
    ['$.a[2', 'expected ] to close the [ at column 4'],
    ['$..[0]', '..[n] is not supported'],
    ['$.length()', 'unexpected "("'],
    ['$ .a', 'unexpected " "'],
  ])('refuses %s, saying why and where', (text, problem) => {
    const parsed = parseJsonPath(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem).toContain(problem);
      expect(parsed.problem).toContain('supported forms: $.a.b');
    }
  });
});
