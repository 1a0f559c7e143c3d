import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { at, bob, sampleRequest } from '../../test/store/helpers.js';
import { GatehouseError } from '../errors.js';
import { createMemoryStore } from '../store/memory.js';
import type { ApprovalRequest } from './request.js';
import { createApprovalService } from './service.js';
import { applyDecision } from './states.js';

const approved = (r: ApprovalRequest) => applyDecision(r, { approver: bob, decision: 'approve' }, at(1000));

/** A service whose executor always fails (a store that cannot be written, say), and what it logged. */
async function failingService() {
  const store = createMemoryStore([sampleRequest(1), sampleRequest(2)]);
  await store.transition('req-1', 'pending', approved);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const service = createApprovalService({
    store,
    executor: () => ({
      execute: async () => {
        throw new GatehouseError('STORE_UNAVAILABLE', 'memory store: cannot write the store');
      },
      drain: async () => undefined,
    }),
    retentionMs: 60_000,
    archiveAfterMs: 3_600_000,
    sweepIntervalMs: 3_600_000,
    logger,
    now: () => at(2000),
  });
  return { service, lines };
}

const logged = (lines: Record<string, unknown>[], approvalId: string) =>
  expect.poll(() => lines).toContainEqual(expect.objectContaining({ msg: 'execution failed', approvalId }));

describe('createApprovalService', () => {
  // An unhandled rejection would fail this run (vitest reports them) and end an embedding process.
  it('logs a failed execution of a request approved before the start, rather than leave it unhandled', async () => {
    const { service, lines } = await failingService();
    expect((await service.start()).toExecute.map((r) => r.id)).toEqual(['req-1']);
    await logged(lines, 'req-1');
    await service.stop();
  });

  it('logs a failed execution started by the approving decision', async () => {
    const { service, lines } = await failingService();
    expect((await service.decide('req-2', { approver: bob, decision: 'approve' })).state).toBe('approved');
    await logged(lines, 'req-2');
    await service.stop();
  });

  it('moves finished requests to the archive once both the retention and archiveAfterMs have passed', async () => {
    const archive: ApprovalRequest[] = [];
    const store = createMemoryStore([sampleRequest(1), sampleRequest(2)], archive);
    const reject = (r: ApprovalRequest) =>
      applyDecision(r, { approver: bob, decision: 'reject', reason: 'no' }, at(1000));
    await store.transition('req-1', 'pending', reject);
    let clock = at(1000 + 59_000);
    const lines: Record<string, unknown>[] = [];
    const service = createApprovalService({
      store,
      executor: () => ({ execute: async () => undefined as never, drain: async () => undefined }),
      // The retry of req-1 is owed its outcome for a minute, longer than archiveAfterMs.
      retentionMs: 60_000,
      archiveAfterMs: 1_000,
      sweepIntervalMs: 5,
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }),
      now: () => clock,
    });
    await service.start();
    // Several sweeps within the retention: req-1 stays.
    await expect.poll(() => lines.filter((l) => l.msg === 'approval store recovered').length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await store.get('req-1')).toBeDefined();
    clock = at(1000 + 60_001);
    await expect.poll(() => archive.map((r) => r.id)).toEqual(['req-1']);
    expect(await store.get('req-1')).toBeUndefined();
    expect((await store.get('req-2'))!.state).toBe('pending');
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'finished approval requests archived', count: 1, ids: ['req-1'] }),
    );
    await service.stop();
  });
});
