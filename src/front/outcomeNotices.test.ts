import type { LoggingLevel, Notification } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../approvals/request.js';
import { applyDecision, finishExecution, newApprovalRequest, startExecution } from '../approvals/states.js';
import { silentLogger } from '../log.js';
import { startOutcomeNotices } from './outcomeNotices.js';
import { SessionRegistry, type Session } from './sessions.js';

const AT = new Date('2026-01-01T00:00:00Z');
const BOB = { id: 'bob', groups: ['security'] };

function request(id: string, caller = 'alice'): ApprovalRequest {
  return newApprovalRequest(
    {
      id,
      server: 'rec',
      tool: 'deploy',
      exposedName: 'rec__deploy',
      toolDefinitionDigest: 'd'.repeat(64),
      arguments: { build: id },
      caller: { id: caller, groups: [] },
      reason: 'deploys need a reviewer',
      requirements: [{ rule: 'deploy', approvers: ['group:security'], quorum: 1 }],
      ttlMs: 600_000,
      policyVersion: 'p1',
    },
    AT,
  );
}

const approve = (r: ApprovalRequest) => applyDecision(r, { approver: BOB, decision: 'approve' }, AT);
const reject = (r: ApprovalRequest, reason: string) =>
  applyDecision(r, { approver: BOB, decision: 'reject', reason }, AT);
const execute = (r: ApprovalRequest, result: object) =>
  finishExecution(startExecution(r, AT), { result: result as never }, AT);

/** A session that records what it was sent. */
function session(id: string, caller: string, logLevel?: LoggingLevel) {
  const sent: Notification[] = [];
  const fake = {
    id,
    caller: { id: caller, groups: [], transport: 'http' },
    server: { notification: async (n: Notification) => void sent.push(n) },
    askedFor: new Set<string>(),
    subscriptions: new Set<string>(),
    ...(logLevel ? { logLevel } : {}),
  } as unknown as Session;
  return {
    session: fake,
    sent,
    told: () => sent.map((n) => (n.params as { data: { status: string } }).data),
  };
}

function harness() {
  const listeners = new Set<(r: ApprovalRequest) => void>();
  const sessions = new SessionRegistry();
  const stop = startOutcomeNotices({
    approvals: {
      onChange: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      pageLink: (id) => ({ url: `https://gatehouse.example/approvals/${id}` }),
    },
    sessions,
    redactText: (text) => text.replaceAll('hunter2', '[REDACTED]'),
    logger: silentLogger,
  });
  return { sessions, change: (r: ApprovalRequest) => listeners.forEach((l) => l(r)), stop, listeners };
}

describe('the requester’s outcome notices', () => {
  it('go to the session that asked, and to no other session of the caller while it is open', () => {
    const { sessions, change } = harness();
    const asking = session('s1', 'alice');
    const other = session('s2', 'alice');
    [asking, other].forEach((s) => sessions.add(s.session));
    const r = request('a1');
    asking.session.askedFor.add(r.id);

    change(r);
    change(approve(r));
    change(execute(approve(r), { content: [{ type: 'text', text: 'deployed' }] }));
    expect(asking.sent.map((n) => n.params)).toEqual([
      {
        level: 'info',
        logger: 'gatehouse',
        data: {
          message: 'The call to rec__deploy (approval a1) was approved by bob and runs now.',
          approvalId: 'a1',
          tool: 'rec__deploy',
          status: 'approved',
          url: 'https://gatehouse.example/approvals/a1',
        },
      },
      {
        level: 'info',
        logger: 'gatehouse',
        data: {
          message:
            'The call to rec__deploy (approval a1): executed. Its result: call gatehouse__approval_status ' +
            'with {"approvalId": "a1"}, or repeat the identical call.',
          approvalId: 'a1',
          tool: 'rec__deploy',
          status: 'executed',
          outcome: 'executed',
          url: 'https://gatehouse.example/approvals/a1',
        },
      },
    ]);
    expect(other.sent).toEqual([]);
    // Ended: the session no longer holds the request.
    expect(asking.session.askedFor.has(r.id)).toBe(false);
  });

  it('go to every open session of the caller when none that asked is open, never to another caller', () => {
    const { sessions, change } = harness();
    const first = session('s1', 'alice');
    const second = session('s2', 'alice');
    const mallory = session('s3', 'mallory');
    [first, second, mallory].forEach((s) => sessions.add(s.session));
    change(reject(request('a2'), 'not on a Friday'));
    expect(first.told()).toMatchObject([{ status: 'rejected', outcome: 'rejected' }]);
    expect(second.told()).toMatchObject([{ status: 'rejected' }]);
    expect((first.sent[0]!.params as { level: string }).level).toBe('warning');
    expect(mallory.sent).toEqual([]);
  });

  it('hold each session’s logging level, tell one change once, and redact what the tool said', () => {
    const { sessions, change } = harness();
    const quiet = session('s1', 'alice', 'warning');
    sessions.add(quiet.session);
    const r = request('a3');
    change(approve(r));
    const failed = execute(approve(r), {
      content: [{ type: 'text', text: 'bad password hunter2' }],
      isError: true,
    });
    change(failed);
    change(failed);
    expect(quiet.told()).toEqual([
      expect.objectContaining({ status: 'executed', outcome: 'executed-with-tool-error' }),
    ]);
    expect((quiet.sent[0]!.params as { level: string }).level).toBe('warning');
    const { message } = quiet.told()[0] as unknown as { message: string };
    expect(message).toContain('executed, the tool reported an error: bad password [REDACTED]');
    expect(message).not.toContain('hunter2');
  });

  it('stop listening when stopped', () => {
    const { stop, listeners } = harness();
    expect(listeners.size).toBe(1);
    stop();
    expect(listeners.size).toBe(0);
  });
});
