import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../store/memory.js';
import { at, bob, sampleRequest } from '../../test/store/helpers.js';
import type { ApprovalRequest } from './request.js';
import { recoverOnStart, sweepExpired } from './recovery.js';
import { applyDecision, startExecution } from './states.js';

const approved = (r: ApprovalRequest) => applyDecision(r, { approver: bob, decision: 'approve' }, at(1000));
const TTL = 3_600_000;

async function storeWithEveryOpenState() {
  const store = createMemoryStore();
  for (const n of [1, 2, 3, 4, 5]) await store.create(sampleRequest(n, n === 5 ? { ttlMs: 1000 } : {}));
  await store.transition('req-2', 'pending', approved);
  await store.transition('req-3', 'pending', approved);
  await store.transition('req-3', 'approved', (r) => startExecution(r, at(2000)));
  await store.transition('req-4', 'pending', approved);
  // As the next process finds them: what this one was executing, nobody is any more.
  return createMemoryStore(await store.list());
}

describe('recoverOnStart', () => {
  it('marks executing requests unknown, sweeps the expired and reports what to resume and run', async () => {
    const store = await storeWithEveryOpenState();
    const recovery = await recoverOnStart(store, at(5000));
    expect(recovery.unknown).toEqual(['req-3']);
    expect(recovery.expired).toEqual(['req-5']);
    expect(recovery.pending.map((r) => r.id)).toEqual(['req-1']);
    expect(recovery.toExecute.map((r) => r.id)).toEqual(['req-2', 'req-4']);
    expect((await store.get('req-3'))!.state).toBe('unknown');
  });

  it("leaves alone what this process started executing: a live process's execution is never unknown", async () => {
    const store = await storeWithEveryOpenState();
    await store.transition('req-2', 'approved', (r) => startExecution(r, at(3000)));
    const recovery = await recoverOnStart(store, at(5000));
    expect(recovery.unknown).toEqual(['req-3']);
    expect((await store.get('req-2'))!.state).toBe('executing');
  });

  it('does nothing the second time', async () => {
    const store = await storeWithEveryOpenState();
    await recoverOnStart(store, at(5000));
    const again = await recoverOnStart(store, at(5000));
    expect(again.unknown).toEqual([]);
    expect(again.expired).toEqual([]);
  });
});

describe('sweepExpired', () => {
  it('expires pending and approved requests past their ttl, and nothing else', async () => {
    const store = await storeWithEveryOpenState();
    expect(await sweepExpired(store, at(TTL - 1))).toEqual(['req-5']);
    expect(await sweepExpired(store, at(TTL))).toEqual(['req-1', 'req-2', 'req-4']);
    expect((await store.get('req-3'))!.state).toBe('executing');
  });
});
