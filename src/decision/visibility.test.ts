import { describe, expect, it } from 'vitest';
import { compileOrThrow, makeCall } from './testkit.js';
import { visibilityOf } from './visibility.js';

const policy = `
rules:
  - id: read
    match: { servers: fs, tools: ["read_*", list_directory] }
    effect: allow
  - id: no-secrets
    match: { servers: fs, tools: read_secret }
    effect: deny
  - id: no-destructive
    match: { servers: fs }
    when: tool.annotations.destructiveHint && vars.strict
    effect: deny
  - id: writes
    match: { servers: fs, tools: write_file }
    when: "!isUnder(args.path, vars.workspace)"
    effect: approve
    approvers: [group:ops]
  - id: writes-inside
    match: { servers: fs, tools: [write_file, edit_file] }
    when: isUnder(args.path, vars.workspace)
    effect: allow
  - id: list-only-for-ops
    match: { servers: fs, tools: list_directory }
    when: '!("ops" in caller.groups)'
    effect: deny
  - id: broken-static
    match: { servers: fs, tools: read_broken }
    when: vars.missing > 1
    effect: allow
`;
const vars = { workspace: '/w', strict: false, missing: 'x' };
const tool = (name: string, annotations?: Record<string, boolean>) =>
  makeCall(
    'fs',
    name,
    {},
    { definition: { name, inputSchema: { type: 'object' }, ...(annotations ? { annotations } : {}) } },
  );

describe('visibility in tools/list', () => {
  const set = compileOrThrow(policy, { vars });

  it('shows an allowed tool', () => {
    expect(visibilityOf(set, tool('read_file', { readOnlyHint: true }))).toBe('visible');
  });
  it('hides a tool a rule denies without looking at its arguments', () => {
    expect(visibilityOf(set, tool('read_secret', { readOnlyHint: true }))).toBe('hidden');
  });
  it('keeps a tool whose deny rule reads the arguments or the caller', () => {
    expect(visibilityOf(set, tool('list_directory', { readOnlyHint: true }))).toBe('visible');
  });
  it('marks a tool an approve rule may gate', () => {
    expect(visibilityOf(set, tool('write_file', { readOnlyHint: false, destructiveHint: false }))).toBe(
      'may-need-approval',
    );
  });
  it('hides a tool no rule can allow under a default deny', () => {
    expect(
      visibilityOf(set, tool('delete_everything', { readOnlyHint: false, destructiveHint: false })),
    ).toBe('hidden');
  });
  it('hides a tool whose static rule fails, since every call would fail closed', () => {
    expect(visibilityOf(set, tool('read_broken', { readOnlyHint: true }))).toBe('hidden');
  });
  it('evaluates rules on tool annotations per tool, with vars', () => {
    const strict = compileOrThrow(policy, { vars: { ...vars, strict: true } });
    expect(visibilityOf(strict, tool('edit_file', { destructiveHint: true }))).toBe('hidden');
    expect(visibilityOf(strict, tool('edit_file', { readOnlyHint: true }))).toBe('visible');
    // No annotations: MCP's default is destructive.
    expect(visibilityOf(strict, tool('edit_file'))).toBe('hidden');
  });
  it('shows everything in shadow mode', () => {
    const shadow = compileOrThrow(`mode: shadow\n${policy}`, { vars });
    expect(visibilityOf(shadow, tool('read_secret'))).toBe('visible');
    expect(visibilityOf(shadow, tool('delete_everything'))).toBe('visible');
  });
});
