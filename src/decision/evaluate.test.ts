import { describe, expect, it } from 'vitest';
import { evaluateCall } from './evaluate.js';
import { compileOrThrow, makeCall } from './testkit.js';

const now = new Date('2025-06-02T10:00:00Z');
const decide = (policy: string, call = makeCall('fs', 'read_file'), vars?: Record<string, unknown>) =>
  evaluateCall(compileOrThrow(policy, { vars }), call, now).decision;

/** A one-rule policy: `when` on tool `t` of server `s`, with the given effect. */
function rule(when: string, effect = 'allow', extra = ''): string {
  return `rules:\n  - id: r\n    match: { servers: s, tools: t }\n    effect: ${effect}\n    when: ${JSON.stringify(when)}\n${extra}`;
}
const onT = (args: Record<string, unknown>, overrides = {}) => makeCall('s', 't', args, overrides);

describe('precedence', () => {
  const policy = `
rules:
  - id: allow-all
    effect: allow
  - id: approve-writes
    match: { tools: "write_*" }
    effect: approve
    approvers: [group:ops]
  - id: deny-etc
    when: has(args.path) && args.path.startsWith("/etc")
    effect: deny
    reason: system files are off limits
`;
  it('allows when only an allow rule matches', () => {
    expect(decide(policy, makeCall('fs', 'read_file', { path: '/home/a' }))).toMatchObject({
      effect: 'allow',
      rules: ['allow-all'],
    });
  });
  it('asks for approval over an allow', () => {
    const decision = decide(policy, makeCall('fs', 'write_file', { path: '/home/a' }));
    expect(decision).toMatchObject({ effect: 'approve', rules: ['approve-writes'] });
    expect(decision.approval).toEqual({
      approvers: ['group:ops'],
      quorum: 1,
      ttlMs: 3_600_000,
      requirements: [{ rule: 'approve-writes', approvers: ['group:ops'], quorum: 1 }],
    });
  });
  it('denies over approve and allow, with the rule and its reason', () => {
    expect(decide(policy, makeCall('fs', 'write_file', { path: '/etc/passwd' }))).toMatchObject({
      effect: 'deny',
      rules: ['deny-etc'],
      reason: 'system files are off limits',
    });
  });
  it('applies the default when nothing matches, deny unless set', () => {
    const onlyDb = 'rules:\n  - id: db\n    match: { servers: db }\n    effect: allow\n';
    expect(decide(onlyDb)).toMatchObject({ effect: 'deny', rules: [] });
    expect(decide(`default: allow\n${onlyDb}`)).toMatchObject({ effect: 'allow', rules: [] });
  });
  it('carries the policy version and the mode', () => {
    const set = compileOrThrow(`mode: shadow\n${policy}`);
    const decision = evaluateCall(set, makeCall('fs', 'read_file', { path: '/etc/x' }), now).decision;
    expect(decision).toMatchObject({ effect: 'deny', mode: 'shadow', policyVersion: set.version });
  });
  it('requires every matching approve rule, and merges them for notification', () => {
    const two = `
rules:
  - id: a-security
    effect: approve
    approvers: [group:security]
    ttl: 2h
    channels: [slack]
  - id: b-owners
    effect: approve
    approvers: [group:data-owners, bob]
    quorum: 2
    ttl: 30m
    channels: [email]
`;
    expect(decide(two).approval).toEqual({
      approvers: ['bob', 'group:data-owners', 'group:security'],
      quorum: 2,
      ttlMs: 1_800_000,
      channels: ['email', 'slack'],
      requirements: [
        { rule: 'a-security', approvers: ['group:security'], quorum: 1 },
        { rule: 'b-owners', approvers: ['bob', 'group:data-owners'], quorum: 2 },
      ],
    });
  });
});

describe('fail closed at run time', () => {
  it('turns a missing key into a deny naming the rule and the error', () => {
    const decision = decide(rule('args.path.startsWith("/w")'), onT({}));
    expect(decision).toMatchObject({ effect: 'deny', rules: ['r'] });
    expect(decision.reason).toBe('rule r failed to evaluate (No such key: path), which denies the call');
  });
  it('turns a wrong type at run time into a deny', () => {
    const decision = decide(rule('args.path.startsWith("/w")'), onT({ path: 42 }));
    expect(decision).toMatchObject({ effect: 'deny', rules: ['r'] });
    expect(decision.reason).toMatch(/^rule r failed to evaluate \(.*overload.*\)/);
  });
  it('turns a non-bool result into a deny', () => {
    expect(decide(rule('args.flag'), onT({ flag: 'yes' })).reason).toContain(
      'when evaluated to a string, not a bool',
    );
  });
  it('denies when an erroring rule is an allow rule, even next to a matching allow', () => {
    const policy = `${rule('args.n > 1')}  - id: other\n    effect: allow\n`;
    expect(decide(policy, onT({ n: 'x' }))).toMatchObject({ effect: 'deny', rules: ['r'] });
  });
  it('lets has() guard optional fields', () => {
    const policy = rule('has(args.path) && args.path == "/w"', 'deny');
    expect(decide(`default: allow\n${policy}`, onT({}))).toMatchObject({ effect: 'allow', rules: [] });
  });
  it('fails closed on a dynamic regex RE2 cannot run', () => {
    expect(decide(rule('args.s.matches(args.p)'), onT({ s: 'aa', p: '(a)\\1' })).reason).toContain(
      'is not valid RE2',
    );
  });
});

describe('numbers: JSON numbers are doubles', () => {
  it.each([
    ['args.rows > 1000', { rows: 1001 }, true],
    ['args.rows > 1000', { rows: 1000 }, false],
    ['args.rows > 1000', { rows: 1000.5 }, true],
    ['args.rows == 1000', { rows: 1000 }, true],
    ['args.rows >= 1000.0', { rows: 1000 }, true],
    ['args.rows in [1, 2, 3]', { rows: 2 }, true],
    ['args.rows + 1 > 1000', { rows: 1000 }, true],
    ['args.rows * 2 == 10', { rows: 5 }, true],
    ['args.rows / 2 == 2.5', { rows: 5 }, true],
    ['int(args.rows) % 2 == 1', { rows: 5 }, true],
    ['size(args.items) > args.max', { items: [1, 2, 3], max: 2 }, true],
    ['args.rows > vars.limit', { rows: 11 }, true],
  ])('%s with %j is %s', (when, args, expected) => {
    const decision = decide(rule(when), onT(args), { limit: 10 });
    expect(decision.effect).toBe(expected ? 'allow' : 'deny');
    expect(decision.rules).toEqual(expected ? ['r'] : []);
  });
});

describe('regular expressions (RE2)', () => {
  it('is a search, as CEL defines matches', () => {
    expect(decide(rule('args.s.matches("b")'), onT({ s: 'abc' })).effect).toBe('allow');
    expect(decide(rule('args.s.matches("^b$")'), onT({ s: 'abc' })).effect).toBe('deny');
  });
  it('supports (?i) and the rest of RE2 syntax', () => {
    const cases: [string, string, boolean][] = [
      ['(?i)^drop\\s+table', 'DROP  TABLE users', true],
      ['^drop', 'DROP table', false],
      ['\\pL+\\d', 'héllo1', true],
      ['[[:digit:]]{3}', 'ab123', true],
      ['(?s)a.b', 'a\nb', true],
      ['a.b', 'a\nb', false],
      ['(?P<word>\\w+)@', 'me@x', true],
      ['(?m)^x$', 'a\nx\nb', true],
      ['\\Qa.b\\E', 'axb', false],
      ['(?U)a+?', 'aaa', true],
    ];
    for (const [pattern, input, expected] of cases) {
      const decision = decide(rule(`args.s.matches(${JSON.stringify(pattern)})`), onT({ s: input }));
      expect([pattern, decision.effect]).toEqual([pattern, expected ? 'allow' : 'deny']);
    }
  });
  it('answers a catastrophic pattern against a crafted argument', () => {
    const decision = decide(rule('args.s.matches("(a+)+$")', 'deny', ''), onT({ s: `${'a'.repeat(50)}!` }));
    expect(decision).toMatchObject({ effect: 'deny', rules: [] });
    const long = decide(
      `default: allow\n${rule('args.s.matches("(a|aa)*c")', 'deny')}`,
      onT({ s: 'a'.repeat(100_000) }),
    );
    expect(long).toMatchObject({ effect: 'allow', rules: [] });
  });
  it('uses patterns computed at run time (vars), compiled once', () => {
    const policy = rule('args.host.matches(vars.hosts)');
    expect(
      decide(policy, onT({ host: 'api.example.com' }), { hosts: '(?i)^[a-z]+\\.example\\.com$' }).effect,
    ).toBe('allow');
    expect(decide(policy, onT({ host: 'evil.com' }), { hosts: '(?i)^[a-z]+\\.example\\.com$' }).effect).toBe(
      'deny',
    );
  });
});

describe('paths and globs in expressions', () => {
  const under = rule('isUnder(args.path, vars.workspace)');
  it.each([
    ['/w/a/b', true],
    ['/w', true],
    ['/w/../etc/passwd', false],
    ['/w/a/../../etc', false],
    ['/w/./a//b/', true],
    ['/wx/a', false],
    ['/w/../w2', false],
    ['w/a', false],
    ['//w/a', true],
    ['/w/a/..', true],
    ['/w/a/../..', false],
  ])('isUnder(%s, /w) is %s', (path, expected) => {
    expect(decide(under, onT({ path }), { workspace: '/w' }).effect).toBe(expected ? 'allow' : 'deny');
  });
  it('normalizes before a prefix check', () => {
    const policy = rule('normalizePath(args.path).startsWith("/w/")');
    expect(decide(policy, onT({ path: '/w/../etc/passwd' })).effect).toBe('deny');
    expect(decide(policy, onT({ path: '/w/./x' })).effect).toBe('allow');
  });
  it('matches globs both ways', () => {
    expect(decide(rule('glob("**/*.{pem,key}", args.path)'), onT({ path: '/a/b/c.pem' })).effect).toBe(
      'allow',
    );
    expect(decide(rule('args.path.globMatch("/tmp/*")'), onT({ path: '/tmp/a/b' })).effect).toBe('deny');
  });
});

describe('the other variables', () => {
  it('reads tool, caller, request and now', () => {
    const policy = rule(
      'tool.exposedName == "s__t" && tool.server == "s" && !tool.annotations.readOnlyHint && tool.annotations.destructiveHint && ' +
        '"developers" in caller.groups && caller.id == "alice" && caller.transport == "stdio" && request.id == "req-1" && ' +
        'now.getHours("UTC") == 10 && now > timestamp("2025-01-01T00:00:00Z")',
    );
    expect(decide(policy, onT({}))).toMatchObject({ effect: 'allow', rules: ['r'] });
  });
  it('fills MCP defaults for absent hints and keeps declared ones', () => {
    const readOnly = onT(
      {},
      { definition: { name: 't', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true } } },
    );
    expect(
      decide(
        rule(
          'tool.annotations.readOnlyHint && !tool.annotations.destructiveHint && tool.annotations.openWorldHint',
        ),
        readOnly,
      ).effect,
    ).toBe('allow');
  });
  it('tells whether the client is known', () => {
    const policy = rule('has(caller.client) && caller.client.name == "claude"');
    expect(decide(policy, onT({})).effect).toBe('deny');
    const withClient = onT(
      {},
      { caller: { id: 'a', groups: [], transport: 'http', client: { name: 'claude', version: '1' } } },
    );
    expect(decide(policy, withClient).effect).toBe('allow');
  });
});
