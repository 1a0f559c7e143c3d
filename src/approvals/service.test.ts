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
});
