import { describe, expect, it } from 'vitest';
import { evaluateCall } from './evaluate.js';
import { compileOrThrow, HOSTILE_KEYS, makeCall } from './testkit.js';

/**
 * Any key is data. cel-js types a JavaScript value by its `constructor` property, so an argument
 * named `constructor` once made every rule that read `args` fail ("Unsupported type: object") and
 * deny harmless calls. Keys that name Object.prototype members, the empty string, NUL and look-alike
 * letters must read as data at every depth, and never change how a rule next to them decides.
 */

const now = new Date('2025-06-02T10:00:00Z');

/** Deny when x is over 5; allow everything else; every rule reads args. */
const policy = `
default: deny
rules:
  - id: x-over-5
    match: { servers: s, tools: t }
    when: has(args.x) && args.x > 5
    effect: deny
  - id: read-args
    match: { servers: s, tools: t }
    when: size(args) >= 0 && args.all(k, k == k) && !args.exists(k, k == "never")
    effect: allow
`;
const set = compileOrThrow(policy);

/** JSON as a client sends it: JSON.parse makes `__proto__` an own key, as on the wire. */
const parse = (json: string) => JSON.parse(json) as Record<string, unknown>;

/** The arguments `{key: value}` as JSON: at the top, nested under `a.b`, or inside a list under `l`. */
function placed(key: string, value: unknown, where: 'top' | 'nested' | 'in a list'): string {
  const entry = `{${JSON.stringify(key)}: ${JSON.stringify(value)}}`;
  if (where === 'top') return entry;
  if (where === 'nested') return `{"a": {"b": ${entry}}}`;
  return `{"l": [1, ${entry}]}`;
}

const decide = (args: Record<string, unknown>, rules = set) =>
  evaluateCall(rules, makeCall('s', 't', args), now, true);

describe.each(HOSTILE_KEYS)('the key %j', (key) => {
  it.each(['top', 'nested', 'in a list'] as const)('%s: no rule fails, and x still decides', (where) => {
    const hostile = parse(placed(key, { deep: 1 }, where));
    for (const [x, effect] of [
      [9, 'deny'],
      [1, 'allow'],
    ] as const) {
      // Spread copies an own __proto__ key as an own key, as JSON.parse made it.
      const evaluation = decide({ ...hostile, x });
      expect(evaluation.outcomes.filter((o) => o.result === 'error')).toEqual([]);
      expect(evaluation.decision.effect).toBe(effect);
    }
    // Without x, has() is false next to the hostile key.
    expect(decide(parse(placed(key, 1, where))).decision.effect).toBe('allow');
  });

  it('reads the data under the key, at the top, nested and inside a list', () => {
    const lit = JSON.stringify(key);
    const reads = compileOrThrow(`
rules:
  - id: top
    match: { tools: top }
    when: args[${lit}] == "data" && ${lit} in args && size(args) == 1
    effect: allow
  - id: nested
    match: { tools: nested }
    when: args.a.b[${lit}] == "data" && args.a.b.exists(k, k == ${lit})
    effect: allow
  - id: list
    match: { tools: list }
    when: args.l[1][${lit}] == "data" && args.l.exists(e, type(e) == map && ${lit} in e)
    effect: allow
`);
    const on = (tool: string, args: Record<string, unknown>) =>
      evaluateCall(reads, makeCall('s', tool, args), now, true);
    for (const [tool, where] of [
      ['top', 'top'],
      ['nested', 'nested'],
      ['list', 'in a list'],
    ] as const) {
      const evaluation = on(tool, parse(placed(key, 'data', where)));
      expect(evaluation.outcomes).toEqual([expect.objectContaining({ result: 'matched' })]);
      expect(evaluation.decision.effect).toBe('allow');
    }
  });
});

it('field selection reads the data too: args.constructor, args.prototype, args.__proto__', () => {
  const fields = compileOrThrow(`
rules:
  - id: fields
    when: args.constructor == 1.0 && args.prototype == 2.0 && args.__proto__ == 3.0 && has(args.valueOf)
    effect: allow
`);
  const args = parse('{"constructor": 1, "prototype": 2, "__proto__": 3, "valueOf": 4}');
  expect(evaluateCall(fields, makeCall('s', 't', args), now, true).outcomes).toEqual([
    expect.objectContaining({ result: 'matched' }),
  ]);
});

it('a key never reads as a method of the object behind it', () => {
  const reads = compileOrThrow(`
default: allow
rules:
  - id: inherited
    when: has(args.toString) || "constructor" in args || has(args.a.hasOwnProperty)
    effect: deny
`);
  expect(evaluateCall(reads, makeCall('s', 't', { a: {} }), now, true).outcomes).toEqual([
    expect.objectContaining({ result: 'not-matched' }),
  ]);
});

it('vars are data too: a var named constructor does not break rules that read vars', () => {
  const withVars = compileOrThrow(
    `
rules:
  - id: limit
    when: args.n <= vars.limit && vars["constructor"] == "x" && vars.nested["__proto__"] == 1
    effect: allow
`,
    { vars: { constructor: 'x', limit: 5, nested: parse('{"__proto__": 1}') } },
  );
  const decideN = (n: number) => evaluateCall(withVars, makeCall('s', 't', { n }), now, true);
  expect(decideN(3).outcomes).toEqual([expect.objectContaining({ result: 'matched' })]);
  expect(decideN(7).decision.effect).toBe('deny');
});

it('what the caller and the server say is data too: hostile names, and a description that is not text', () => {
  const reads = compileOrThrow(`
rules:
  - id: reads-the-rest
    when: >
      caller.id == "constructor" && "__proto__" in caller.groups && caller.client.name == "toString" &&
      tool.description == "" && !tool.annotations.readOnlyHint && tool.annotations.destructiveHint
    effect: allow
`);
  const call = makeCall(
    's',
    't',
    {},
    {
      caller: {
        id: 'constructor',
        groups: ['__proto__', 'hasOwnProperty'],
        client: { name: 'toString', version: '\u0000' },
        transport: 'http',
      },
      // A downstream server that breaks the schema: a number description, a string hint.
      definition: {
        name: 't',
        inputSchema: { type: 'object' },
        description: 42 as unknown as string,
        annotations: { readOnlyHint: 'yes' as unknown as boolean },
      },
    },
  );
  expect(evaluateCall(reads, call, now, true).outcomes).toEqual([
    expect.objectContaining({ result: 'matched' }),
  ]);
});
