import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import type { ApprovalRuntime } from '../../src/approvals/service.js';
import type { AuditEvent, EventOf } from '../../src/audit/events.js';
import { readKeyFile } from '../../src/audit/keys.js';
import { readReceipt } from '../../src/audit/receiptFacts.js';
import { auditEvents, storyOf, verifyTrail } from '../helpers/audit.js';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import {
  ALICE,
  BOB,
  CAROL,
  approve,
  expectPending,
  gatedGatehouse,
  reaches,
  reject,
} from '../helpers/gated.js';
import { eventually } from '../helpers/processes.js';

/**
 * Every flow leaves the records an auditor needs, in order, in one verifiable log: a real Gatehouse in
 * this process, real downstream servers, the records read back from the log's files.
 */
const scratch = scratchDir('audit-trail');
const gated = gatedGatehouse(scratch, 'trail');

const find = <N extends AuditEvent['event']>(events: AuditEvent[], name: N, id: string) =>
  events.find(
    (e): e is EventOf<N> =>
      e.event === name && (('callId' in e && e.callId === id) || ('approvalId' in e && e.approvalId === id)),
  );

/** The callId of the latest call.decided for `tool` (a call's own id, as every record of it carries). */
async function lastCallOf(tool: string): Promise<string> {
  let id: string | undefined;
  await eventually(async () => {
    const decided = (await auditEvents(gated.setUp.audit)).filter(
      (e) => e.event === 'call.decided' && e.tool === tool,
    );
    id = (decided.at(-1) as EventOf<'call.decided'> | undefined)?.callId;
    return id !== undefined;
  }, `a call.decided record for ${tool}`);
  return id!;
}

/** Waits for the group commit: the records of a call are on disk soon after its answer. */
async function eventsWhen(check: (events: AuditEvent[]) => boolean, what: string) {
  let events: AuditEvent[] = [];
  await eventually(async () => check((events = await auditEvents(gated.setUp.audit))), what);
  return events;
}

describe('the audit trail of every flow', () => {
  it('starts with the policy set in force and the start of Gatehouse', async () => {
    const events = await eventsWhen((e) => e.some((x) => x.event === 'gatehouse.started'), 'started');
    const loaded = events.find((e) => e.event === 'policy.loaded') as EventOf<'policy.loaded'>;
    const started = events.find((e) => e.event === 'gatehouse.started') as EventOf<'gatehouse.started'>;
    expect(started.policyVersion).toBe(loaded.version);
    expect(started.servers.sort()).toEqual(['fs', 'rec', 'shape']);
    expect(events.filter((e) => e.event === 'downstream.connected').length).toBeGreaterThanOrEqual(3);
  });

  it('allowed: decided, executing, executed, under one call id, with the rule and a result digest', async () => {
    const result = (await gated.call('rec__echo', { message: 'hello' })) as CallToolResult;
    expect(resultText(result)).toBe('hello');
    const id = await lastCallOf('echo');
    const events = await eventsWhen((e) => storyOf(e, id).length === 3, 'three records of the echo');
    expect(storyOf(events, id)).toEqual(['call.decided', 'call.executing', 'call.executed']);
    const decided = find(events, 'call.decided', id)!;
    expect(decided).toMatchObject({ effect: 'allow', mode: 'enforce', rules: ['harmless'], server: 'rec' });
    expect(decided.caller).toMatchObject({ id: 'alice', groups: ALICE.groups, transport: 'http' });
    expect(decided.arguments.value).toEqual({ message: 'hello' });
    const executed = find(events, 'call.executed', id)!;
    expect(executed).toMatchObject({
      isError: false,
      rules: ['harmless'],
      argumentsDigest: decided.arguments.digest,
    });
    expect(executed.resultDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('denied: one decided record naming the default, and nothing executed', async () => {
    const result = await gated.call('fs__read_text_file', { path: '/etc/hostname' });
    expect(result.isError).toBe(true);
    const id = await lastCallOf('read_text_file');
    const events = await auditEvents(gated.setUp.audit);
    expect(storyOf(events, id)).toEqual(['call.decided']);
    expect(find(events, 'call.decided', id)).toMatchObject({ effect: 'deny', rules: [] });
  });

  it('approved: requested, a refused self-approval, decided by bob, executed with a receipt that verifies offline', async () => {
    const pending = expectPending(await gated.call('rec__deploy', { build: 'b-approved' }), 'deploy');
    const id = pending.approvalId;
    await expect(approve(gated.approvals, id, ALICE)).rejects.toMatchObject({
      code: 'APPROVER_IS_REQUESTER',
    });
    await approve(gated.approvals, id, BOB);
    await reaches(gated.approvals, id, 'executed');
    const events = await auditEvents(gated.setUp.audit);
    expect(storyOf(events, id)).toEqual([
      'approval.requested',
      'approval.refused',
      'approval.decided',
      'call.executing',
      'call.executed',
    ]);
    expect(find(events, 'approval.refused', id)).toMatchObject({
      approver: { id: 'alice' },
      code: 'APPROVER_IS_REQUESTER',
      channel: 'test',
    });
    expect(find(events, 'approval.decided', id)).toMatchObject({
      approver: { id: 'bob', groups: BOB.groups },
      verdict: 'approve',
      state: 'approved',
    });
    const executed = find(events, 'call.executed', id)!;
    expect(executed.approvals!.map((a) => a.approver.id)).toEqual(['bob']);
    const requested = find(events, 'approval.requested', id)!;
    expect(executed.argumentsDigest).toBe(requested.arguments.digest);

    // The requester's identical retry gets the result, with the receipt of its execution.
    const retry = await gated.call('rec__deploy', { build: 'b-approved' });
    expect(resultText(retry)).toBe('deployed b-approved');
    const receipt = (retry._meta as Record<string, any>)['gatehouse/receipt']; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(receipt).toMatchObject({
      approvalId: id,
      rules: ['deploy'],
      argumentsDigest: executed.argumentsDigest,
      approvals: [{ approver: { id: 'bob' }, verdict: 'approve' }],
    });
    const keys = await readKeyFile(`${gated.setUp.audit}.key`);
    // What `gatehouse audit verify-receipt` reads: the proof, and the facts beside it, checked against
    // the signed line.
    const facts = readReceipt(retry, keys.verifiers);
    expect(facts).toMatchObject({
      ok: true,
      approvalId: id,
      seq: (executed as unknown as { seq: number }).seq,
    });
    expect(facts.approvers.map((a) => a.id)).toEqual(['bob']);
    expect(facts.confirmed).toEqual(expect.arrayContaining(['approvalId', 'argumentsDigest', 'rules']));
    // A receipt whose line names another approver does not verify.
    expect(receipt.line).toContain('"id":"bob"');
    const forged = { ...receipt, line: receipt.line.replace('"id":"bob"', '"id":"eve"') };
    expect(readReceipt(forged, keys.verifiers).ok).toBe(false);
    // Nor one that claims other approvers than its line.
    const claims = {
      ...receipt,
      approvals: [{ ...receipt.approvals[0], approver: { id: 'eve', groups: [] } }],
    };
    expect(readReceipt(claims, keys.verifiers).ok).toBe(false);
  });

  it('rejected: the verdict with its reason, and nothing executed', async () => {
    const { approvalId: id } = expectPending(
      await gated.call('rec__deploy', { build: 'b-rejected' }),
      'deploy',
    );
    await reject(gated.approvals, id, CAROL, 'not this build');
    const events = await eventsWhen((e) => storyOf(e, id).length === 2, 'two records');
    expect(storyOf(events, id)).toEqual(['approval.requested', 'approval.decided']);
    expect(find(events, 'approval.decided', id)).toMatchObject({
      verdict: 'reject',
      reason: 'not this build',
      state: 'rejected',
    });
  });

  it('expired and cancelled requests say so', async () => {
    const { approvalId: wipe } = expectPending(await gated.call('rec__wipe', {}), 'wipe-decide-fast');
    const { approvalId: cancelled } = expectPending(
      await gated.call('rec__deploy', { build: 'b-cancel' }),
      'deploy',
    );
    await (gated.approvals as ApprovalRuntime).cancel(cancelled, 'the requester withdrew it');
    const events = await eventsWhen(
      (e) =>
        storyOf(e, wipe).includes('approval.expired') && storyOf(e, cancelled).includes('approval.cancelled'),
      'the expiry and the cancellation',
    );
    expect(storyOf(events, wipe)).toEqual(['approval.requested', 'approval.expired']);
    expect(find(events, 'approval.cancelled', cancelled)).toMatchObject({
      reason: 'the requester withdrew it',
    });
  });

  it('a call the re-check blocks fails without reaching the server', async () => {
    const { approvalId: id } = expectPending(await gated.call('shape__target', { city: 'Oslo' }), 'weather');
    // The shapeshifter changes its tool's description without a word.
    await gated.call('shape__shift', { silently: true, description: 'a different tool now' });
    await approve(gated.approvals, id, BOB);
    await reaches(gated.approvals, id, 'failed');
    const events = await auditEvents(gated.setUp.audit);
    expect(storyOf(events, id)).toEqual(['approval.requested', 'approval.decided', 'call.failed']);
    expect(find(events, 'call.failed', id)).toMatchObject({
      reachedServer: false,
      error: { code: 'TOOL_DEFINITION_CHANGED' },
    });
    expect(
      events.some(
        (e) => e.event === 'tool.definition_changed' && e.server === 'shape' && e.tool === 'target',
      ),
    ).toBe(true);
  });

  it('one log, every record in order, and it verifies', async () => {
    const events = await auditEvents(gated.setUp.audit);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    const report = await verifyTrail(gated.setUp.audit, `${gated.setUp.audit}.key`);
    expect(report.problem).toBeUndefined();
    expect(report.ok).toBe(true);
  });
});
