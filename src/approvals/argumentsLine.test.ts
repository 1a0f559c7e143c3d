import { describe, expect, it } from 'vitest';
import { argumentsLine, MAX_LINE, MAX_VALUE } from './argumentsLine.js';

describe('argumentsLine', () => {
  it('writes each argument as key: compact JSON, in the order given', () => {
    expect(argumentsLine({ path: '/tmp/a.txt', mode: 420, opts: { force: true }, tags: ['a'] })).toBe(
      'path: "/tmp/a.txt", mode: 420, opts: {"force":true}, tags: ["a"]',
    );
  });

  it('says so when there are none', () => {
    expect(argumentsLine({})).toBe('(no arguments)');
  });

  it('keeps everything on one line: line breaks and other controls are escaped by JSON', () => {
    expect(argumentsLine({ content: 'a\nb\tc\u0007' })).toBe('content: "a\\nb\\tc\\u0007"');
  });

  it('quotes keys that are not identifiers', () => {
    expect(argumentsLine({ 'a b': 1, 'x\n': 2, __proto__x: 3 })).toBe('"a b": 1, "x\\n": 2, __proto__x: 3');
  });

  it('keeps the start and the end of a long string, where two paths differ, and cuts its middle', () => {
    const dir = '/home/alice/projects/gatehouse-demo/files/reports/2026';
    expect(argumentsLine({ path: `${dir}/q1-final.txt`, next: 1 })).toBe(
      'path: "/home/alice/proj[...]/files/reports/2026/q1-final.txt", next: 1',
    );
    const line = argumentsLine({ content: `${'a'.repeat(300)}${'b'.repeat(300)}` });
    expect(line).toBe(`content: "${'a'.repeat(16)}[...]${'b'.repeat(MAX_VALUE - 16)}"`);
  });

  it('cuts characters, then escapes what it kept: no escape sequence and no surrogate pair is split', () => {
    expect(argumentsLine({ s: '\n'.repeat(100) })).toBe(`s: "${'\\n'.repeat(16)}[...]${'\\n'.repeat(32)}"`);
    const line = argumentsLine({ s: '😀'.repeat(MAX_VALUE + 5) });
    expect(line).toBe(`s: "${'😀'.repeat(16)}[...]${'😀'.repeat(MAX_VALUE - 16)}"`);
    expect(line.isWellFormed()).toBe(true);
  });

  it('counts the entries that do not fit in the line instead of showing them', () => {
    const args = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, 'v'.repeat(20)]));
    const line = argumentsLine(args);
    expect(Array.from(line).length).toBeLessThanOrEqual(MAX_LINE + 20);
    expect(line).toMatch(/^key0: "v{20}", key1: .*, \[\.\.\.\] \d+ more$/);
    const shown = line.match(/key\d+/g)!.length;
    expect(line.endsWith(`[...] ${20 - shown} more`)).toBe(true);
  });
});
