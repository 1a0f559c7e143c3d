import { describe, expect, it } from 'vitest';
import { decisionBlocker, safeNext } from './context.js';
import { newApprovalRequest } from '../states.js';

describe('safeNext', () => {
  it('keeps pages of the approval UI', () => {
    expect(safeNext('/approvals')).toBe('/approvals');
    expect(safeNext('/approvals/3f2a-9c')).toBe('/approvals/3f2a-9c');
    expect(safeNext('/approvals/tokens')).toBe('/approvals/tokens');
  });

  it('sends anything else to the inbox: other sites, other paths, tricks', () => {
    for (const next of [
      null,
      '',
      'https://evil.example/approvals',
      '//evil.example/approvals',
      '/\\evil.example',
      '/approvals/../mcp',
      '/approvals/%2e%2E/mcp',
      '/approvals/./..',
      '/approvals?x=https://evil.example',
      '/approvalsx',
      '/status',
      'javascript:alert(1)',
    ]) {
      expect(safeNext(next), String(next)).toBe('/approvals');
    }
  });
});

describe('decisionBlocker', () => {
  const request = newApprovalRequest(
    {
      id: 'r1',
      server: 'fs',
      tool: 'write_file',
      exposedName: 'fs__write_file',
      toolDefinitionDigest: 'd'.repeat(64),
      arguments: {},
      caller: { id: 'alice', groups: [] },
      reason: 'r',
      requirements: [{ rule: 'r', approvers: ['group:security'], quorum: 1 }],
      ttlMs: 60_000,
      policyVersion: 'p1',
    },
    new Date(0),
  );

  it('is empty for a listed approver and the state machine’s words for anyone else', () => {
    expect(decisionBlocker(request, { id: 'bob', groups: ['security'] }, 1_000)).toBeUndefined();
    expect(decisionBlocker(request, { id: 'alice', groups: ['security'] }, 1_000)).toContain(
      'made this request',
    );
    expect(decisionBlocker(request, { id: 'carol', groups: [] }, 1_000)).toContain('is not an approver');
    expect(decisionBlocker(request, { id: 'bob', groups: ['security'] }, 60_000)).toContain('expired');
  });
});
