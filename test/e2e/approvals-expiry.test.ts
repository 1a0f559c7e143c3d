import path from 'node:path';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CreateTaskResultSchema } from '@modelcontextprotocol/sdk/experimental/tasks/index.js';
import { describe, expect, it } from 'vitest';
import { resultText } from '../helpers/compare.js';
import { scratchDir } from '../helpers/config.js';
import { BOB, TOKENS, expectNotRun, expectPending, gatedGatehouse } from '../helpers/gated.js';
import { eventually } from '../helpers/processes.js';

/**
 * A request reads as expired from the moment its ttl runs out, wherever it is read: the API, the
 * requester's identical retry, gatehouse__approval_status and an MCP task. The sweep here runs once an
 * hour, so nothing below can come from it.
 */

const scratch = scratchDir('approvals-expiry');
const gated = gatedGatehouse(scratch, 'expiry', {
  approvals: { store: path.join(scratch.dir, 'expiry-store.json'), sweepIntervalMs: 3_600_000 },
});

/** Resolves once the clock is `ms` past `iso`: what the test waits for is time itself. */
const past = (iso: string, ms: number) =>
  eventually(() => Date.now() >= Date.parse(iso) + ms, `it is ${ms} ms past ${iso}`, 10_000);

describe('a request past its ttl (rule wipe-decide-fast, ttl 2s), with no sweep in between', () => {
  it('reads expired in the API, in the retry and in approval_status, and an approval is refused', async () => {
    const { approvalId, expiresAt } = expectPending(await gated.call('rec__wipe'), 'wipe-decide-fast');
    await past(expiresAt, 1_500);

    const bob = await gated.api.as(BOB);
    const shown = await bob.get(approvalId);
    expect(shown.status).toBe(200);
    expect(shown.json.approval).toMatchObject({
      state: 'expired',
      closed: { at: expiresAt, reason: 'expired without enough approvals' },
    });
    const pending = await bob.list('pending');
    expect(pending.json.approvals.map((r: { id: string }) => r.id)).not.toContain(approvalId);

    // The identical retry is owed this outcome for resultRetentionMs (README: Retries).
    const retry = await gated.call('rec__wipe');
    expectNotRun(retry, `approval request ${approvalId} expired at ${expiresAt}`);
    expect(resultText(retry)).not.toContain('has NOT run yet');
    expectNotRun(await gated.call('gatehouse__approval_status', { approvalId }), `expired at ${expiresAt}`);

    const decided = await bob.decide(approvalId, 'approve');
    expect(decided.status).toBe(409);
    expect(gated.setUp.recorder.received().filter((c) => c.name === 'wipe')).toEqual([]);
  });

  it('ends an MCP task failed at expiry, without waiting for a sweep', async () => {
    const tasker = await gated.embedded.connect({ token: TOKENS.alice, tasks: true });
    const { task } = await tasker.client.request(
      {
        method: 'tools/call',
        params: { name: 'rec__wipe', arguments: { as: 'task' }, task: { ttl: 60_000 } },
      },
      CreateTaskResultSchema,
    );
    expect(task.status).toBe('input_required');
    const result = (await tasker.client.experimental.tasks.getTaskResult(
      task.taskId,
      CallToolResultSchema,
    )) as CallToolResult;
    expectNotRun(result, 'expired at');
    expect((await tasker.client.experimental.tasks.getTask(task.taskId)).status).toBe('failed');
  });
});
