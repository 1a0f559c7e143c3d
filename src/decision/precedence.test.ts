import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateCall } from './evaluate.js';
import { compileOrThrow, makeCall } from './testkit.js';
import type { PolicySource } from './compile.js';
import type { Decision } from './types.js';

/** Property: where a rule is written (which file, which position) never changes a decision. */

const WHENS = [
  undefined,
  'args.x > 1',
  'has(args.x) && args.x > 1',
  'args.y.startsWith("a")',
  'has(args.y) && args.y.matches("(?i)^A")',
  '"ops" in caller.groups',
  'tool.name == "t1"',
  'args.x == 3 || args.y == "b"',
];

const ruleArb = fc.record({
  effect: fc.constantFrom('allow', 'deny', 'approve'),
  servers: fc.option(fc.constantFrom(['a'], ['b'], ['*'], ['a', 'b']), { nil: undefined }),
  tools: fc.option(fc.constantFrom(['t1'], ['t*'], ['t2', 't3']), { nil: undefined }),
  when: fc.constantFrom(...WHENS),
  quorum: fc.integer({ min: 1, max: 3 }),
  approvers: fc.constantFrom(['group:ops'], ['group:security', 'bob'], ['group:ops', 'group:data-owners']),
});
type RuleSpec = typeof ruleArb extends fc.Arbitrary<infer T> ? T : never;

const callArb = fc.record({
  server: fc.constantFrom('a', 'b'),
  tool: fc.constantFrom('t1', 't2', 't3'),
  x: fc.option(
    fc.oneof(
      fc.integer({ min: -2, max: 5 }),
      fc.double({ noNaN: true, min: -2, max: 5 }),
      fc.constant('str'),
    ),
    { nil: undefined },
  ),
  y: fc.option(fc.constantFrom('a', 'b', 'Abc', 'xyz'), { nil: undefined }),
  groups: fc.constantFrom([], ['ops'], ['dev']),
});

function ruleYaml(spec: RuleSpec, id: string): string {
  const lines = [`  - id: ${id}`, `    effect: ${spec.effect}`];
  if (spec.servers || spec.tools) {
    lines.push('    match:');
    if (spec.servers) lines.push(`      servers: ${JSON.stringify(spec.servers)}`);
    if (spec.tools) lines.push(`      tools: ${JSON.stringify(spec.tools)}`);
  }
  if (spec.when) lines.push(`    when: ${JSON.stringify(spec.when)}`);
  if (spec.effect === 'approve')
    lines.push(`    approvers: ${JSON.stringify(spec.approvers)}`, `    quorum: ${spec.quorum}`);
  lines.push(`    reason: reason of ${id}`);
  return lines.join('\n');
}

/** Rules spread over files: `order` gives each rule's sort key, `fileOf` its file. */
function layout(specs: RuleSpec[], order: number[], fileOf: number[], defaultEffect: string): PolicySource[] {
  const indexed = specs.map((spec, i) => ({
    spec,
    id: `rule-${i}`,
    key: order[i] ?? 0,
    file: fileOf[i] ?? 0,
  }));
  indexed.sort((a, b) => a.key - b.key);
  const files = new Map<number, string[]>();
  for (const r of indexed) files.set(r.file, [...(files.get(r.file) ?? []), ruleYaml(r.spec, r.id)]);
  const sources = [...files].map(([n, rules]) => ({
    file: `f${n}.yaml`,
    text: `rules:\n${rules.join('\n')}\n`,
  }));
  return [{ file: 'settings.yaml', text: `default: ${defaultEffect}\n` }, ...sources];
}

const withoutVersion = ({ policyVersion: _v, ...rest }: Decision) => rest;

describe('precedence is independent of files and order', () => {
  it('permuting rules and files never changes a decision', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 10, maxLength: 10 }),
        fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 10, maxLength: 10 }),
        fc.constantFrom('allow', 'deny'),
        fc.array(callArb, { minLength: 1, maxLength: 5 }),
        (specs, order1, files1, order2, files2, defaultEffect, calls) => {
          const one = compileOrThrow(layout(specs, order1, files1, defaultEffect));
          const two = compileOrThrow(layout(specs, order2, files2, defaultEffect).reverse());
          for (const c of calls) {
            const args: Record<string, unknown> = {};
            if (c.x !== undefined) args.x = c.x;
            if (c.y !== undefined) args.y = c.y;
            const call = makeCall(c.server, c.tool, args, {
              caller: { id: 'u', groups: c.groups, transport: 'stdio' },
            });
            const now = new Date(0);
            const d1 = evaluateCall(one, call, now).decision;
            const d2 = evaluateCall(two, call, now).decision;
            expect(withoutVersion(d2)).toEqual(withoutVersion(d1));
            // The explained run decides the same as the fast one.
            expect(evaluateCall(one, call, now, true).decision).toEqual(d1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a matching deny always wins, whatever else matches', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 9, maxLength: 9 }),
        (specs, order) => {
          const denyAll: RuleSpec = {
            effect: 'deny',
            servers: undefined,
            tools: undefined,
            when: undefined,
            quorum: 1,
            approvers: ['group:ops'],
          };
          const all = [...specs, denyAll];
          const set = compileOrThrow(layout(all, order, [], 'allow'));
          const decision = evaluateCall(set, makeCall('a', 't1', { x: 2, y: 'a' }), new Date(0)).decision;
          expect(decision.effect).toBe('deny');
          expect(decision.rules).toContain(`rule-${specs.length}`);
        },
      ),
      { numRuns: 100 },
    );
  });
});
