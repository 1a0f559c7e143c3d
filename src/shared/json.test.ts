import { describe, expect, it } from 'vitest';
import { JsonObjectAsIs, notJsonAt } from './json.js';

describe('notJsonAt', () => {
  it('accepts JSON all through, hostile keys included', () => {
    expect(
      notJsonAt(JSON.parse('{"__proto__":{"a":[1,-0,"s",null,true]},"constructor":{}}')),
    ).toBeUndefined();
  });

  it('names the first place that is not JSON', () => {
    expect(notJsonAt({ a: [1, { b: Infinity }] })).toBe('$["a"][1]["b"]');
    expect(notJsonAt({ a: undefined })).toBe('$["a"]');
    expect(notJsonAt({ when: new Date(0) })).toBe('$["when"]');
    expect(notJsonAt([NaN])).toBe('$[0]');
  });
});

describe('JsonObjectAsIs', () => {
  it('keeps the object itself, so a __proto__ key survives validation', () => {
    const value = JSON.parse('{"__proto__":1,"x":{"__proto__":2}}') as object;
    const parsed = JsonObjectAsIs.parse(value);
    expect(parsed).toBe(value);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'x']);
  });

  it('refuses what is not a JSON object', () => {
    for (const bad of [null, [], 'x', { n: NaN }]) expect(JsonObjectAsIs.safeParse(bad).success).toBe(false);
  });
});
