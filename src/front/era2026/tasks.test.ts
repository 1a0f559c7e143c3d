import { describe, expect, it } from 'vitest';
import {
  applyDecision,
  blockExecution,
  cancel,
  finishExecution,
  newApprovalRequest,
  startExecution,
} from '../../approvals/states.js';
import { createLogger } from '../../log.js';
import { CANCELLED_BY_TASK, taskOf, type TaskContext } from './tasks.js';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const alice = { id: 'alice', groups: ['dev'] };
const bob = { id: 'bob', groups: ['security'] };

const pending = () =>
  newApprovalRequest(
    {
      id: 'r1',
      server: 'fs',
      tool: 'write_file',
      exposedName: 'fs__write_file',
      toolDefinitionDigest: 'a'.repeat(64),
      arguments: { path: '/tmp/a.txt' },
      caller: alice,
      reason: 'writes need a second pair of eyes',
      requirements: [{ rule: 'writes', approvers: ['group:security', 'erin'], quorum: 1 }],
      ttlMs: 60_000,
      policyVersion: 'p1',
    },
    T0,
  );
const approved = () => applyDecision(pending(), { approver: bob, decision: 'approve' }, at(1_000));
const executing = () => startExecution(approved(), at(2_000));

const ctx: TaskContext = {
  approvals: { retentionMs: 3_600_000, pageLink: (id) => ({ url: `https://gh.example/approvals/${id}` }) },
  log: createLogger({ level: 'silent' }),
};

describe('taskOf: the task as its approval request stands', () => {
  it('pending: working, saying who was asked, how many approvals are given, and where they decide', () => {
    const task = taskOf(pending(), ctx);
    expect(task).toMatchObject({
      taskId: 'r1',
      status: 'working',
      createdAt: T0.toISOString(),
      lastUpdatedAt: T0.toISOString(),
      ttlMs: 60_000 + 3_600_000,
      pollIntervalMs: expect.any(Number),
    });
    expect(task.statusMessage).toContain('asked: erin, group:security');
    expect(task.statusMessage).toContain('0 of 1 approval given');
    expect(task.statusMessage).toContain('https://gh.example/approvals/r1');
    expect(task.result).toBeUndefined();
  });

  it('approved and executing: still working, saying so; updated when it changed', () => {
    expect(taskOf(approved(), ctx)).toMatchObject({
      status: 'working',
      statusMessage: 'approval r1: approved; about to execute',
      lastUpdatedAt: at(1_000).toISOString(),
    });
    expect(taskOf(executing(), ctx)).toMatchObject({
      status: 'working',
      lastUpdatedAt: at(2_000).toISOString(),
    });
  });

  it('executed: completed with the real result inline, an isError result too (the tool ran)', () => {
    const result = { content: [{ type: 'text' as const, text: 'written' }] };
    const done = taskOf(finishExecution(executing(), { result }, at(3_000)), ctx);
    expect(done.status).toBe('completed');
    expect(done.result).toMatchObject({
      content: result.content,
      _meta: { 'gatehouse/approval': { status: 'executed' } },
    });
    const toolError = { content: [{ type: 'text' as const, text: 'disk full' }], isError: true };
    expect(taskOf(finishExecution(executing(), { result: toolError }, at(3_000)), ctx)).toMatchObject({
      status: 'completed',
      result: { isError: true },
    });
  });

  it('rejected: failed with a JSON-RPC error carrying who rejected and why', () => {
    const rejected = applyDecision(
      pending(),
      { approver: bob, decision: 'reject', reason: 'not today' },
      at(1_000),
    );
    const task = taskOf(rejected, ctx);
    expect(task.status).toBe('failed');
    expect(task.error).toEqual({
      code: -31000,
      message: 'Gatehouse: approval r1: rejected by bob: not today',
    });
    expect(task.result).toBeUndefined();
  });

  it('cancelled by its requester: cancelled; by anyone else: failed with the reason', () => {
    expect(taskOf(cancel(pending(), CANCELLED_BY_TASK, at(500)), ctx).status).toBe('cancelled');
    const other = taskOf(cancel(pending(), 'an operator withdrew it', at(500)), ctx);
    expect(other.status).toBe('failed');
    expect(other.error!.message).toContain('an operator withdrew it');
  });

  it('a run that failed keeps its own error code', () => {
    const blocked = blockExecution(
      approved(),
      { code: 'DOWNSTREAM_TIMEOUT', message: 'no answer in 30s' },
      at(2_000),
    );
    expect(taskOf(blocked, ctx).error).toEqual({
      code: -32001,
      message: 'Gatehouse: approval r1: approved, but not executed: no answer in 30s',
    });
  });
});
