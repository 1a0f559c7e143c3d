import { describe, expect, it } from 'vitest';
import { compilePolicySet } from './compile.js';
import { compileOrThrow, defaultLimits, loadErrors } from './testkit.js';

/** Every load-time error class, with the exact location, the rule id and the caret. */
describe('load-time errors', () => {
  it('reports an undeclared variable at its position, with the source line and a caret', () => {
    const text = ['rules:', '  - id: reads', '    effect: allow', '    when: arg.path == "x"', ''].join('\n');
    expect(loadErrors(text)).toBe(
      [
        'policy.yaml:4:11: rule reads: undeclared variable "arg" (declared: tool, args, caller, now, request, vars)',
        '    4 |     when: arg.path == "x"',
        '      |           ^',
      ].join('\n'),
    );
  });

  it('reports a type mismatch', () => {
    const text = ['rules:', '  - id: typed', '    effect: deny', '    when: tool.name == 1', ''].join('\n');
    expect(loadErrors(text)).toMatch(
      /^policy\.yaml:4:11: rule typed: type mismatch: no such overload: string == int\n/,
    );
  });

  it('reports an unknown function and an unknown method', () => {
    const text = [
      'rules:',
      '  - id: fn',
      '    effect: deny',
      '    when: frob(args)',
      '  - id: method',
      '    effect: deny',
      '    when: args.path.startWith("/")',
      '',
    ].join('\n');
    const errors = loadErrors(text);
    expect(errors).toContain('policy.yaml:4:11: rule fn: unknown function frob()');
    expect(errors).toContain('policy.yaml:7:11: rule method: unknown function startWith()');
  });

  it('reports an unknown field of a typed variable', () => {
    const text = ['rules:', '  - id: typo', '    effect: deny', "    when: tool.nmae == 'x'", ''].join('\n');
    expect(loadErrors(text)).toMatch(
      /^policy\.yaml:4:16: rule typo: no such field "nmae"\n.*\n {6}\| {16}\^$/,
    );
  });

  it('reports a syntax error where the parser stopped', () => {
    const text = ['rules:', '  - id: broken', '    effect: deny', '    when: args.x >', ''].join('\n');
    expect(loadErrors(text)).toMatch(/^policy\.yaml:4:19: rule broken: syntax error: Unexpected token: EOF/);
  });

  it('reports a when that is not a bool', () => {
    const text = ['rules:', '  - id: str', '    effect: deny', '    when: tool.name', ''].join('\n');
    expect(loadErrors(text)).toContain(
      'policy.yaml:4:11: rule str: when must be a bool expression; this one is string',
    );
  });

  it('reports a duplicate id at the second definition, naming the first, across files', () => {
    const a = ['rules:', '  - id: same', '    effect: allow', ''].join('\n');
    const b = ['rules:', '  - id: other', '    effect: allow', '  - id: same', '    effect: deny', ''].join(
      '\n',
    );
    const result = compilePolicySet(
      [
        { file: 'b.yaml', text: b },
        { file: 'a.yaml', text: a },
      ],
      { limits: defaultLimits },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({
      file: 'b.yaml',
      line: 4,
      col: 9,
      rule: 'same',
      message: 'duplicate rule id (first defined at a.yaml:2:9)',
    });
  });

  it('reports an unknown key at the key, with a suggestion', () => {
    const text = ['rules:', '  - id: typo', '    effect: deny', '    wehn: "true"', ''].join('\n');
    expect(loadErrors(text)).toBe(
      [
        'policy.yaml:4:5: rule typo: unknown key "wehn" (did you mean "when"?)',
        '    4 |     wehn: "true"',
        '      |     ^',
      ].join('\n'),
    );
  });

  it('reports unknown keys at the top level and in match', () => {
    const text = [
      'defualt: deny',
      'rules:',
      '  - id: m',
      '    effect: deny',
      '    match: { tool: x }',
      '',
    ].join('\n');
    const errors = loadErrors(text);
    expect(errors).toContain('policy.yaml:1:1: unknown key "defualt" (did you mean "default"?)');
    expect(errors).toContain('policy.yaml:5:14: rule m: unknown key "tool" (did you mean "tools"?)');
  });

  it('reports a bad effect at the value', () => {
    const text = ['rules:', '  - id: e', '    effect: permit', ''].join('\n');
    expect(loadErrors(text)).toMatch(
      /^policy\.yaml:3:13: rule e: effect must be one of allow, deny, approve \(got "permit"\)/,
    );
  });

  it('reports a bad ttl at the value', () => {
    const text = [
      'rules:',
      '  - id: t',
      '    effect: approve',
      '    approvers: [alice]',
      '    ttl: 30 minutes',
      '',
    ].join('\n');
    expect(loadErrors(text)).toMatch(
      /^policy\.yaml:5:10: rule t: ttl "30 minutes" is not a duration: write e\.g\. 90s, 30m, 2h or 1d/,
    );
  });

  it('reports approval settings on a rule that does not approve, and an approve rule without approvers', () => {
    const text = [
      'rules:',
      '  - id: a',
      '    effect: allow',
      '    quorum: 2',
      '  - id: b',
      '    effect: approve',
      '',
    ].join('\n');
    const errors = loadErrors(text);
    expect(errors).toContain('policy.yaml:4:13: rule a: quorum only applies to effect approve, not allow');
    expect(errors).toContain('policy.yaml:6:13: rule b: an approve rule needs approvers');
  });

  it('reports a quorum that named approvers can never meet', () => {
    const text = [
      'rules:',
      '  - id: q',
      '    effect: approve',
      '    approvers: [alice]',
      '    quorum: 2',
      '',
    ].join('\n');
    expect(loadErrors(text)).toContain(
      'policy.yaml:5:13: rule q: quorum 2 can never be met by 1 named approver(s)',
    );
  });

  it('rejects a regex RE2 cannot run, at the pattern', () => {
    const text = [
      'rules:',
      '  - id: re',
      '    effect: deny',
      "    when: args.s.matches('(a)\\\\1')",
      '',
    ].join('\n');
    expect(loadErrors(text)).toMatch(
      /^policy\.yaml:4:26: rule re: regular expression "\(a\)\\\\1" is not valid RE2: invalid escape sequence: `\\1`/,
    );
  });

  it('rejects lookarounds, which RE2 does not have', () => {
    const text = [
      'rules:',
      '  - id: look',
      '    effect: deny',
      '    when: args.s.matches("foo(?=bar)")',
      '',
    ].join('\n');
    expect(loadErrors(text)).toContain(
      'policy.yaml:4:26: rule look: regular expression "foo(?=bar)" is not valid RE2',
    );
  });

  it('rejects a broken glob in match and in an expression', () => {
    const text = [
      'rules:',
      '  - id: g1',
      '    effect: deny',
      '    match: { tools: ["read_[a"] }',
      '  - id: g2',
      '    effect: deny',
      '    when: glob("{a,b", args.path)',
      '',
    ].join('\n');
    const errors = loadErrors(text);
    expect(errors).toContain('policy.yaml:4:22: rule g1: match.tools: "read_[a" has an unterminated [');
    expect(errors).toContain('policy.yaml:7:16: rule g2: glob "{a,b" has an unterminated {');
  });

  it('reports YAML syntax errors at their position', () => {
    const text = ['rules:', '  - id: y', '    effect: deny', '    when: "unterminated', ''].join('\n');
    // The YAML parser notices the missing quote where the input ends.
    expect(loadErrors(text)).toMatch(/^policy\.yaml:5:1: YAML: Missing closing "quote/);
  });

  it('reports duplicate YAML keys', () => {
    const text = ['rules:', '  - id: y', '    effect: deny', '    effect: allow', ''].join('\n');
    expect(loadErrors(text)).toMatch(/^policy\.yaml:4:5: YAML: Map keys must be unique/);
  });

  it('bounds comprehension nesting at load time', () => {
    const text = [
      'rules:',
      '  - id: deep',
      '    effect: deny',
      '    when: args.l.all(a, args.l.all(b, args.l.all(c, a == b)))',
      '',
    ].join('\n');
    expect(loadErrors(text)).toContain(
      'policy.yaml:4:39: rule deep: comprehensions are nested 3 deep; the limit is 2 (policyLimits.maxComprehensionNesting)',
    );
  });

  it('counts nested cel.bind toward the nesting bound', () => {
    const text = [
      'rules:',
      '  - id: binds',
      '    effect: deny',
      '    when: cel.bind(a, [1], cel.bind(b, a + a, cel.bind(c, b + b, size(c) > 0)))',
      '',
    ].join('\n');
    expect(loadErrors(text)).toContain('rule binds: cel.bind is nested 3 deep');
  });

  it('checks vars keys against the configured vars', () => {
    const text = ['rules:', '  - id: v', '    effect: deny', '    when: args.path == vars.workspac', ''].join(
      '\n',
    );
    expect(loadErrors(text, { vars: { workspace: '/w' } })).toContain(
      'policy.yaml:4:24: rule v: vars has no key "workspac" (configured: workspace)',
    );
  });

  it('refuses two files that set different defaults', () => {
    const result = compilePolicySet(
      [
        { file: 'a.yaml', text: 'default: allow\n' },
        { file: 'b.yaml', text: 'rules: []\ndefault: deny\n' },
      ],
      { limits: defaultLimits },
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.problems[0]).toMatchObject({
        file: 'b.yaml',
        line: 2,
        col: 10,
        message: 'default is deny here but allow at a.yaml:1:10',
      });
  });

  it('maps positions inside block scalars and across lines', () => {
    const text = [
      'rules:',
      '  - id: block',
      '    effect: deny',
      '    when: |',
      '      tool.name == "x" &&',
      '        caller.nmae == "y"',
      '',
    ].join('\n');
    expect(loadErrors(text)).toMatch(
      /^policy\.yaml:6:16: rule block: no such field "nmae"\n {4}6 \| {9}caller\.nmae == "y"\n {6}\| {16}\^$/,
    );
  });

  it('reads JSON policy files with locations', () => {
    const text = '{\n  "rules": [\n    { "id": "j", "effect": "allow", "when": "nope == 1" }\n  ]\n}\n';
    expect(loadErrors(text, { file: 'p.json' })).toContain('p.json:3:46: rule j: undeclared variable "nope"');
  });

  it('lists every problem of every file, sorted, instead of stopping at the first', () => {
    const text = [
      'rules:',
      '  - id: one',
      '    effect: nope',
      '  - id: two',
      '    effect: deny',
      '    when: missing',
      '  - id: three',
      '    effect: deny',
      '    when: args.x.matches("(")',
      '',
    ].join('\n');
    const lines = loadErrors(text)
      .split('\n')
      .filter((l) => l.startsWith('policy.yaml'));
    expect(lines.map((l) => l.split(': ')[0])).toEqual([
      'policy.yaml:3:13',
      'policy.yaml:6:11',
      'policy.yaml:9:26',
    ]);
  });

  it('gives the same version for the same content and a new one for changed content', () => {
    const text = 'rules:\n  - id: a\n    effect: allow\n';
    const v1 = compilePolicySet([{ file: 'a.yaml', text }], { limits: defaultLimits });
    const v2 = compilePolicySet([{ file: 'a.yaml', text }], { limits: defaultLimits });
    const v3 = compilePolicySet([{ file: 'a.yaml', text: text.replace('allow', 'deny') }], {
      limits: defaultLimits,
    });
    expect(v1.ok && v2.ok && v3.ok).toBe(true);
    if (!(v1.ok && v2.ok && v3.ok)) return;
    expect(v1.set.version).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(v1.set.version).toBe(v2.set.version);
    expect(v3.set.version).not.toBe(v1.set.version);
  });

  it('one set of files has one version, wherever the folder is and however it was named', () => {
    const text = 'rules:\n  - id: a\n    effect: allow\n';
    const version = (file: string, vars?: Record<string, unknown>, limits = defaultLimits) =>
      compileOrThrow([{ file, text }], { vars, limits }).version;
    const served = version('/srv/gatehouse/policies/a.yaml', {});
    expect(version('policies/a.yaml')).toBe(served);
    expect(version('../gatehouse/policies/a.yaml', {})).toBe(served);
    // What the decision depends on still counts: the file's name, the vars and the limits.
    expect(version('policies/b.yaml')).not.toBe(served);
    expect(version('policies/a.yaml', { x: 1 })).not.toBe(served);
    expect(version('policies/a.yaml', {}, { ...defaultLimits, evalDeadlineMs: 5 })).not.toBe(served);
  });
});

describe('file shapes', () => {
  it('refuses an empty file, or one of comments only, naming the file: `rules: []` means no rules', () => {
    const message =
      'the file holds no policy document (it is empty, or only comments); a file with no rules says `rules: []`';
    for (const text of ['', '\n', '   \n', '# nothing yet\n', '---\n']) {
      const result = compilePolicySet(
        [
          { file: 'policies/10-deny.yaml', text },
          { file: 'policies/00-allow.yaml', text: 'rules:\n  - id: r\n    effect: allow\n' },
        ],
        { limits: defaultLimits },
      );
      expect(result).toEqual({
        ok: false,
        problems: [expect.objectContaining({ file: 'policies/10-deny.yaml', line: 1, col: 1, message })],
      });
    }
    expect(compileOrThrow('rules: []\n').rules).toEqual([]);
    expect(compileOrThrow('default: allow\n').defaultEffect).toBe('allow');
  });

  it('refuses a file that is not a mapping', () => {
    expect(loadErrors('- just\n- a list\n')).toMatch(/^policy\.yaml:1:1: the file must be a mapping/);
    expect(loadErrors('rules: {id: x}\n')).toMatch(/^policy\.yaml:1:8: rules must be a list of rules/);
  });
});
