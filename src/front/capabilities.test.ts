import { describe, expect, it } from 'vitest';
import { mergeDeclarations, unionCapabilities } from './capabilities.js';

describe('unionCapabilities', () => {
  it('states what Gatehouse serves itself and passes every other declaration on', () => {
    const caps = unionCapabilities([
      {
        tools: { listChanged: false, probe: 'tools' },
        resources: { subscribe: false, probe: 'resources' },
        logging: {},
        experimental: { 'vendor/a': { level: 1 } },
        tasks: { list: {} },
        'vendor/capability': { enabled: true },
      } as never,
      { prompts: {}, resources: { subscribe: true }, experimental: { 'vendor/b': {} } },
    ]);
    expect(caps).toEqual({
      tools: { listChanged: true, probe: 'tools' },
      resources: { subscribe: true, listChanged: true, probe: 'resources' },
      prompts: { listChanged: true },
      logging: {},
      experimental: { 'vendor/a': { level: 1 }, 'vendor/b': {} },
      'vendor/capability': { enabled: true },
    });
  });

  it('offers tools alone when no server is ready', () => {
    expect(unionCapabilities([])).toEqual({ tools: { listChanged: true } });
  });
});

describe('mergeDeclarations', () => {
  it('merges objects key by key; where values differ the first server in configuration order stands', () => {
    expect(
      mergeDeclarations([
        { a: { x: 1, list: [1] }, b: 'first', c: { deep: { one: 1 } } },
        { a: { x: 2, y: 2, list: [2] }, b: 'second', c: { deep: { two: 2 } }, d: null },
        'not an object',
      ]),
    ).toEqual({ a: { x: 1, y: 2, list: [1] }, b: 'first', c: { deep: { one: 1, two: 2 } }, d: null });
  });

  it('never shares an object with a server declaration', () => {
    const declared = { a: { x: 1 } };
    const merged = mergeDeclarations([declared]);
    (merged.a as { x: number }).x = 2;
    expect(declared.a.x).toBe(1);
  });
});
