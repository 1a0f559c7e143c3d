import { describe, expect, it } from 'vitest';
import { cut, MAX_DETAIL, outcomeOf } from './outcome.js';
import type { ApprovalRequest } from './request.js';
import {
  applyDecision,
  asOf,
  blockExecution,
  cancel,
  finishExecution,
  markUnknown,
  newApprovalRequest,
  startExecution,
} from './states.js';

const AT = new Date('2026-01-01T00:00:00Z');
const BOB = { id: 'bob', groups: ['security'] };

function pending(): ApprovalRequest {
  return newApprovalRequest(
    {
      id: 'a1',
      server: 'fs',
      tool: 'write_file',
      exposedName: 'fs__write_file',
      toolDefinitionDigest: 'd'.repeat(64),
      arguments: { path: '/tmp/x' },
      caller: { id: 'alice', groups: [] },
      reason: 'writes need a reviewer',
      requirements: [{ rule: 'fs-writes', approvers: ['group:security'], quorum: 1 }],
      ttlMs: 60_000,
      policyVersion: 'p1',
    },
    AT,
  );
}

const approved = () => applyDecision(pending(), { approver: BOB, decision: 'approve' }, AT);
const finished = (result: object) =>
  finishExecution(startExecution(approved(), AT), { result: result as never }, AT);

describe('outcomeOf', () => {
  it('has none while the request is open', () => {
    expect(outcomeOf(pending())).toBeUndefined();
    expect(outcomeOf(approved())).toBeUndefined();
    expect(outcomeOf(startExecution(approved(), AT))).toBeUndefined();
  });

  it('tells a result from a tool that ran and reported an error, with its text', () => {
    expect(outcomeOf(finished({ content: [{ type: 'text', text: 'done' }] }))).toEqual({
      kind: 'executed',
      text: 'executed',
    });
    const failedTool = finished({
      content: [
        { type: 'text', text: 'ENOENT: no such file' },
        { type: 'image', data: 'AAAA', mimeType: 'image/png' },
        { type: 'text', text: 'at /tmp/x' },
      ],
      isError: true,
    });
    expect(outcomeOf(failedTool)).toEqual({
      kind: 'executed-with-tool-error',
      text: 'executed, the tool reported an error',
      detail: 'ENOENT: no such file\nat /tmp/x',
    });
    expect(outcomeOf(finished({ content: [], isError: true }))?.detail).toBe('(the tool sent no error text)');
  });

  it('passes every untrusted text through `show` before cutting it', () => {
    const long = finished({
      content: [{ type: 'text', text: `secret-1 ${'x'.repeat(5000)}` }],
      isError: true,
    });
    const { detail } = outcomeOf(long, (text) => text.replace('secret-1', '[REDACTED]'))!;
    expect(detail!.startsWith('[REDACTED] xxx')).toBe(true);
    expect(Array.from(detail!)).toHaveLength(MAX_DETAIL + '[...]'.length);
    expect(detail!.endsWith('x[...]')).toBe(true);
  });

  it('says how every other ending came about', () => {
    const blocked = blockExecution(
      approved(),
      { code: 'POLICY_DENIED', message: 'a deny rule now matches' },
      AT,
    );
    expect(outcomeOf(blocked)).toEqual({
      kind: 'failed',
      text: 'approved, but not executed',
      detail: 'a deny rule now matches',
    });
    const timedOut = finishExecution(
      startExecution(approved(), AT),
      { error: { code: 'DOWNSTREAM_TIMEOUT', message: 'no answer in 60 s' } },
      AT,
    );
    expect(outcomeOf(timedOut)).toMatchObject({ kind: 'failed', text: 'failed while executing' });
    const rejected = applyDecision(pending(), { approver: BOB, decision: 'reject', reason: 'not today' }, AT);
    expect(outcomeOf(rejected)).toEqual({ kind: 'rejected', text: 'rejected by bob', detail: 'not today' });
    expect(outcomeOf(asOf(pending(), new Date(AT.getTime() + 60_000)))).toEqual({
      kind: 'expired',
      text: 'expired',
      detail: 'expired without enough approvals',
    });
    expect(outcomeOf(cancel(pending(), 'the client cancelled the task', AT))).toMatchObject({
      kind: 'cancelled',
      detail: 'the client cancelled the task',
    });
    expect(outcomeOf(markUnknown(startExecution(approved(), AT), AT))?.kind).toBe('unknown');
  });
});

describe('cut', () => {
  it('keeps text that fits, and marks where it cut the rest, never inside a surrogate pair', () => {
    expect(cut('abc', 3)).toBe('abc');
    expect(cut('abcd', 3)).toBe('abc[...]');
    expect(cut('😀😀😀', 2)).toBe('😀😀[...]');
  });
});
