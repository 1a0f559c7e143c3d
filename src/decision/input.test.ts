import { describe, expect, it } from 'vitest';
import { evaluateCall } from './evaluate.js';
import { prepareArguments } from './input.js';
import { compileOrThrow, defaultLimits, loadErrors, makeCall } from './testkit.js';

/**
 * The rules read exactly what the server receives. JSON.parse turns `1e400` into Infinity, which
 * JSON.stringify sends on as `null`: a rule would compare a number the server never sees. Such
 * arguments are refused before any rule runs, naming where they are; `-0`, sent as `0`, reads as 0.
 */

const now = new Date('2025-06-02T10:00:00Z');
const countPolicy = (mode = 'enforce') => `
mode: ${mode}
default: allow
rules:
  - id: big-count
    when: has(args.count) && args.count > 100
    effect: deny
`;
const decide = (args: Record<string, unknown>, policy = countPolicy()) =>
  evaluateCall(compileOrThrow(policy), makeCall('s', 't', args), now).decision;
const parse = (json: string) => JSON.parse(json) as Record<string, unknown>;

describe('strings that are not Unicode', () => {
  it('refuses a lone surrogate in a value or a key, naming where, before any rule runs', () => {
    for (const [json, where] of [
      ['{"note": "a\\ud800b"}', 'arguments.note holds a lone surrogate'],
      ['{"deep": [{"\\udc00": 1}]}', 'arguments.deep[0]["\\udc00"] holds a lone surrogate'],
    ] as const) {
      const prepared = prepareArguments(parse(json), defaultLimits);
      expect(prepared).toMatchObject({ ok: false, unrepresentable: true });
      expect((prepared as { reason: string }).reason).toContain(where);
    }
    expect(decide(parse('{"count": 1, "note": "\\ud83d"}'))).toMatchObject({ effect: 'deny', rules: [] });
  });

  it('takes well-formed text in any script, astral characters included', () => {
    expect(prepareArguments(parse('{"note": "\\ud83d\\ude00 ü 中"}'), defaultLimits)).toMatchObject({
      ok: true,
    });
  });
});

describe('numbers JSON cannot carry', () => {
  it('refuses {"count": -1e400} before any rule runs, naming the path and why', () => {
    expect(decide(parse('{"count": -1e400}'))).toEqual({
      effect: 'deny',
      rules: [],
      reason:
        'arguments.count is -Infinity (a number such as 1e400 overflows a double), which has no JSON form: ' +
        'the server would receive null instead, so no policy rule was evaluated',
      policyVersion: expect.any(String),
      mode: 'enforce',
    });
  });

  it('names the path at any depth, with list indexes and quoted keys', () => {
    const cases: [string, string][] = [
      ['{"a": {"b": [0, 1, {"c": 1e400}]}}', 'arguments.a.b[2].c is Infinity'],
      ['{"odd key": [1e999]}', 'arguments["odd key"][0] is Infinity'],
      ['{"": {"__proto__": -1e309}}', 'arguments[""].__proto__ is -Infinity'],
    ];
    for (const [json, start] of cases) {
      const prepared = prepareArguments(parse(json), defaultLimits);
      expect(prepared).toMatchObject({ ok: false, unrepresentable: true });
      expect((prepared as { reason: string }).reason.slice(0, start.length + 2)).toBe(`${start} (`);
    }
  });

  it('refuses them in shadow mode too: a call no rule could read never runs', () => {
    expect(decide(parse('{"count": 1e400}'), countPolicy('shadow'))).toMatchObject({
      effect: 'deny',
      mode: 'enforce',
    });
    // Other limits keep the set's mode.
    expect(decide({ count: 'x'.repeat(2_000_000) }, countPolicy('shadow'))).toMatchObject({
      effect: 'deny',
      mode: 'shadow',
    });
  });

  it('refuses values JSON has no form for that in-process callers could pass', () => {
    expect(prepareArguments({ a: [undefined] }, defaultLimits)).toMatchObject({
      ok: false,
      reason: 'arguments.a[0] is undefined, which JSON cannot carry',
    });
    expect(prepareArguments({ when: new Date(0) }, defaultLimits)).toMatchObject({
      ok: false,
      reason: 'arguments.when is an object of type Date, which JSON cannot carry',
    });
    expect(prepareArguments({ n: 1n }, defaultLimits)).toMatchObject({
      ok: false,
      reason: 'arguments.n is a bigint, which JSON cannot carry',
    });
  });

  it('decides the largest and smallest doubles as the server reads them', () => {
    expect(decide(parse('{"count": 1e308}'))).toMatchObject({ effect: 'deny', rules: ['big-count'] });
    expect(decide(parse('{"count": -1.7976931348623157e308}'))).toMatchObject({ effect: 'allow' });
    expect(decide(parse('{"count": 5e-324}'))).toMatchObject({ effect: 'allow' });
    expect(decide(parse('{"count": 9007199254740993}'))).toMatchObject({ effect: 'deny' });
  });

  it('reads -0 as 0, which is what JSON.stringify sends', () => {
    const signs = compileOrThrow(`
default: allow
rules:
  - id: negative-zero
    when: 1.0 / args.z < 0.0 || 1.0 / args.l[0] < 0.0 || 1.0 / args.m.z < 0.0
    effect: deny
`);
    const args = parse('{"z": -0, "l": [-0], "m": {"z": -0.0}}');
    expect(JSON.stringify(args)).toBe('{"z":0,"l":[0],"m":{"z":0}}');
    expect(evaluateCall(signs, makeCall('s', 't', args), now).decision).toMatchObject({ effect: 'allow' });
  });
});

describe('what the rules read', () => {
  it('is a Map per object, in the order JSON.stringify writes the keys', () => {
    const args = parse('{"b": 1, "2": 2, "a": {"__proto__": 3, "1": [4, {"z": 5}]}}');
    const prepared = prepareArguments(args, defaultLimits);
    if (!prepared.ok) throw new Error(prepared.reason);
    expect([...prepared.args.keys()]).toEqual(Object.keys(args));
    const a = prepared.args.get('a') as Map<string, unknown>;
    expect(a).toBeInstanceOf(Map);
    expect([...a.keys()]).toEqual(['1', '__proto__']);
    expect((a.get('1') as unknown[])[1]).toEqual(new Map([['z', 5]]));
  });
});

it('refuses vars JSON cannot carry at load time, naming the var', () => {
  expect(loadErrors('rules: []\n', { vars: { limits: { max: Number.POSITIVE_INFINITY } } })).toMatch(
    /^\(vars\):1:1: vars\.limits\.max is Infinity \(.*\), which has no JSON form$/,
  );
});
