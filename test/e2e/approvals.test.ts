import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from '../helpers/client.js';
import { auditEvents } from '../helpers/audit.js';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import {
  ALICE,
  BOB,
  CAROL,
  DAVE,
  TOKENS,
  approve,
  expectNotRun,
  expectPending,
  gatedGatehouse,
  reaches,
  receivedSoFar,
  reject,
} from '../helpers/gated.js';
import { eventually } from '../helpers/processes.js';

/**
 * Approval requests end to end, decided the way every channel decides (`approvals.decide`): the real
 * server-filesystem writes files, the recorder logs every tools/call it receives, so "ran once" and
 * "never ran" are checked on disk and in its log rather than assumed.
 */

const gated = gatedGatehouse(scratchDir('approvals'), 'main');
const { setUp, call, writeFile } = gated;
const deploy = (build: string, client = gated.alice) => call('rec__deploy', { build }, client);

const received = () => receivedSoFar(gated.alice, setUp.recorder);
const deploysOf = async (build: string) =>
  (await received()).filter((c) => c.name === 'deploy' && c.arguments.build === build).length;

describe('a gated write_file on server-filesystem', () => {
  it('answers at once with a pending result and writes nothing; approved, the file is written once; the retry returns the real result', async () => {
    const target = path.join(setUp.files, 'approved.txt');
    // Answered without waiting for anyone; how fast (well under a second) is bench/approvals.ts's to measure.
    const pending = expectPending(await writeFile('approved.txt', 'approved content'), 'fs-write', true);
    expect(pending.approvers).toEqual(['carol', 'group:reviewers']);
    expect(existsSync(target)).toBe(false);
    // Durable before the model heard of it.
    expect(await gated.approvals.get(pending.approvalId)).toMatchObject({
      state: 'pending',
      tool: 'write_file',
      caller: ALICE,
      arguments: { path: target, content: 'approved content' },
    });

    expect((await approve(gated.approvals, pending.approvalId, BOB)).state).toBe('approved');
    const executed = await reaches(gated.approvals, pending.approvalId, 'executed');
    expect(readFileSync(target, 'utf8')).toBe('approved content');
    expect(executed.decisions).toMatchObject([{ approver: BOB, decision: 'approve', channel: 'test' }]);

    const retry = await writeFile('approved.txt', 'approved content');
    expect(retry).toMatchObject({
      content: [{ type: 'text', text: `Successfully wrote to ${target}` }],
      structuredContent: { content: `Successfully wrote to ${target}` },
      _meta: { 'gatehouse/approval': { status: 'executed', approvalId: pending.approvalId } },
    });
    expect(retry.isError).toBeUndefined();
    expect(executed.execution?.result).toMatchObject({ content: retry.content });
  });

  it('a retry with other arguments is a new request, and approving it never writes the earlier arguments', async () => {
    const target = path.join(setUp.files, 'changed.txt');
    const first = expectPending(await writeFile('changed.txt', 'first draft'), 'fs-write', true);
    const second = expectPending(await writeFile('changed.txt', 'second draft'), 'fs-write', true);
    expect(second.approvalId).not.toBe(first.approvalId);

    await approve(gated.approvals, second.approvalId, CAROL);
    await reaches(gated.approvals, second.approvalId, 'executed');
    expect(readFileSync(target, 'utf8')).toBe('second draft');
    expect((await gated.approvals.get(first.approvalId))?.state).toBe('pending');
    expectPending(await writeFile('changed.txt', 'first draft'), 'fs-write', true);
  });
});

describe("decided through the approval JSON API on Gatehouse's listener", () => {
  it('an approval POSTed by bob writes the file once with the approved content; the retry returns the result', async () => {
    const target = path.join(setUp.files, 'via-api.txt');
    const content = 'written after an approval over HTTP';
    const { approvalId } = expectPending(await writeFile('via-api.txt', content), 'fs-write', true);
    const bob = await gated.api.as(BOB);
    const pending = await bob.list('pending');
    expect(pending.json.approvals).toContainEqual(
      expect.objectContaining({
        id: approvalId,
        caller: expect.objectContaining({ ...ALICE, transport: 'http' }),
      }),
    );

    expect(await bob.decide(approvalId, 'approve')).toMatchObject({
      status: 200,
      json: {
        approval: { id: approvalId, state: 'approved', decisions: [{ approver: BOB, channel: 'api' }] },
      },
    });
    await eventually(
      async () => (await bob.get(approvalId)).json.approval.state === 'executed',
      'the API shows the request executed',
    );
    expect(readFileSync(target, 'utf8')).toBe(content);
    expect(await writeFile('via-api.txt', content)).toMatchObject({
      content: [{ type: 'text', text: `Successfully wrote to ${target}` }],
    });
  });

  it("the API refuses the requester, an unlisted approver and a decision after the rejection, with the state machine's codes", async () => {
    const { approvalId } = expectPending(await deploy('v-api-rejected'), 'deploy');
    const refused = (status: number, code: string) => ({ status, json: { error: { code } } });
    expect(await (await gated.api.as(ALICE)).decide(approvalId, 'approve')).toMatchObject(
      refused(403, 'APPROVER_IS_REQUESTER'),
    );
    expect(await (await gated.api.as(DAVE)).decide(approvalId, 'approve')).toMatchObject(
      refused(403, 'APPROVER_NOT_LISTED'),
    );
    expect(await (await gated.api.as(CAROL)).decide(approvalId, 'reject', 'wrong build')).toMatchObject({
      status: 200,
      json: { approval: { state: 'rejected' } },
    });
    expect(await (await gated.api.as(BOB)).decide(approvalId, 'approve')).toMatchObject(
      refused(409, 'APPROVAL_NOT_PENDING'),
    );
    expectNotRun(await deploy('v-api-rejected'), 'REJECTED by carol', 'wrong build');
    expect(await deploysOf('v-api-rejected')).toBe(0);
  });
});

describe('decisions', () => {
  it('the recorder runs an approved deploy exactly once, and retries get its result', async () => {
    const { approvalId } = expectPending(await deploy('v1'), 'deploy');
    expect(await deploysOf('v1')).toBe(0);
    await approve(gated.approvals, approvalId, BOB);
    await reaches(gated.approvals, approvalId, 'executed');
    for (let i = 0; i < 3; i++) {
      expect(await deploy('v1')).toMatchObject({ content: [{ type: 'text', text: 'deployed v1' }] });
    }
    expect(await deploysOf('v1')).toBe(1);
  });

  it('a retry while the approved deploy is still running waits for it and returns its result', async () => {
    const release = path.join(setUp.files, 'release-v-running');
    const args = { build: 'v-running', until: release };
    const { approvalId } = expectPending(await call('rec__deploy', args), 'deploy');
    await approve(gated.approvals, approvalId, BOB);
    await reaches(gated.approvals, approvalId, 'executing');
    let answered = false;
    const retry = call('rec__deploy', args).finally(() => (answered = true));
    // The retry's decision is on record before it joins the request; then the deploy is let finish.
    const decisions = async () =>
      (await auditEvents(setUp.audit)).filter(
        (e) => e.event === 'call.decided' && e.tool === 'deploy' && e.arguments.value.build === 'v-running',
      ).length;
    await eventually(async () => (await decisions()) === 2, 'the retry is decided');
    expect((await gated.approvals.get(approvalId))?.state).toBe('executing');
    expect(await deploysOf('v-running')).toBe(1);
    writeFileSync(release, '');
    expect(answered).toBe(false);
    expect(await retry).toMatchObject({
      content: [{ type: 'text', text: 'deployed v-running' }],
      _meta: { 'gatehouse/approval': { status: 'executed', approvalId } },
    });
    expect(await deploysOf('v-running')).toBe(1);
  });

  it('a rejection is final: never run, and the retry is an error carrying the reason', async () => {
    const { approvalId } = expectPending(await deploy('v2-rejected'), 'deploy');
    const rejected = await reject(gated.approvals, approvalId, CAROL, 'not on a Friday');
    expect(rejected.state).toBe('rejected');
    expectNotRun(await deploy('v2-rejected'), 'REJECTED by carol', 'not on a Friday');
    await expect(approve(gated.approvals, approvalId, BOB)).rejects.toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
    });
    expect(await deploysOf('v2-rejected')).toBe(0);
  });

  it('the requester cannot approve her own call, even as a member of the approving group', async () => {
    const { approvalId } = expectPending(await deploy('v3-self'), 'deploy');
    for (const groups of [ALICE.groups, ['reviewers']]) {
      await expect(approve(gated.approvals, approvalId, { id: 'alice', groups })).rejects.toMatchObject({
        code: 'APPROVER_IS_REQUESTER',
      });
    }
    await expect(reject(gated.approvals, approvalId, ALICE, 'changed my mind')).rejects.toMatchObject({
      code: 'APPROVER_IS_REQUESTER',
    });
    expect(await gated.approvals.get(approvalId)).toMatchObject({ state: 'pending', decisions: [] });
    expect(await deploysOf('v3-self')).toBe(0);
  });

  it('an approver listed for no rule of the request is refused', async () => {
    const { approvalId } = expectPending(await deploy('v4-unlisted'), 'deploy');
    await expect(approve(gated.approvals, approvalId, DAVE)).rejects.toMatchObject({
      code: 'APPROVER_NOT_LISTED',
    });
    expect(await gated.approvals.get(approvalId)).toMatchObject({ state: 'pending', decisions: [] });
  });

  it('a quorum of two: one approval leaves it pending, the same approver again is refused, a second person runs it', async () => {
    const { approvalId, quorum } = expectPending(
      await call('rec__remove', { path: '/srv/old-build' }),
      'remove-needs-two',
    );
    expect(quorum).toBe(2);
    expect((await approve(gated.approvals, approvalId, BOB)).state).toBe('pending');
    const again = expectPending(await call('rec__remove', { path: '/srv/old-build' }), 'remove-needs-two');
    expect(again).toMatchObject({ approvalId, approvals: 1 });
    await expect(approve(gated.approvals, approvalId, BOB)).rejects.toMatchObject({
      code: 'APPROVAL_ALREADY_DECIDED',
    });
    expect((await received()).filter((c) => c.name === 'remove')).toEqual([]);

    await approve(gated.approvals, approvalId, CAROL);
    await reaches(gated.approvals, approvalId, 'executed');
    expect((await received()).filter((c) => c.name === 'remove')).toEqual([
      { name: 'remove', arguments: { path: '/srv/old-build' } },
    ]);
  });

  it('approvals and rejections racing: exactly one decision wins, and the call runs at most once', async () => {
    const reviewers = Array.from({ length: 12 }, (_, i) => ({ id: `reviewer-${i}`, groups: ['reviewers'] }));
    for (let round = 0; round < 4; round++) {
      const build = `race-${round}`;
      const { approvalId } = expectPending(await deploy(build), 'deploy');
      const outcomes = await Promise.allSettled(
        reviewers.map((approver, i) =>
          i % 2 === 0
            ? approve(gated.approvals, approvalId, approver)
            : reject(gated.approvals, approvalId, approver, 'race'),
        ),
      );
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const lost of outcomes.filter((o) => o.status === 'rejected')) {
        expect(lost.reason).toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
      }
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof approve>>>).value;
      const final = await reaches(
        gated.approvals,
        approvalId,
        winner.state === 'approved' ? 'executed' : 'rejected',
      );
      expect(final.decisions).toHaveLength(1);
      expect(await deploysOf(build)).toBe(final.state === 'executed' ? 1 : 0);
    }
  });

  it('100 identical calls in parallel make one request and, once approved, one execution', async () => {
    const clients = [
      gated.alice,
      ...(await Promise.all([1, 2, 3].map(() => gated.embedded.connect({ token: TOKENS.alice })))),
    ];
    const burst = () =>
      Promise.all(Array.from({ length: 100 }, (_, i) => deploy('v100', clients[i % clients.length])));

    const pending = (await burst()).map((result) => expectPending(result, 'deploy'));
    const ids = new Set(pending.map((p) => p.approvalId));
    expect(ids.size).toBe(1);
    const [approvalId] = ids;
    expect((await gated.approvals.list()).filter((r) => r.arguments.build === 'v100')).toHaveLength(1);

    await approve(gated.approvals, approvalId!, BOB);
    await reaches(gated.approvals, approvalId!, 'executed');
    for (const result of await burst()) {
      expect(result).toMatchObject({ content: [{ type: 'text', text: 'deployed v100' }] });
    }
    expect(await deploysOf('v100')).toBe(1);
  });
});

describe('expiry', () => {
  it('a request nobody decides within its ttl expires: the retry is an error, a late approval is refused', async () => {
    const { approvalId, expiresAt } = expectPending(await call('rec__wipe'), 'wipe-decide-fast');
    const expired = await reaches(gated.approvals, approvalId, 'expired');
    expect(Date.parse(expired.closed!.at)).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expectNotRun(await call('rec__wipe'), 'expired', approvalId);
    await expect(approve(gated.approvals, approvalId, BOB)).rejects.toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
    });
    expect((await received()).filter((c) => c.name === 'wipe')).toEqual([]);
  });
});

describe('following a request with the built-in tools', () => {
  const status = (approvalId: string, client = gated.alice) =>
    call('gatehouse__approval_status', { approvalId }, client);

  /** Starts gatehouse__wait_for_approval; resolves `waiting` once Gatehouse reports it is waiting. */
  function waitFor(approvalId: string, signal?: AbortSignal) {
    let started!: () => void;
    const waiting = new Promise<void>((resolve) => (started = resolve));
    const result = gated.alice.client.callTool(
      { name: 'gatehouse__wait_for_approval', arguments: { approvalId, timeoutSeconds: 30 } },
      undefined,
      { signal, onprogress: () => started() },
    ) as Promise<CallToolResult>;
    return { waiting, result };
  }

  it('approval_status answers the requester with the state, and anyone else as if it did not exist', async () => {
    const { approvalId } = expectPending(await deploy('v5-status'), 'deploy');
    expectPending(await status(approvalId), 'deploy');
    const mallory = await gated.embedded.connect({ token: TOKENS.mallory });
    for (const id of [approvalId, randomUUID()]) {
      const answer = await status(id, mallory);
      expect(answer.isError).toBe(true);
      expect(resultText(answer)).toBe(`No approval request ${id} of yours exists.`);
    }
  });

  it('wait_for_approval returns the real result once the call is approved and has run', async () => {
    const { approvalId } = expectPending(await deploy('v6-waited'), 'deploy');
    const wait = waitFor(approvalId);
    await wait.waiting;
    await approve(gated.approvals, approvalId, CAROL);
    expect(await wait.result).toMatchObject({
      content: [{ type: 'text', text: 'deployed v6-waited' }],
      _meta: { 'gatehouse/approval': { status: 'executed', approvalId } },
    });
    expect(await status(approvalId)).toMatchObject({
      content: [{ type: 'text', text: 'deployed v6-waited' }],
    });
  });

  it('wait_for_approval returns the pending state when its time is up', async () => {
    const { approvalId } = expectPending(await deploy('v7-patience'), 'deploy');
    const result = (await call('gatehouse__wait_for_approval', {
      approvalId,
      timeoutSeconds: 1,
    })) as CallToolResult;
    expectPending(result, 'deploy');
  });

  it('a client cancelling wait_for_approval cancels the request, which then never runs', async () => {
    const { approvalId } = expectPending(await deploy('v8-abandoned'), 'deploy');
    const controller = new AbortController();
    const wait = waitFor(approvalId, controller.signal);
    await wait.waiting;
    controller.abort('the user pressed stop');
    await expect(wait.result).rejects.toThrow();
    const cancelled = await reaches(gated.approvals, approvalId, 'cancelled');
    expect(cancelled.closed?.reason).toContain('cancelled');
    await expect(approve(gated.approvals, approvalId, BOB)).rejects.toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
    });
    expectNotRun(await deploy('v8-abandoned'), 'cancelled');
    expect(await deploysOf('v8-abandoned')).toBe(0);
  });
});

describe('MCP tasks', () => {
  let tasker: TestClient;
  beforeAll(async () => {
    tasker = await gated.embedded.connect({ token: TOKENS.alice, tasks: true });
  });

  const requestFor = async (build: string) =>
    (await gated.approvals.list({ states: ['pending'] })).find((r) => r.arguments.build === build)!;
  /** tools/call asked for as a task: answered at once with the task, not the result. */
  const deployAsTask = async (build: string) =>
    (
      await tasker.client.request(
        {
          method: 'tools/call',
          params: { name: 'rec__deploy', arguments: { build }, task: { ttl: 60_000 } },
        },
        CreateTaskResultSchema,
      )
    ).task;

  it('a gated call run as a task is input_required while pending, then completed with the real result', async () => {
    const statuses: string[] = [];
    let result: CallToolResult | undefined;
    const stream = tasker.client.experimental.tasks.callToolStream(
      { name: 'rec__deploy', arguments: { build: 'v9-task' } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    );
    for await (const message of stream) {
      if (message.type === 'error') throw message.error;
      if (message.type === 'result') result = message.result as CallToolResult;
      else statuses.push(message.task.status);
      if (message.type === 'taskStatus' && message.task.status === 'input_required') {
        const request = await requestFor('v9-task');
        expect(message.task.statusMessage).toContain(request.id);
        expect(await deploysOf('v9-task')).toBe(0);
        // The stream now waits on tasks/result, which answers once the task has ended.
        await approve(gated.approvals, request.id, BOB);
      }
    }
    expect(statuses).toEqual(['input_required', 'input_required']);
    expect(result).toMatchObject({ content: [{ type: 'text', text: 'deployed v9-task' }] });
    expect(await deploysOf('v9-task')).toBe(1);
  });

  it('a rejected call ends its task failed, with the reason as the result', async () => {
    const task = await deployAsTask('v10-task-rejected');
    expect(task.status).toBe('input_required');
    await reject(gated.approvals, (await requestFor('v10-task-rejected')).id, CAROL, 'the build is red');
    const result = (await tasker.client.experimental.tasks.getTaskResult(
      task.taskId,
      CallToolResultSchema,
    )) as CallToolResult;
    expectNotRun(result, 'REJECTED by carol', 'the build is red');
    expect((await tasker.client.experimental.tasks.getTask(task.taskId)).status).toBe('failed');
    expect(await deploysOf('v10-task-rejected')).toBe(0);
  });

  it('tasks/cancel cancels the approval request, which then never runs', async () => {
    const task = await deployAsTask('v11-task-cancelled');
    const { id } = await requestFor('v11-task-cancelled');
    expect((await tasker.client.experimental.tasks.cancelTask(task.taskId)).status).toBe('cancelled');
    expect((await reaches(gated.approvals, id, 'cancelled')).closed?.reason).toBe(
      'the client cancelled the task',
    );
    await expect(approve(gated.approvals, id, BOB)).rejects.toMatchObject({ code: 'APPROVAL_NOT_PENDING' });
    expect((await tasker.client.experimental.tasks.getTask(task.taskId)).status).toBe('cancelled');
    expect(await deploysOf('v11-task-cancelled')).toBe(0);
  });

  it('a client that does not ask for a task gets the pending result', async () => {
    const plain = await gated.embedded.connect({ token: TOKENS.alice, capabilities: 'none' });
    expectPending(await deploy('v12-no-task', plain), 'deploy');
    expectPending(await deploy('v12-no-task', tasker), 'deploy');
  });
});
