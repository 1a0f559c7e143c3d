import { describe, expect, it } from 'vitest';
import { GatehouseError, isGatehouseError, type ErrorCode } from '../errors.js';
import { invocationDigest } from './digest.js';
import {
  APPROVAL_STATES,
  ApprovalRequestSchema,
  type ApprovalRequest,
  type ApprovalState,
} from './request.js';
import {
  OPEN_STATES,
  TRANSITIONS,
  applyDecision,
  blockExecution,
  canTransition,
  cancel,
  countsToward,
  asOf,
  finishExecution,
  isExpired,
  isListed,
  isOpen,
  isTerminal,
  markUnknown,
  newApprovalRequest,
  startExecution,
  tally,
  verifyDigest,
  type NewApprovalRequest,
} from './states.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const DEF = 'a'.repeat(64);

const alice = { id: 'alice', groups: ['dev'] };
const bob = { id: 'bob', groups: ['security'] };
const carol = { id: 'carol', groups: ['security', 'data-owners'] };
const dave = { id: 'dave', groups: ['data-owners'] };
const mallory = { id: 'mallory', groups: [] };

function input(overrides: Partial<NewApprovalRequest> = {}): NewApprovalRequest {
  return {
    id: 'r1',
    server: 'fs',
    tool: 'write_file',
    exposedName: 'fs__write_file',
    toolDefinitionDigest: DEF,
    arguments: { path: '/tmp/a.txt', content: 'hello' },
    caller: alice,
    reason: 'writes need a second pair of eyes',
    requirements: [{ rule: 'writes', approvers: ['group:security', 'user:alice', 'erin'], quorum: 1 }],
    ttlMs: 60_000,
    policyVersion: 'p1',
    ...overrides,
  };
}

const pending = (overrides: Partial<NewApprovalRequest> = {}) => newApprovalRequest(input(overrides), T0);
const approve = (request: ApprovalRequest, who: { id: string; groups: string[] }, ms = 1000) =>
  applyDecision(request, { approver: who, decision: 'approve' }, at(ms));
const reject = (request: ApprovalRequest, who: { id: string; groups: string[] }, reason = 'no', ms = 1000) =>
  applyDecision(request, { approver: who, decision: 'reject', reason }, at(ms));

function refusal(fn: () => unknown): ErrorCode | 'none' {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatehouseError) return error.code;
    throw error;
  }
  return 'none';
}

describe('the transition table', () => {
  it('is the documented state machine', () => {
    expect(TRANSITIONS).toEqual({
      pending: ['approved', 'rejected', 'expired', 'cancelled'],
      approved: ['executing', 'failed', 'expired', 'cancelled'],
      executing: ['executed', 'failed', 'unknown'],
      executed: [],
      failed: [],
      rejected: [],
      expired: [],
      cancelled: [],
      unknown: [],
    });
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...APPROVAL_STATES].sort());
  });

  it('never returns to pending and never leaves a terminal state', () => {
    for (const from of APPROVAL_STATES) {
      expect(canTransition(from, 'pending')).toBe(false);
      expect(canTransition(from, from)).toBe(false);
      if (isTerminal(from)) for (const to of APPROVAL_STATES) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('calls exactly pending, approved and executing open', () => {
    expect(APPROVAL_STATES.filter(isOpen)).toEqual(OPEN_STATES);
    expect(OPEN_STATES).toEqual(['pending', 'approved', 'executing']);
    expect(OPEN_STATES.some(isTerminal)).toBe(false);
  });
});

describe('newApprovalRequest', () => {
  it('binds the request to the digest of its invocation', () => {
    const request = pending();
    expect(request.digest).toBe(
      invocationDigest({
        server: 'fs',
        tool: 'write_file',
        toolDefinitionDigest: DEF,
        arguments: { path: '/tmp/a.txt', content: 'hello' },
        callerId: 'alice',
        policyVersion: 'p1',
      }),
    );
    expect(verifyDigest(request)).toBe(true);
  });

  it('starts pending with no decisions and expires ttl after creation', () => {
    const request = pending();
    expect(request).toMatchObject({
      state: 'pending',
      decisions: [],
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-01T00:01:00.000Z',
    });
    expect(request.execution).toBeUndefined();
    expect(ApprovalRequestSchema.parse(request)).toEqual(request);
  });

  it('derives rule ids, the approver union and the largest quorum from the requirements', () => {
    const request = pending({
      requirements: [
        { rule: 'z-owners', approvers: ['group:data-owners', 'bob'], quorum: 2 },
        { rule: 'a-security', approvers: ['group:security', 'bob'], quorum: 1 },
      ],
    });
    expect(request.rules).toEqual(['a-security', 'z-owners']);
    expect(request.approvers).toEqual(['bob', 'group:data-owners', 'group:security']);
    expect(request.quorum).toBe(2);
  });

  it('stores absent arguments as {}', () => {
    expect(pending({ arguments: undefined }).arguments).toEqual({});
  });

  it('copies the caller so later changes to the session do not reach the stored request', () => {
    const groups = ['dev'];
    const request = pending({ caller: { id: 'alice', groups } });
    groups.push('security');
    expect(request.caller.groups).toEqual(['dev']);
  });

  it('refuses input the schema refuses', () => {
    expect(() => pending({ requirements: [] })).toThrow();
    expect(() => pending({ ttlMs: 0 })).toThrow();
    expect(() => pending({ toolDefinitionDigest: 'not-a-digest' })).toThrow();
    expect(() => pending({ requirements: [{ rule: 'r', approvers: ['group:a b'], quorum: 1 }] })).toThrow();
  });

  it('detects stored arguments that no longer match the digest', () => {
    const request = pending();
    expect(verifyDigest({ ...request, arguments: { path: '/etc/passwd', content: 'hello' } })).toBe(false);
    expect(verifyDigest({ ...request, caller: { id: 'bob', groups: [] } })).toBe(false);
    expect(verifyDigest({ ...request, exposedName: 'other' })).toBe(true);
  });
});

describe('who counts', () => {
  const requirement = { rule: 'r', approvers: ['group:security', 'user:erin', 'frank'], quorum: 1 };

  it('matches user ids with or without user: and groups by membership', () => {
    expect(isListed(requirement, { id: 'erin', groups: [] })).toBe(true);
    expect(isListed(requirement, { id: 'frank', groups: [] })).toBe(true);
    expect(isListed(requirement, bob)).toBe(true);
    expect(isListed(requirement, mallory)).toBe(false);
    // Names are not patterns and groups are not users.
    expect(isListed(requirement, { id: 'security', groups: [] })).toBe(false);
    expect(isListed(requirement, { id: 'user:erin', groups: [] })).toBe(false);
    expect(isListed(requirement, { id: 'x', groups: ['group:security'] })).toBe(false);
  });

  it('never counts the requester, even when a list names them', () => {
    const request = pending();
    expect(request.approvers).toContain('user:alice');
    expect(countsToward(request, alice)).toEqual([]);
    expect(countsToward(request, { id: 'alice', groups: ['security'] })).toEqual([]);
  });
});

describe('applyDecision', () => {
  it('approves with a quorum of one listed approver', () => {
    const request = approve(pending(), bob);
    expect(request.state).toBe('approved');
    expect(request.decisions).toEqual([
      { approver: { id: 'bob', groups: ['security'] }, decision: 'approve', at: '2026-01-01T00:00:01.000Z' },
    ]);
  });

  it('needs quorum distinct approvers', () => {
    const two = pending({ requirements: [{ rule: 'r', approvers: ['group:security'], quorum: 2 }] });
    const once = approve(two, bob);
    expect(once.state).toBe('pending');
    expect(tally(once)).toEqual([{ rule: 'r', quorum: 2, approvedBy: ['bob'], met: false }]);
    expect(refusal(() => approve(once, bob))).toBe('APPROVAL_ALREADY_DECIDED');
    // The same id with other groups is the same person.
    expect(refusal(() => approve(once, { id: 'bob', groups: ['security', 'dev'] }))).toBe(
      'APPROVAL_ALREADY_DECIDED',
    );
    expect(approve(once, carol).state).toBe('approved');
  });

  it('needs every requirement met; one person may meet several', () => {
    const both = pending({
      requirements: [
        { rule: 'security', approvers: ['group:security'], quorum: 1 },
        { rule: 'owners', approvers: ['group:data-owners'], quorum: 1 },
      ],
    });
    const bobOnly = approve(both, bob);
    expect(bobOnly.state).toBe('pending');
    expect(approve(bobOnly, dave).state).toBe('approved');
    expect(approve(both, carol).state).toBe('approved');
  });

  it('refuses the requester with a clear error, whatever their groups', () => {
    const request = pending();
    let caught: unknown;
    try {
      approve(request, { id: 'alice', groups: ['security'] });
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught, 'APPROVER_IS_REQUESTER')).toBe(true);
    expect((caught as Error).message).toMatch(/alice made this request/);
    expect(refusal(() => reject(request, alice))).toBe('APPROVER_IS_REQUESTER');
  });

  it('refuses approvers listed for no rule, for approvals and rejections alike', () => {
    const request = pending();
    expect(refusal(() => approve(request, mallory))).toBe('APPROVER_NOT_LISTED');
    expect(refusal(() => reject(request, mallory))).toBe('APPROVER_NOT_LISTED');
  });

  it('makes a rejection final and keeps its reason', () => {
    const two = pending({ requirements: [{ rule: 'r', approvers: ['group:security'], quorum: 2 }] });
    const rejected = reject(approve(two, bob), carol, '  not on a Friday  ', 2000);
    expect(rejected.state).toBe('rejected');
    expect(rejected.decisions.at(-1)).toMatchObject({ decision: 'reject', reason: 'not on a Friday' });
    expect(rejected.closed).toEqual({
      at: '2026-01-01T00:00:02.000Z',
      reason: 'rejected by carol: not on a Friday',
    });
    expect(refusal(() => approve(rejected, { id: 'zed', groups: ['security'] }))).toBe(
      'APPROVAL_NOT_PENDING',
    );
  });

  it('needs a reason to reject', () => {
    expect(refusal(() => reject(pending(), bob, '   '))).toBe('APPROVAL_DECISION_INVALID');
    expect(refusal(() => applyDecision(pending(), { approver: bob, decision: 'reject' }, at(1)))).toBe(
      'APPROVAL_DECISION_INVALID',
    );
  });

  it('refuses a decision on a request that is no longer pending, naming its state', () => {
    const approved = approve(pending(), bob);
    let caught: unknown;
    try {
      reject(approved, carol);
    } catch (error) {
      caught = error;
    }
    expect(isGatehouseError(caught, 'APPROVAL_NOT_PENDING')).toBe(true);
    expect((caught as Error).message).toBe(
      'approval r1 is already approved: only a pending request takes decisions',
    );
  });

  it('refuses decisions from the expiry on', () => {
    expect(refusal(() => approve(pending(), bob, 59_999))).toBe('none');
    expect(refusal(() => approve(pending(), bob, 60_000))).toBe('APPROVAL_EXPIRED');
  });

  it('records the channel and copies the approver', () => {
    const groups = ['security'];
    const request = applyDecision(
      pending(),
      { approver: { id: 'bob', groups }, decision: 'approve', channel: 'web' },
      at(5),
    );
    groups.push('admin');
    expect(request.decisions[0]).toMatchObject({
      approver: { id: 'bob', groups: ['security'] },
      channel: 'web',
    });
  });

  it('does not change the request it was given', () => {
    const request = pending();
    const copy = structuredClone(request);
    approve(request, bob);
    expect(request).toEqual(copy);
  });
});

describe('tally', () => {
  it('ignores forged history: the requester, strangers, duplicates and rejections', () => {
    const two = pending({
      requirements: [{ rule: 'r', approvers: ['group:security', 'user:alice'], quorum: 2 }],
    });
    const forged: ApprovalRequest = {
      ...two,
      decisions: [alice, { id: 'alice', groups: ['security'] }, mallory, bob, bob].map((approver) => ({
        approver,
        decision: 'approve' as const,
        at: T0.toISOString(),
      })),
    };
    expect(tally(forged)).toEqual([{ rule: 'r', quorum: 2, approvedBy: ['bob'], met: false }]);
  });
});

describe('expiry', () => {
  it('expires a pending request from expiresAt on, and not before', () => {
    const request = pending();
    expect(isExpired(request, at(59_999))).toBe(false);
    expect(asOf(request, at(59_999))).toBe(request);
    const expired = asOf(request, at(60_000));
    expect(expired.state).toBe('expired');
    expect(expired.closed).toEqual({
      at: '2026-01-01T00:01:00.000Z',
      reason: 'expired without enough approvals',
    });
  });

  it('reads the same whenever it is read after expiry: closed at expiresAt, not at the moment of reading', () => {
    const request = pending();
    expect(asOf(request, at(90_000))).toEqual(asOf(request, at(60_000)));
    expect(asOf(request, at(3_600_000)).closed?.at).toBe(request.expiresAt);
  });

  it('expires an approved request that has not started', () => {
    const expired = asOf(approve(pending(), bob), at(61_000));
    expect(expired.state).toBe('expired');
    expect(expired.closed?.reason).toBe('expired after approval, before it ran');
  });

  it('leaves executing and terminal requests alone', () => {
    const executing = startExecution(approve(pending(), bob), at(2000));
    expect(asOf(executing, at(120_000))).toBe(executing);
    const rejected = reject(pending(), bob);
    expect(asOf(rejected, at(120_000))).toBe(rejected);
  });
});

describe('cancellation and execution', () => {
  it('cancels pending and approved requests, nothing later', () => {
    expect(cancel(pending(), 'the client cancelled the call', at(3)).state).toBe('cancelled');
    expect(cancel(approve(pending(), bob), 'the client cancelled the call', at(3)).closed?.reason).toBe(
      'the client cancelled the call',
    );
    const executing = startExecution(approve(pending(), bob), at(2));
    expect(refusal(() => cancel(executing, 'late', at(3)))).toBe('APPROVAL_TRANSITION_INVALID');
  });

  it('claims only an approved, unexpired request', () => {
    const executing = startExecution(approve(pending(), bob), at(2000));
    expect(executing.state).toBe('executing');
    expect(executing.execution).toEqual({ startedAt: '2026-01-01T00:00:02.000Z' });
    expect(refusal(() => startExecution(executing, at(3000)))).toBe('APPROVAL_TRANSITION_INVALID');
    expect(refusal(() => startExecution(pending(), at(3000)))).toBe('APPROVAL_TRANSITION_INVALID');
    expect(refusal(() => startExecution(approve(pending(), bob), at(60_000)))).toBe('APPROVAL_EXPIRED');
  });

  it('records the result (an isError result still ran) or the error', () => {
    const executing = startExecution(approve(pending(), bob), at(2000));
    const result = { content: [{ type: 'text' as const, text: 'wrote 5 bytes' }] };
    const executed = finishExecution(executing, { result }, at(2500));
    expect(executed.state).toBe('executed');
    expect(executed.execution).toEqual({
      startedAt: '2026-01-01T00:00:02.000Z',
      finishedAt: '2026-01-01T00:00:02.500Z',
      result,
    });
    const toolError = { content: [{ type: 'text' as const, text: 'EACCES' }], isError: true };
    expect(finishExecution(executing, { result: toolError }, at(2500)).state).toBe('executed');
    const failed = finishExecution(
      executing,
      { error: { code: 'DOWNSTREAM_TIMEOUT', message: 'no answer' } },
      at(9000),
    );
    expect(failed.state).toBe('failed');
    expect(failed.execution?.startedAt).toBe('2026-01-01T00:00:02.000Z');
    expect(refusal(() => finishExecution(approve(pending(), bob), { result }, at(3)))).toBe(
      'APPROVAL_TRANSITION_INVALID',
    );
    expect(refusal(() => finishExecution(executed, { result }, at(3)))).toBe('APPROVAL_TRANSITION_INVALID');
  });

  it('blocks an approved request without starting it', () => {
    const error = {
      code: 'TOOL_DEFINITION_CHANGED',
      message: "the tool's description changed after approval",
    };
    const blocked = blockExecution(approve(pending(), bob), error, at(2000));
    expect(blocked.state).toBe('failed');
    expect(blocked.execution).toEqual({ finishedAt: '2026-01-01T00:00:02.000Z', error });
    const executing = startExecution(approve(pending(), bob), at(2000));
    expect(refusal(() => blockExecution(executing, error, at(3000)))).toBe('APPROVAL_TRANSITION_INVALID');
  });

  it('turns a request found executing into unknown, and only that', () => {
    const unknown = markUnknown(startExecution(approve(pending(), bob), at(2000)), at(5000));
    expect(unknown.state).toBe('unknown');
    expect(unknown.closed?.reason).toMatch(/not re-run/);
    expect(refusal(() => markUnknown(approve(pending(), bob), at(5000)))).toBe('APPROVAL_TRANSITION_INVALID');
  });

  it('produces requests the schema accepts at every step', () => {
    const steps: ApprovalRequest[] = [pending()];
    steps.push(approve(steps[0]!, bob));
    steps.push(startExecution(steps[1]!, at(2000)));
    steps.push(finishExecution(steps[2]!, { result: { content: [] } }, at(3000)));
    steps.push(reject(pending(), bob), cancel(pending(), 'x', at(1)), asOf(pending(), at(60_000)));
    steps.push(markUnknown(steps[2]!, at(4000)));
    const seen = new Set<ApprovalState>();
    for (const step of steps) {
      expect(ApprovalRequestSchema.parse(step)).toEqual(step);
      seen.add(step.state);
    }
    expect([...seen].sort()).toEqual(
      ['approved', 'cancelled', 'executed', 'executing', 'expired', 'pending', 'rejected', 'unknown'].sort(),
    );
  });
});
