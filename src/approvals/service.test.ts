import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, at, bob, sampleRequest, T0 } from '../../test/store/helpers.js';
import { plainArguments, serviceWithoutExecution } from '../../test/helpers/approvals.js';
import type { Decision } from '../decision/types.js';
import { GatehouseError } from '../errors.js';
import type { ToolCall } from '../pipeline/toolCall.js';
import { createMemoryStore } from '../store/memory.js';
import type { ApprovalRequest } from './request.js';
import { resultForRequest } from './results.js';
import { applyDecision, OPEN_STATES } from './states.js';

/** Arguments as records would show them, unredacted: redaction has tests of its own. */
const approved = (r: ApprovalRequest) => applyDecision(r, { approver: bob, decision: 'approve' }, at(1000));

/** A service whose executor always fails (a store that cannot be written, say), and what it logged. */
async function failingService() {
  const store = createMemoryStore([sampleRequest(1), sampleRequest(2)]);
  await store.transition('req-1', 'pending', approved);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const service = serviceWithoutExecution(store, {
    executor: () => ({
      execute: async () => {
        throw new GatehouseError('STORE_UNAVAILABLE', 'memory store: cannot write the store');
      },
      drain: async () => undefined,
    }),
    logger,
    now: () => at(2000),
  });
  return { service, lines };
}

/** alice's write_file call, to a tool that `description` describes. */
function writeCall(description?: string): ToolCall {
  return {
    requestId: 'r-1',
    server: 'fs',
    tool: 'write_file',
    exposedName: 'fs__write_file',
    arguments: { path: '/tmp/x', content: 'x' },
    caller: { ...alice, transport: 'http' },
    definition: { name: 'write_file', description, inputSchema: { type: 'object' } },
  };
}

/** The decision of an approve rule `writes` that one member of `security` must approve within `ttlMs`. */
function writesNeedApproval(ttlMs: number): Decision {
  const requirement = { rule: 'writes', approvers: ['group:security'], quorum: 1 };
  return {
    effect: 'approve',
    rules: ['writes'],
    reason: 'writes need approval',
    policyVersion: 'p1',
    mode: 'enforce',
    approval: { approvers: requirement.approvers, quorum: 1, ttlMs, requirements: [requirement] },
  };
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
    const service = serviceWithoutExecution(store, {
      // The retry of req-1 is owed its outcome for a minute, longer than archiveAfterMs.
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

describe('housekeeping', () => {
  afterEach(() => vi.useRealTimers());

  it('never starts a run while the previous one runs: the next begins sweepIntervalMs after its end', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = createMemoryStore([sampleRequest(1)]);
    // Each run ends by archiving: held there, a run lasts as long as the test wants.
    const held: (() => void)[] = [];
    const archive = store.archiveFinished;
    store.archiveFinished = (before) => new Promise((resolve) => held.push(() => resolve(archive(before))));
    const service = serviceWithoutExecution(store, { sweepIntervalMs: 1_000, now: () => new Date() });
    await service.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(held).toHaveLength(1);
    // Ten intervals pass while the first run is still under way: no second run beside it.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(held).toHaveLength(1);
    held.shift()!();
    await vi.advanceTimersByTimeAsync(999);
    expect(held).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(held).toHaveLength(1);
    held.shift()!();
    await service.stop();
  });

  it('expires what is due from a store query, and arms the next expiry from the store, never listing open requests', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = createMemoryStore([
      sampleRequest(1, { ttlMs: 2_000 }),
      sampleRequest(2, { ttlMs: 5_000 }),
      sampleRequest(3),
    ]);
    const service = serviceWithoutExecution(store, { sweepIntervalMs: 1_000, now: () => new Date() });
    await service.start();
    const listed = vi.spyOn(store, 'list');
    const due = vi.spyOn(store, 'expiredBy');
    const states = async () => (await store.list()).map((r) => r.state);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await states()).toEqual(['expired', 'pending', 'pending']);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(await states()).toEqual(['expired', 'expired', 'pending']);
    expect(due).toHaveBeenCalled();
    // Housekeeping lists approved requests (to run those whose server was not ready), never pending ones.
    const sweeps = listed.mock.calls.filter(([filter]) => filter !== undefined);
    expect(sweeps.length).toBeGreaterThan(0);
    expect(sweeps.every(([filter]) => !filter!.states?.includes('pending'))).toBe(true);
    await service.stop();
  });
});

describe('expiry is read from the clock, not from the sweep', () => {
  const TTL = 2_000;
  const call = writeCall();
  const decision = writesNeedApproval(TTL);
  afterEach(() => vi.useRealTimers());

  /** A service whose sweep never runs during the test, on a clock the test moves. */
  function unswept(clock: () => Date) {
    const store = createMemoryStore();
    return { store, service: serviceWithoutExecution(store, { now: clock }) };
  }

  it('1.5 s after expiry, before any sweep: every reader sees expired, the retry says so and a decision is refused', async () => {
    let clock = T0;
    const { store, service } = unswept(() => clock);
    const { request } = await service.requestFor(call, decision, plainArguments(call.arguments));
    clock = at(TTL + 1_500);
    expect((await store.get(request.id))!.state).toBe('pending');

    const read = await service.get(request.id);
    expect(read).toMatchObject({
      state: 'expired',
      closed: { at: request.expiresAt, reason: 'expired without enough approvals' },
    });
    expect(await service.list({ states: ['pending'] })).toEqual([]);
    expect((await service.list({ states: ['expired'] })).map((r) => r.id)).toEqual([request.id]);
    const status = resultForRequest(read!, false, service);
    expect(status.isError).toBe(true);
    expect(status.content).toEqual([
      expect.objectContaining({ text: expect.stringContaining(`expired at ${request.expiresAt}`) }),
    ]);

    // The identical retry is owed the expired outcome (resultRetentionMs), and the store now says so.
    const retry = await service.requestFor(call, decision, plainArguments(call.arguments));
    expect(retry).toMatchObject({ created: false, request: { id: request.id, state: 'expired' } });
    expect((await store.get(request.id))!.state).toBe('expired');
    await expect(service.decide(request.id, { approver: bob, decision: 'approve' })).rejects.toMatchObject({
      code: 'APPROVAL_NOT_PENDING',
    });
    // Once the retention is over, the identical call is a new request.
    clock = at(TTL + 60_001);
    const again = await service.requestFor(call, decision, plainArguments(call.arguments));
    expect(again.created).toBe(true);
    expect(again.request.id).not.toBe(request.id);
  });

  it('a cancellation after expiry leaves the request expired', async () => {
    let clock = T0;
    const { service } = unswept(() => clock);
    const { request } = await service.requestFor(call, decision, plainArguments(call.arguments));
    clock = at(TTL);
    expect(await service.cancel(request.id, 'the client gave up')).toMatchObject({ state: 'expired' });
  });

  it('announces the expiry when it happens: a waiter returns expired at expiresAt, long before the sweep', async () => {
    vi.useFakeTimers({ now: T0 });
    const { service } = unswept(() => new Date());
    await service.start();
    const { request } = await service.requestFor(call, decision, plainArguments(call.arguments));
    const changes: string[] = [];
    service.onChange((r) => changes.push(r.state));
    let waited: ApprovalRequest | undefined;
    void service.waitWhile(request.id, OPEN_STATES, 45_000).then((r) => (waited = r));

    await vi.advanceTimersByTimeAsync(TTL - 1);
    expect(waited).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(() => expect(waited?.state).toBe('expired'));
    expect(changes).toEqual(['expired']);
    await service.stop();
  });
});

describe('a retry against a changed tool definition', () => {
  it('is a new request that keeps the definition and names the earlier request, which the result says', async () => {
    const service = serviceWithoutExecution(createMemoryStore(), { now: () => T0 });
    const call = writeCall;
    const decision = writesNeedApproval(60_000);
    const first = await service.requestFor(call('Write a file.'), decision, plainArguments({}));
    expect(first.request.toolDefinition).toEqual({
      name: 'write_file',
      description: 'Write a file.',
      inputSchema: { type: 'object' },
    });
    expect(first.request.definitionChangedSince).toBeUndefined();
    const second = await service.requestFor(call('Write a file and mail it.'), decision, plainArguments({}));
    expect(second.created).toBe(true);
    expect(second.request.definitionChangedSince).toEqual({
      id: first.request.id,
      state: 'pending',
      toolDefinition: first.request.toolDefinition,
    });
    const text = JSON.stringify(resultForRequest(second.request, false).content);
    expect(text).toContain(`changed since your earlier request ${first.request.id} for this call was made`);
    expect(text).toContain('approving it will not run it');
    expect(text).not.toContain('identical arguments join this request');
  });
});
