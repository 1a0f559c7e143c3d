import { readFileSync } from 'node:fs';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import { applyDecision, startExecution } from '../../src/approvals/states.js';
import { openLowdbStore } from '../../src/store/index.js';
import type { TestClient } from '../helpers/client.js';
import { resultText } from '../helpers/compare.js';
import { auditEvents, storyOf, verifyTrail } from '../helpers/audit.js';
import { scratchDir } from '../helpers/config.js';
import { startEmbeddedGatehouse, type EmbeddedGatehouse } from '../helpers/embedded.js';
import {
  BOB,
  CAROL,
  TOKENS,
  approvalSetUp,
  approve,
  expectPending,
  pendingDeploys,
  reaches,
  receivedSoFar,
} from '../helpers/gated.js';
import { connectStdioGatehouse, runGatehouseCli, startHttpGatehouse } from '../helpers/gatehouse.js';
import { eventually } from '../helpers/processes.js';

/**
 * Approval requests outlive the process: a Gatehouse killed with SIGKILL loses nothing it answered, and
 * the next one on the same store resumes pending requests, runs approved ones that never started once,
 * and never re-runs one it finds executing (it may have run) or one that already ran.
 */

const scratch = scratchDir('approvals-restart');
afterAll(() => scratch.remove());

const deploy = (client: TestClient, build: string) =>
  client.client.callTool({ name: 'rec__deploy', arguments: { build } }) as Promise<CallToolResult>;

describe('a restart on the same store', () => {
  const setUp = approvalSetUp(scratch, 'restart');
  let embedded: EmbeddedGatehouse | undefined;
  const stop = async () => {
    await embedded?.stop();
    embedded = undefined;
  };
  afterAll(stop);

  /** Starts an in-process Gatehouse on the store, after stopping the previous one. */
  async function restart() {
    await stop();
    embedded = await startEmbeddedGatehouse(setUp.config, { logFile: setUp.logFile });
    return {
      approvals: embedded.gatehouse.approvals,
      alice: await embedded.connect({ token: TOKENS.alice }),
    };
  }
  const deploysOf = async (alice: TestClient) => {
    const counts: Record<string, number> = {};
    for (const c of await receivedSoFar(alice, setUp.recorder)) {
      if (c.name === 'deploy')
        counts[c.arguments.build as string] = (counts[c.arguments.build as string] ?? 0) + 1;
    }
    return counts;
  };
  const ids: Record<string, string> = {};

  it('a call executed before a graceful stop', async () => {
    const { approvals, alice } = await restart();
    ids.done = expectPending(await deploy(alice, 'done'), 'deploy').approvalId;
    await approve(approvals, ids.done, BOB);
    await reaches(approvals, ids.done, 'executed');
    await stop();
  });

  it('requests answered as pending survive a SIGKILL', async () => {
    Object.assign(ids, await pendingDeploys(setUp.config, ['pending', 'approved', 'executing'], 'SIGKILL'));
  });

  it('while no Gatehouse runs, the store is taken over and two requests moved on, as a crash would leave them', async () => {
    const store = await openLowdbStore(setUp.store);
    try {
      const now = new Date();
      const approved = (r: ApprovalRequest) =>
        applyDecision(r, { approver: CAROL, decision: 'approve' }, now);
      expect((await store.transition(ids.approved!, 'pending', approved)).ok).toBe(true);
      expect((await store.transition(ids.executing!, 'pending', approved)).ok).toBe(true);
      expect((await store.transition(ids.executing!, 'approved', (r) => startExecution(r, now))).ok).toBe(
        true,
      );
    } finally {
      await store.close();
    }
  });

  it('the next start runs the approved request once, marks the executing one unknown, keeps the pending one decidable', async () => {
    const { approvals, alice } = await restart();
    await reaches(approvals, ids.approved!, 'executed');
    expect(await approvals.get(ids.executing!)).toMatchObject({
      state: 'unknown',
      execution: { startedAt: expect.any(String) },
    });
    const unknown = await deploy(alice, 'executing');
    expect(unknown.isError).toBe(true);
    expect(resultText(unknown)).toContain(
      `(approval ${ids.executing}) was executing; whether it took effect is unknown`,
    );
    expect(resultText(unknown)).toContain('it will not be re-run automatically');
    expect(await deploy(alice, 'approved')).toMatchObject({
      content: [{ type: 'text', text: 'deployed approved' }],
    });
    expect(await deploy(alice, 'done')).toMatchObject({ content: [{ type: 'text', text: 'deployed done' }] });

    expect(expectPending(await deploy(alice, 'pending'), 'deploy').approvalId).toBe(ids.pending);
    await approve(approvals, ids.pending!, BOB);
    await reaches(approvals, ids.pending!, 'executed');
    expect(await deploysOf(alice)).toEqual({ done: 1, approved: 1, pending: 1 });
  });

  it('another restart runs nothing again', async () => {
    const { approvals, alice } = await restart();
    const states = Object.fromEntries((await approvals.list()).map((r) => [r.arguments.build, r.state]));
    expect(states).toEqual({
      done: 'executed',
      approved: 'executed',
      executing: 'unknown',
      pending: 'executed',
    });
    expect(await deploysOf(alice)).toEqual({ done: 1, approved: 1, pending: 1 });
  });

  it('the audit trail tells the same story across the SIGKILL, and verifies', async () => {
    await stop();
    const events = await auditEvents(setUp.audit);
    const executions = (id: string) => storyOf(events, id).filter((e) => e === 'call.executed').length;
    expect(storyOf(events, ids.executing!)).toContain('call.unknown');
    expect(executions(ids.executing!)).toBe(0);
    expect([executions(ids.done!), executions(ids.approved!), executions(ids.pending!)]).toEqual([1, 1, 1]);
    expect(storyOf(events, ids.pending!)).toEqual([
      'approval.requested',
      'approval.decided',
      'call.executing',
      'call.executed',
    ]);
    // Four starts, three of them stopped gracefully; the SIGKILLed one left no stop.
    expect(events.filter((e) => e.event === 'gatehouse.started')).toHaveLength(4);
    expect(events.filter((e) => e.event === 'gatehouse.stopped')).toHaveLength(3);
    const report = await verifyTrail(setUp.audit, `${setUp.audit}.key`);
    expect(report.problem).toBeUndefined();
    expect(report.ok).toBe(true);
  });
});

it('a second Gatehouse on the same store is refused at start, naming the file and the pid that holds it', async () => {
  const setUp = approvalSetUp(scratch, 'second');
  const first = await startHttpGatehouse(setUp.config);
  try {
    const second = await runGatehouseCli(['serve', '--http', '--port', '0', '--config', setUp.config]);
    expect(second.code).not.toBe(0);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain(setUp.store);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).not.toMatch(/^\s+at /m);
    // The first one carries on.
    expect((await fetch(`${first.baseUrl}/healthz`)).status).toBe(200);
  } finally {
    await first.stop();
  }
});

it('a second stdio Gatehouse on that store serves without approvals: gated calls fail closed, naming the holder', async () => {
  const setUp = approvalSetUp(scratch, 'stdio-second');
  const first = await startHttpGatehouse(setUp.config);
  try {
    // What a client that launches the same config twice gets on its second launch.
    const second = await connectStdioGatehouse(setUp.config, { capabilities: 'none' });
    try {
      const echoed = (await second.client.client.callTool({
        name: 'rec__echo',
        arguments: { message: 'still served' },
      })) as CallToolResult;
      expect(echoed.isError).toBeFalsy();

      const gated = (await second.client.client.callTool({
        name: 'rec__deploy',
        arguments: { build: 'b-1' },
      })) as CallToolResult;
      expect(gated.isError).toBe(true);
      expect(resultText(gated)).toContain(
        'This call to rec__deploy needs human approval, but this Gatehouse cannot record approval requests',
      );
      expect(resultText(gated)).toContain(`pid ${first.child.pid}`);
      expect(resultText(gated)).toContain('The call was not executed.');

      expect(setUp.recorder.received().map((c) => c.name)).toEqual(['echo']);
      const store = JSON.parse(readFileSync(setUp.store, 'utf8')) as { approvals: unknown[] };
      expect(store.approvals).toEqual([]);
      expect(second.stderr()).toContain('approvals are unavailable, gated calls are refused');
    } finally {
      await second.client.close();
    }
    expect((await fetch(`${first.baseUrl}/healthz`)).status).toBe(200);
    // Its calls are on the record all the same, in a sibling log of its own that verifies.
    const sibling = `${setUp.audit}-2`;
    await eventually(
      async () => (await auditEvents(sibling)).some((e) => e.event === 'gatehouse.stopped'),
      'the second Gatehouse recorded its stop',
    );
    const events = await auditEvents(sibling);
    expect(events.filter((e) => e.event === 'call.executed' && e.tool === 'echo')).toHaveLength(1);
    expect(events.filter((e) => e.event === 'call.decided' && e.tool === 'deploy')).toHaveLength(1);
    expect((await verifyTrail(sibling, `${setUp.audit}.key`)).ok).toBe(true);
  } finally {
    await first.stop();
  }
});
