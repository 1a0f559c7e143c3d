import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { at, bob, sampleRequest } from '../../test/store/helpers.js';
import { toolDefinitionDigest } from '../approvals/digest.js';
import { applyDecision, startExecution } from '../approvals/states.js';
import { createEventBus } from '../audit/bus.js';
import type { Decision, DecisionPoint } from '../decision/types.js';
import type { DownstreamPool } from '../downstream/pool.js';
import { silentLogger } from '../log.js';
import { createMemoryStore } from '../store/memory.js';
import type { ApprovalStore } from '../store/store.js';
import { createApprovedExecutor } from './approved.js';
import type { Executor, Invocation } from './executor.js';

/**
 * Credentials are minted inside the executor, which an approved call reaches only after it has won the
 * claim: these check who gets there (and with which credentials), and who never does.
 */

const TOOL: Tool = { name: 'write_file', inputSchema: { type: 'object' } };

const decision = (credentials?: string[]): Decision => ({
  effect: 'approve',
  rules: ['writes'],
  reason: 'writes need approval',
  policyVersion: 'p1',
  mode: 'enforce',
  ...(credentials ? { credentials } : {}),
});

async function setUp(options: { credentials?: string[]; store?: (s: ApprovalStore) => ApprovalStore } = {}) {
  const request = sampleRequest(1, { toolDefinitionDigest: toolDefinitionDigest(TOOL) });
  const memory = createMemoryStore([request]);
  await memory.transition(request.id, 'pending', (r) =>
    applyDecision(r, { approver: bob, decision: 'approve' }, at(1000)),
  );
  const store = options.store ? options.store(memory) : memory;
  const invocations: Invocation[] = [];
  const executor = {
    execute: async (invocation: Invocation) => {
      invocations.push(invocation);
      return { ok: true as const, result: { content: [] } };
    },
  } as Executor;
  const connection = { state: 'ready', listToolsFresh: async () => [TOOL] };
  const point: DecisionPoint = { decide: () => decision(options.credentials), visibility: () => 'visible' };
  const approved = createApprovedExecutor({
    store,
    pool: { get: () => connection } as unknown as DownstreamPool,
    executor,
    events: createEventBus(undefined, silentLogger),
    argumentsDigest: () => `hmac-sha256:${'a'.repeat(64)}`,
    decisionPoint: () => point,
    logger: silentLogger,
    now: () => at(2000),
    changed: async () => undefined,
  });
  return { approved, invocations, store, id: request.id };
}

describe('an approved call reaches the executor (and its credentials) only with the claim', () => {
  it('runs with the credentials the policy set in force gives it', async () => {
    const { approved, invocations, store, id } = await setUp({ credentials: ['fs-write'] });
    await approved.execute((await store.get(id))!);
    expect(invocations).toHaveLength(1);
    expect(invocations[0]!.credentials).toEqual(['fs-write']);
    expect(invocations[0]!.approval?.id).toBe(id);
  });

  it('a replayed execution of a request that already ran reaches nothing', async () => {
    const { approved, invocations, store, id } = await setUp({ credentials: ['fs-write'] });
    await approved.execute((await store.get(id))!);
    expect((await store.get(id))!.state).toBe('executed');
    await approved.execute((await store.get(id))!);
    expect(invocations).toHaveLength(1);
  });

  it('a claim lost to another replica reaches nothing', async () => {
    const { approved, invocations, store, id } = await setUp({
      credentials: ['fs-write'],
      // Another replica claims the request between our re-check and our claim.
      store: (memory) => ({
        ...memory,
        transition: async (key, expected, update) => {
          if (expected === 'approved')
            await memory.transition(key, 'approved', (r) => startExecution(r, at(1500)));
          return memory.transition(key, expected, update);
        },
      }),
    });
    await approved.execute((await store.get(id))!);
    expect(invocations).toEqual([]);
    expect((await store.get(id))!.state).toBe('executing');
  });
});
