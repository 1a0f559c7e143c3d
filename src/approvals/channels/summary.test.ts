import { describe, expect, it } from 'vitest';
import { createRedactor } from '../../redact/index.js';
import { RedactSettingsSchema } from '../../redact/options.js';
import type { ApprovalRequest } from '../request.js';
import { applyDecision, finishExecution, newApprovalRequest, startExecution } from '../states.js';
import { argumentsLine, requestUrl, summarize } from './summary.js';
import { cutMarker } from './text.js';

const T0 = new Date('2026-05-01T10:00:00.000Z');
const redactor = createRedactor({
  ...RedactSettingsSchema.parse({ names: ['ssn'] }),
  digestKey: new Uint8Array(32).fill(7),
});
const bob = { id: 'bob', groups: ['security'] };

function request(
  args: Record<string, unknown>,
  overrides: Partial<Parameters<typeof newApprovalRequest>[0]> = {},
) {
  return newApprovalRequest(
    {
      id: 'req/1',
      server: 'fs',
      tool: 'write_file',
      exposedName: 'fs__write_file',
      toolDefinitionDigest: 'd'.repeat(64),
      toolDefinition: {
        name: 'write_file',
        description: 'Writes a file. \u202Eelif a setirW',
        inputSchema: { type: 'object' },
      },
      arguments: args,
      caller: { id: 'alice', groups: ['dev'] },
      reason: 'writes need approval',
      requirements: [{ rule: 'writes', approvers: ['group:security'], quorum: 2 }],
      ttlMs: 3_600_000,
      policyVersion: 'p1',
      ...overrides,
    },
    T0,
  );
}

const options = { baseUrl: 'https://gatehouse.example/', redactor, now: T0 };

describe('summarize', () => {
  it('renders what every channel shows: link, tool, rule, reason, requester, expiry, digests, tally', () => {
    const summary = summarize(request({ path: '/tmp/a.txt' }), options);
    expect(summary).toMatchObject({
      id: 'req/1',
      url: 'https://gatehouse.example/approvals/req%2F1',
      server: 'fs',
      tool: 'write_file',
      exposedName: 'fs__write_file',
      toolDescription: 'Writes a file. [U+202E]elif a setirW',
      rules: ['writes'],
      reason: 'writes need approval',
      requester: { id: 'alice', groups: ['dev'] },
      expiresAt: '2026-05-01T11:00:00.000Z',
      state: 'pending',
      approvers: ['group:security'],
      quorum: 2,
      approvals: [],
      decisions: [],
      flagged: true,
    });
    expect(summary.digest).toBe(request({ path: '/tmp/a.txt' }).digest);
    expect(summary.arguments.digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(summary.outcome).toBeUndefined();
  });

  it('redacts secrets in arguments and says where', () => {
    const summary = summarize(
      request({
        user: 'ann',
        password: 'hunter2',
        ssn: '123-45-6789',
        auth: 'Bearer abcdefghijklmnopqrstuvwxyz012345',
      }),
      options,
    );
    const shown = JSON.stringify(summary.arguments);
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('123-45-6789');
    expect(shown).not.toContain('abcdefghijklmnopqrstuvwxyz012345');
    expect(summary.arguments.redacted).toEqual(expect.arrayContaining(['$.password', '$.ssn', '$.auth']));
    expect(summary.argumentsLine).not.toContain('hunter2');
    expect(summary.arguments.value.user).toBe('ann');
  });

  it('cuts long values and the whole display, pointing at the page for the rest', () => {
    const long = 'x'.repeat(2_000);
    const summary = summarize(request({ content: long }), {
      ...options,
      limits: { valueChars: 100, argumentsChars: 60 },
    });
    expect(summary.arguments.value.content).toBe(`${'x'.repeat(100)}${cutMarker(1_900)}`);
    expect(summary.arguments.cut).toBe(true);
    const full = JSON.stringify(summary.arguments.value, null, 2);
    expect(summary.arguments.display).toBe(`${full.slice(0, 60)}${cutMarker(full.length - 60)}`);
    expect(summarize(request({ a: 'short' }), options).arguments.cut).toBe(false);
  });

  it('makes bidi, zero-width and look-alike characters visible in arguments, keys and names, leaving markup literal', () => {
    const summary = summarize(
      request(
        {
          ['file\u200Bname']: 'invoice\u202Efdp.exe',
          note: '[approve](https://evil.example) <at>x</at> {{DATE()}}',
          host: 'p\u0430ypal.com',
        },
        { tool: 'write\u200Dfile', caller: { id: 'al\u0456ce', groups: [] } },
      ),
      options,
    );
    expect(summary.arguments.value).toEqual({
      'file[U+200B]name': 'invoice[U+202E]fdp.exe',
      note: '[approve](https://evil.example) <at>x</at> {{DATE()}}',
      host: 'p[U+0430]ypal.com',
    });
    expect(summary.tool).toBe('write[U+200D]file');
    expect(summary.requester.id).toBe('al[U+0456]ce');
    expect(summary.flagged).toBe(true);
    expect(JSON.stringify(summary)).not.toMatch(/\u200B|\u200D|\u202E|\u0430|\u0456/);
  });

  it('keeps every argument key as data, __proto__ included', () => {
    const args = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;
    const summary = summarize(request(args), options);
    expect(Object.keys(summary.arguments.value)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(summary.arguments.display).toContain('"__proto__"');
  });

  it('reads the request as of now: past its expiry it is expired, with how it ended', () => {
    const summary = summarize(request({}), { ...options, now: new Date(T0.getTime() + 3_600_000) });
    expect(summary.state).toBe('expired');
    expect(summary.outcome).toEqual({ kind: 'expired', text: 'expired: expired without enough approvals' });
  });

  it('lists decisions and tells an error the tool reported apart from a clean run', () => {
    let r: ApprovalRequest = request({});
    r = applyDecision(r, { approver: bob, decision: 'approve', channel: 'hooks' }, T0);
    r = applyDecision(r, { approver: { id: 'carol', groups: ['security'] }, decision: 'approve' }, T0);
    r = startExecution(r, T0);
    const ran = finishExecution(
      r,
      { result: { content: [{ type: 'text', text: 'disk \u202Efull' }], isError: true } },
      T0,
    );
    const summary = summarize(ran, options);
    expect(summary.approvals).toEqual([
      { id: 'bob', at: T0.toISOString(), channel: 'hooks' },
      { id: 'carol', at: T0.toISOString() },
    ]);
    expect(summary.decisions.map((d) => [d.by, d.verdict])).toEqual([
      ['bob', 'approve'],
      ['carol', 'approve'],
    ]);
    expect(summary.outcome).toEqual({
      kind: 'executed-with-tool-error',
      text: 'executed, the tool reported an error: disk [U+202E]full',
    });
    const clean = finishExecution(r, { result: { content: [] } }, T0);
    expect(summarize(clean, options).outcome).toEqual({ kind: 'executed', text: 'executed' });
  });

  it('shows a rejection with its reason', () => {
    const rejected = applyDecision(
      request({}),
      { approver: bob, decision: 'reject', reason: 'not today' },
      T0,
    );
    const summary = summarize(rejected, options);
    expect(summary.rejection).toEqual({ by: 'bob', at: T0.toISOString(), reason: 'not today' });
    expect(summary.outcome).toEqual({ kind: 'rejected', text: 'rejected by bob: not today' });
  });
});

describe('argumentsLine', () => {
  it("is the page's line, made visible: strings quoted, other values as compact JSON", () => {
    expect(
      argumentsLine({
        path: '/tmp/a.txt',
        mode: 420,
        force: true,
        tags: ['a', 'b'],
        meta: { x: 1 },
        none: null,
      }),
    ).toBe('path: "/tmp/a.txt", mode: 420, force: true, tags: ["a","b"], meta: {"x":1}, none: null');
    expect(argumentsLine({})).toBe('(no arguments)');
  });

  it('shows hidden characters, and cuts long values and the line', () => {
    // JSON escapes the line break; the bidi override is made visible.
    expect(argumentsLine({ content: 'line one\nline\u202Etwo' })).toBe(
      'content: "line one\\nline[U+202E]two"',
    );
    const line = argumentsLine({
      a: 'x'.repeat(100),
      b: 'y'.repeat(100),
      c: 'z'.repeat(100),
      d: 'w'.repeat(100),
    });
    // Long strings keep their start and end; what does not fit in the line is counted.
    expect(line).toMatch(/^a: "x{16}\[\.\.\.\]x{32}", b: "y{16}\[\.\.\.\]y{32}", /);
    expect(Array.from(line).length).toBeLessThanOrEqual(160);
    expect(line).not.toContain('\n');
  });

  it('tells two requests for one tool apart', () => {
    expect(argumentsLine({ path: '/tmp/a.txt' })).not.toBe(argumentsLine({ path: '/tmp/b.txt' }));
  });
});

describe('requestUrl', () => {
  it('joins the base URL and the encoded id', () => {
    expect(requestUrl('http://127.0.0.1:8787', 'a b')).toBe('http://127.0.0.1:8787/approvals/a%20b');
    expect(requestUrl('https://g.example/base/', 'x')).toBe('https://g.example/base/approvals/x');
  });
});
