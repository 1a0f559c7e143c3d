import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyCheck, policyEval, policyTest, registerPolicyCommands } from '../src/cli/policy.js';

/** `gatehouse policy check | eval | test`, called as functions: output and exit codes. */

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) }, out, err };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gatehouse-cli-'));
  await mkdir(path.join(dir, 'good', 'tests'), { recursive: true });
  await mkdir(path.join(dir, 'bad'));
  await writeFile(
    path.join(dir, 'good', 'db.yaml'),
    [
      'rules:',
      '  - id: export-small',
      '    match: { servers: db, tools: export_rows }',
      '    when: has(args.rows) && args.rows <= 1000',
      '    effect: allow',
      '  - id: export-large',
      '    match: { servers: db, tools: export_rows }',
      '    when: "!has(args.rows) || args.rows > 1000"',
      '    effect: approve',
      '    reason: large export',
      '    approvers: [group:data-owners]',
      '    ttl: 30m',
      '  - id: no-prod',
      '    match: { servers: db }',
      '    when: has(args.table) && args.table.startsWith(vars.protectedPrefix)',
      '    effect: deny',
      '',
    ].join('\n'),
  );
  await writeFile(path.join(dir, 'vars.yaml'), 'protectedPrefix: prod_\n');
  await writeFile(
    path.join(dir, 'bad', 'a.yaml'),
    'rules:\n  - id: x\n    effect: allow\n    when: size(args) > "1"\n  - id: y\n    effect: nope\n',
  );
  await writeFile(
    path.join(dir, 'call.json'),
    JSON.stringify({
      server: 'db',
      tool: 'export_rows',
      arguments: { table: 'orders', rows: 5000 },
      caller: { id: 'alice', groups: ['analysts'] },
    }),
  );
  await writeFile(
    path.join(dir, 'good', 'tests', 'db.yaml'),
    [
      'vars: { protectedPrefix: prod_ }',
      'cases:',
      '  - name: small exports run',
      '    call: { server: db, tool: export_rows, arguments: { table: orders, rows: 10 } }',
      '    expect: { effect: allow, rule: export-small }',
      '  - name: large exports need a data owner',
      '    call: { server: db, tool: export_rows, arguments: { table: orders, rows: 1001 } }',
      '    expect: { effect: approve, rule: export-large, approvers: [group:data-owners], ttl: 30m, visibility: may-need-approval }',
      '  - name: production tables are refused',
      '    call: { server: db, tool: export_rows, arguments: { table: prod_users, rows: 1 } }',
      '    expect: { effect: deny, rule: no-prod }',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(dir, 'failing.yaml'),
    [
      'vars: { protectedPrefix: prod_ }',
      'cases:',
      '  - name: wrongly expects a large export to run',
      '    call: { server: db, tool: export_rows, arguments: { table: orders, rows: 5000 } }',
      '    expect: { effect: allow, rule: export-small }',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gatehouse policy check', () => {
  it('exits 0 on a set that loads', async () => {
    const { io, out } = capture();
    expect(
      await policyCheck({ policies: path.join(dir, 'good'), vars: path.join(dir, 'vars.yaml') }, io),
    ).toBe(0);
    expect(out.join('\n')).toMatch(
      /^ok: 3 rule\(s\) in 1 file\(s\), default deny, mode enforce, version sha256:[0-9a-f]{16}$/,
    );
  });

  it('exits 2 listing every problem with file:line:col, rule and caret', async () => {
    const { io, err } = capture();
    expect(await policyCheck({ policies: path.join(dir, 'bad') }, io)).toBe(2);
    const text = err.join('\n');
    const file = path.join(dir, 'bad', 'a.yaml');
    expect(text).toContain(`${file}:4:11: rule x: type mismatch: no such overload: int > string`);
    expect(text).toContain(`${file}:6:13: rule y: effect must be one of allow, deny, approve (got "nope")`);
    expect(text).toContain('    6 |     effect: nope\n      |             ^');
    expect(text).toContain('2 problem(s)');
  });

  it('checks vars references when given the vars', async () => {
    await writeFile(path.join(dir, 'othervars.yaml'), 'somethingElse: 1\n');
    const { io, err } = capture();
    expect(
      await policyCheck({ policies: path.join(dir, 'good'), vars: path.join(dir, 'othervars.yaml') }, io),
    ).toBe(2);
    expect(err.join('\n')).toContain(
      'rule no-prod: vars has no key "protectedPrefix" (configured: somethingElse)',
    );
  });

  it('takes the folder, vars and limits from a Gatehouse config with --config, and refuses --vars with it', async () => {
    const config = path.join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({
        policies: './good',
        vars: { protectedPrefix: 'prod_' },
        policyLimits: { evalDeadlineMs: 50 },
      }),
    );
    const { io, out } = capture();
    expect(await policyCheck({ config }, io)).toBe(0);
    expect(out.join('\n')).toMatch(/^ok: 3 rule\(s\) in 1 file\(s\)/);
    const refused = capture();
    expect(await policyCheck({ config, vars: path.join(dir, 'vars.yaml') }, refused.io)).toBe(2);
    expect(refused.err.join('\n')).toContain('give --config or --vars, not both');
  });

  it('exits 2 when the folder cannot be read', async () => {
    const { io, err } = capture();
    expect(await policyCheck({ policies: path.join(dir, 'missing') }, io)).toBe(2);
    expect(err.join('\n')).toContain('ENOENT');
  });
});

describe('gatehouse policy eval', () => {
  it('with --config, evaluates a rule reading vars from the config, no --vars needed', async () => {
    const config = path.join(dir, 'eval-config.json');
    await writeFile(config, JSON.stringify({ policies: './good', vars: { protectedPrefix: 'ord' } }));
    const { io, out } = capture();
    expect(await policyEval({ config, call: path.join(dir, 'call.json') }, io)).toBe(0);
    // `orders` starts with the config's prefix: the vars rule matched, where without vars it could not run.
    expect(JSON.parse(out.join('\n'))).toMatchObject({ effect: 'deny', rules: ['no-prod'] });
  });

  it('prints the decision as JSON', async () => {
    const { io, out } = capture();
    const code = await policyEval(
      {
        policies: path.join(dir, 'good'),
        call: path.join(dir, 'call.json'),
        vars: path.join(dir, 'vars.yaml'),
      },
      io,
    );
    expect(code).toBe(0);
    const decision = JSON.parse(out.join('\n'));
    expect(decision).toEqual({
      effect: 'approve',
      rule: 'export-large',
      rules: ['export-large'],
      reason: 'large export',
      approvers: ['group:data-owners'],
      quorum: 1,
      ttl: '30m',
      mode: 'enforce',
      policyVersion: expect.stringMatching(/^sha256:/),
    });
  });

  it('explains every rule considered with --explain', async () => {
    const { io, out } = capture();
    await policyEval(
      {
        policies: path.join(dir, 'good'),
        call: path.join(dir, 'call.json'),
        vars: path.join(dir, 'vars.yaml'),
        explain: true,
      },
      io,
    );
    const { explanation } = JSON.parse(out.join('\n')) as {
      explanation: { rule: string; result: string; detail: string }[];
    };
    expect(explanation.map((e) => [e.rule, e.result])).toEqual([
      ['no-prod', 'not matched'],
      ['export-large', 'matched'],
      ['export-small', 'not matched'],
    ]);
    expect(explanation[1]!.detail).toBe('when !has(args.rows) || args.rows > 1000: true');
  });

  it('exits 2 on an unusable call file and on policies that do not load', async () => {
    await writeFile(path.join(dir, 'badcall.json'), '{"server": "db"}');
    const bad = capture();
    expect(
      await policyEval({ policies: path.join(dir, 'good'), call: path.join(dir, 'badcall.json') }, bad.io),
    ).toBe(2);
    expect(bad.err.join('\n')).toContain('tool');
    const broken = capture();
    expect(
      await policyEval({ policies: path.join(dir, 'bad'), call: path.join(dir, 'call.json') }, broken.io),
    ).toBe(2);
  });
});

describe('gatehouse policy test', () => {
  it('passes a folder of test cases', async () => {
    const { io, out, err } = capture();
    expect(
      await policyTest({ policies: path.join(dir, 'good'), cases: [path.join(dir, 'good', 'tests')] }, io),
    ).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual(['3 passed, 0 failed']);
  });

  it('prints each failure with the explanation and exits 1', async () => {
    const { io, out, err } = capture();
    expect(
      await policyTest({ policies: path.join(dir, 'good'), cases: [path.join(dir, 'failing.yaml')] }, io),
    ).toBe(1);
    const text = err.join('\n');
    expect(text).toContain(
      `FAIL wrongly expects a large export to run (${path.join(dir, 'failing.yaml')}:3)`,
    );
    expect(text).toContain('effect: expected allow, got approve by export-large (large export)');
    expect(text).toContain('export-small (');
    expect(text).toContain('not matched: when has(args.rows) && args.rows <= 1000: false');
    expect(out).toEqual(['0 passed, 1 failed']);
  });

  it('fails a test file that does not parse, with its location, and exits 2', async () => {
    await writeFile(
      path.join(dir, 'malformed.yaml'),
      'cases:\n  - name: x\n    call: { server: db }\n    expect: { effect: allow }\n',
    );
    const { io, err } = capture();
    expect(
      await policyTest({ policies: path.join(dir, 'good'), cases: [path.join(dir, 'malformed.yaml')] }, io),
    ).toBe(2);
    expect(err.join('\n')).toContain(`${path.join(dir, 'malformed.yaml')}:3:11: cases.0.call.tool:`);
  });

  it('with --verbose, lists every case that passed with where it is written', async () => {
    const { io, out } = capture();
    const cases = path.join(dir, 'good', 'tests');
    expect(await policyTest({ policies: path.join(dir, 'good'), cases: [cases], verbose: true }, io)).toBe(0);
    expect(out).toHaveLength(4);
    for (const line of out.slice(0, 3))
      expect(line).toMatch(new RegExp(`^PASS .+ \\(${cases}/[^:]+:\\d+\\)$`));
    expect(out[3]).toBe('3 passed, 0 failed');
  });

  it('passes the shipped example policies', async () => {
    const { io, out, err } = capture();
    expect(await policyTest({ policies: 'policies', cases: ['policies/tests'] }, io)).toBe(0);
    expect(err).toEqual([]);
    expect(out[0]).toMatch(/^\d+ passed, 0 failed$/);
  });
});

describe('registerPolicyCommands', () => {
  it('adds policy check, eval and test to the program', async () => {
    const program = new Command('gatehouse').exitOverride();
    const { io, out } = capture();
    registerPolicyCommands(program, io);
    const policy = program.commands.find((c) => c.name() === 'policy');
    expect(policy?.commands.map((c) => c.name())).toEqual(['check', 'eval', 'test']);
    const previous = process.exitCode;
    await program.parseAsync(['node', 'gatehouse', 'policy', 'check', '--policies', path.join(dir, 'good')]);
    expect(process.exitCode).toBe(0);
    expect(out[0]).toMatch(/^ok: /);
    process.exitCode = previous;
  });
});
