import { describe, expect, it } from 'vitest';
import { evaluateCall } from './evaluate.js';
import { prepareArguments } from './input.js';
import { compileOrThrow, defaultLimits, makeCall } from './testkit.js';

/** Limits before and during evaluation: each is a deny with a clear reason. Timing lives in the bench. */

const now = new Date('2025-06-02T10:00:00Z');
const policy = `
default: allow
rules:
  - id: nested-exists
    match: { tools: nested }
    when: args.l.exists(x, args.l.exists(y, x == y + 1000000))
    effect: deny
  - id: nested-all
    match: { tools: all }
    when: args.l.all(x, args.l.all(y, x != y + 1000000))
    effect: allow
  - id: map-filter
    match: { tools: map }
    when: size(args.l.map(x, args.l.filter(y, y == x))) > 0
    effect: allow
  - id: absorbed
    match: { tools: absorbed }
    when: args.l.exists(x, args.l.exists(y, x == y + 1000000)) || true
    effect: allow
  - id: single
    match: { tools: single }
    when: args.l.exists(x, x == 99999)
    effect: deny
  - id: plain
    match: { tools: plain }
    when: has(args.x)
    effect: deny
`;
const set = compileOrThrow(policy);
const list = Array.from({ length: 100_000 }, (_, i) => i);
const decide = (tool: string, args: Record<string, unknown>) =>
  evaluateCall(set, makeCall('s', tool, args), now).decision;
const deadline = `evaluation exceeded the ${defaultLimits.evalDeadlineMs} ms deadline`;

describe('argument limits, checked before any rule runs', () => {
  it('denies a 10,000-deep argument', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    expect(decide('plain', { x: deep })).toMatchObject({
      effect: 'deny',
      rules: [],
      reason: 'the arguments are nested deeper than 64 levels, so no policy rule was evaluated',
    });
  });

  it('denies a 10,000-deep list too', () => {
    let deep: unknown = [];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(decide('plain', { x: deep }).reason).toMatch(/^the arguments are nested deeper than 64 levels/);
  });

  it('denies a 50 MB argument', () => {
    expect(decide('plain', { x: 'x'.repeat(50 * 1024 * 1024) })).toMatchObject({
      effect: 'deny',
      rules: [],
      reason: 'the arguments are larger than 1048576 bytes, so no policy rule was evaluated',
    });
  });

  it('counts UTF-8 bytes, not characters', () => {
    const limits = { ...defaultLimits, maxArgumentBytes: 1000 };
    expect(prepareArguments({ s: 'é'.repeat(400) }, limits).ok).toBe(true);
    expect(prepareArguments({ s: '€'.repeat(400) }, limits)).toEqual({
      ok: false,
      reason: 'the arguments are larger than 1000 bytes',
      unrepresentable: false,
    });
  });

  it('denies many small values that add up', () => {
    expect(decide('plain', { x: Array.from({ length: 300_000 }, () => 1) }).reason).toMatch(
      /^the arguments are larger than/,
    );
  });

  it('lets arguments within the bounds through', () => {
    expect(decide('plain', { x: { a: [1, 'two', null, true] } })).toMatchObject({
      effect: 'deny',
      rules: ['plain'],
    });
  });
});

describe('the evaluation deadline', () => {
  it('stops nested exists over 100,000 elements and denies, naming the rule', () => {
    expect(decide('nested', { l: list })).toMatchObject({
      effect: 'deny',
      rules: ['nested-exists'],
      reason: `rule nested-exists failed to evaluate (${deadline}), which denies the call`,
    });
  });

  it('stops nested all in an allow rule, which then denies', () => {
    expect(decide('all', { l: list })).toMatchObject({ effect: 'deny', rules: ['nested-all'] });
  });

  it('stops map and filter, which raise errors at once', () => {
    expect(decide('map', { l: list })).toMatchObject({ effect: 'deny', rules: ['map-filter'] });
  });

  it('denies even when || would absorb the stopped branch', () => {
    expect(decide('absorbed', { l: list })).toMatchObject({ effect: 'deny', rules: ['absorbed'] });
  });

  it('lets a single comprehension over 100,000 elements finish', () => {
    expect(decide('single', { l: list })).toMatchObject({ effect: 'deny', rules: ['single'] });
    expect(decide('single', { l: list.slice(0, 10) })).toMatchObject({ effect: 'allow', rules: [] });
  });

  it('gives each decision a fresh deadline', () => {
    decide('nested', { l: list });
    expect(decide('nested', { l: [1, 2, 3] })).toMatchObject({ effect: 'allow', rules: [] });
  });
});
