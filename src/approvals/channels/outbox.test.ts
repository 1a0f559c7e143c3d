import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditEvent } from '../../audit/events.js';
import { bob, sampleRequest, T0 } from '../../../test/store/helpers.js';
import { silentLogger } from '../../log.js';
import { createMemoryStore } from '../../store/memory.js';
import type { ApprovalStore } from '../../store/store.js';
import { applyDecision, cancel } from '../states.js';
import { ChannelDeliveryError, type Channel, type ChannelMessage, type DeliveryOutcome } from './channel.js';
import { DeliverySchema } from './config.js';
import { createOutbox, type Outbox } from './outbox.js';
import { summarize } from './summary.js';

const settings = DeliverySchema.parse({
  maxAttempts: 4,
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  timeoutMs: 5_000,
  concurrency: 2,
});

const pendingRequest = (n: number) => sampleRequest(n);

type Answer = DeliveryOutcome | Error | 'hang';

/** A channel that answers from a script (then acknowledges) and keeps every message it was handed. */
function scriptedChannel(name: string, script: Answer[] = [], wants?: Channel['wants']) {
  const messages: ChannelMessage[] = [];
  const channel: Channel = {
    name,
    type: 'webhook',
    ...(wants ? { wants } : {}),
    async deliver(message, signal) {
      messages.push(structuredClone(message));
      const answer = script.shift() ?? { target: `${name}.example` };
      if (answer === 'hang') {
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      }
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { channel, messages, stages: () => messages.map((m) => m.deliveryId.split('/').at(-1)) };
}

const http = (status: number, retryAfterMs?: number) =>
  new ChannelDeliveryError(`HTTP ${status} from hooks.example`, {
    retryable: status === 408 || status === 429 || status >= 500,
    status,
    target: 'hooks.example',
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });

let store: ApprovalStore;
let published: AuditEvent[];
let outboxes: Outbox[];

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  store = createMemoryStore();
  published = [];
  outboxes = [];
});

afterEach(async () => {
  for (const outbox of outboxes) await stopNow(outbox);
  vi.useRealTimers();
});

function outboxWith(...channels: Channel[]): Outbox {
  const outbox = createOutbox({
    store,
    channels: new Map(channels.map((c) => [c.name, c])),
    defaultChannels: ['page', ...channels.map((c) => c.name)],
    settings,
    summarize: (request) =>
      summarize(request, {
        baseUrl: 'https://g.example',
        redactor: { redactArguments: (a) => ({ value: a as never, redacted: [] }), redactText: (t) => t },
      }),
    events: {
      publish: async (event) => {
        published.push(event);
        return undefined;
      },
    },
    logger: silentLogger,
    // Jitter in the middle: each backoff is three quarters of its base.
    random: () => 0.5,
  });
  outboxes.push(outbox);
  return outbox;
}

/** Lets every promise and due timer run, moving the clock by `ms`. */
const advance = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

async function stopNow(outbox: Outbox): Promise<void> {
  const stopping = outbox.stop(100);
  await advance(2_000);
  await stopping;
}

const deliveries = async () => Object.fromEntries((await store.listDeliveries()).map((d) => [d.id, d.state]));

describe('the outbox', () => {
  it('announces a pending request once, records approval.delivered, and never sends an acknowledged delivery again', async () => {
    await store.create(pendingRequest(1));
    const hooks = scriptedChannel('hooks');
    await outboxWith(hooks.channel).start();
    await advance();
    expect(hooks.messages).toHaveLength(1);
    expect(hooks.messages[0]).toMatchObject({
      deliveryId: 'req-1/hooks/requested',
      kind: 'announce',
      event: { name: 'approval.requested', at: T0.toISOString() },
      attempt: 1,
      summary: { id: 'req-1', url: 'https://g.example/approvals/req-1', state: 'pending' },
    });
    expect(await deliveries()).toEqual({ 'req-1/hooks/requested': 'delivered' });
    expect(published).toEqual([
      {
        event: 'approval.delivered',
        approvalId: 'req-1',
        channel: 'hooks',
        ok: true,
        target: 'hooks.example',
      },
    ]);
    await advance(3_600_000);
    expect(hooks.messages).toHaveLength(1);
  });

  it('retries 5xx and network errors with exponential backoff and jitter, leaving the request pending', async () => {
    await store.create(pendingRequest(1));
    const hooks = scriptedChannel('hooks', [http(500), http(503), new Error('ECONNREFUSED')]);
    await outboxWith(hooks.channel).start();
    await advance();
    expect(hooks.messages).toHaveLength(1);
    // 1 s base, three quarters of it with this jitter; then 2 s and 4 s bases.
    await advance(749);
    expect(hooks.messages).toHaveLength(1);
    await advance(1);
    expect(hooks.messages).toHaveLength(2);
    await advance(1_499);
    expect(hooks.messages).toHaveLength(2);
    await advance(1);
    expect(hooks.messages).toHaveLength(3);
    await advance(3_000);
    expect(hooks.messages.map((m) => m.attempt)).toEqual([1, 2, 3, 4]);
    expect(await deliveries()).toEqual({ 'req-1/hooks/requested': 'delivered' });
    expect((await store.get('req-1'))!.state).toBe('pending');
    expect(published.filter((e) => e.event === 'approval.delivered')).toHaveLength(1);
  });

  it("waits as long as a 429's Retry-After says, not less", async () => {
    await store.create(pendingRequest(1));
    const hooks = scriptedChannel('hooks', [http(429, 30_000)]);
    await outboxWith(hooks.channel).start();
    await advance(29_999);
    expect(hooks.messages).toHaveLength(1);
    const [stored] = await store.listDeliveries();
    expect(stored).toMatchObject({
      attempts: 1,
      lastError: 'HTTP 429 from hooks.example',
      target: 'hooks.example',
    });
    await advance(1);
    expect(hooks.messages).toHaveLength(2);
    expect(await deliveries()).toEqual({ 'req-1/hooks/requested': 'delivered' });
  });

  it('gives up at once on a 4xx other than 408 and 429, and after maxAttempts otherwise: failed, on the record', async () => {
    await store.create(pendingRequest(1));
    await store.create(pendingRequest(2));
    const hooks = scriptedChannel('hooks', [http(410), http(500), http(500), http(500), http(500)]);
    const outbox = outboxWith(hooks.channel);
    await outbox.start();
    await advance(60_000);
    expect(await deliveries()).toEqual({
      'req-1/hooks/requested': 'failed',
      'req-2/hooks/requested': 'failed',
    });
    expect(hooks.messages.filter((m) => m.summary.id === 'req-1')).toHaveLength(1);
    expect(hooks.messages.filter((m) => m.summary.id === 'req-2')).toHaveLength(4);
    const failures = published.filter((e) => e.event === 'approval.delivered' && !e.ok);
    expect(failures).toEqual([
      expect.objectContaining({
        approvalId: 'req-1',
        error: 'requested: not retried: HTTP 410 from hooks.example',
      }),
      expect.objectContaining({
        approvalId: 'req-2',
        error: 'requested: gave up after 4 attempts: HTTP 500 from hooks.example',
      }),
    ]);
    // A failing channel never approves anything.
    expect((await store.list()).map((r) => r.state)).toEqual(['pending', 'pending']);
    expect(outbox.status()).toEqual([
      {
        name: 'hooks',
        type: 'webhook',
        pending: 0,
        failed: 2,
        delivered: 0,
        lastError: {
          at: expect.any(String),
          message: 'gave up after 4 attempts: HTTP 500 from hooks.example',
        },
      },
    ]);
  });

  it('delivers the updates of one request on one channel in order, with the memo of the ones before', async () => {
    await store.create(pendingRequest(1));
    const hooks = scriptedChannel('hooks', [http(500), { target: 'hooks.example', memo: { card: 'c1' } }]);
    const outbox = outboxWith(hooks.channel);
    await outbox.start();
    await advance();
    // Decided while the announce waits for its retry: the update waits behind it.
    await store.transition('req-1', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'approve' }, T0),
    );
    await outbox.enqueue('req-1');
    await advance(500);
    expect(hooks.stages()).toEqual(['requested']);
    await advance(250);
    expect(hooks.stages()).toEqual(['requested', 'requested', 'decision-1']);
    expect(hooks.messages[2]).toMatchObject({
      kind: 'update',
      event: { name: 'approval.decided', decision: 1 },
      memo: { card: 'c1' },
      summary: { state: 'approved', decisions: [{ by: 'bob', verdict: 'approve' }] },
    });
  });

  it('aborts an attempt at the time limit and retries it', async () => {
    await store.create(pendingRequest(1));
    const hooks = scriptedChannel('hooks', ['hang']);
    await outboxWith(hooks.channel).start();
    await advance(4_999);
    expect((await store.listDeliveries())[0]!.attempts).toBe(0);
    await advance(1);
    expect((await store.listDeliveries())[0]).toMatchObject({
      attempts: 1,
      lastError: 'no answer within 5000 ms',
    });
    await advance(750);
    expect(await deliveries()).toEqual({ 'req-1/hooks/requested': 'delivered' });
  });

  it('resumes after a restart what was pending or under way, and nothing that was acknowledged', async () => {
    await store.create(pendingRequest(1));
    await store.create(pendingRequest(2));
    const first = scriptedChannel('hooks', [{ target: 'hooks.example' }, 'hang']);
    const before = outboxWith(first.channel);
    await before.start();
    await advance();
    expect(first.stages()).toEqual(['requested', 'requested']);
    // Stopping while req-2's announce is under way: it is interrupted, not counted against the channel.
    await stopNow(before);
    expect(await deliveries()).toEqual({
      'req-1/hooks/requested': 'delivered',
      'req-2/hooks/requested': 'pending',
    });
    expect((await store.listDeliveries({ approvalId: 'req-2' }))[0]!.lastError).toMatch(
      /interrupted by shutdown/,
    );

    const second = scriptedChannel('hooks');
    await outboxWith(second.channel).start();
    await advance();
    expect(second.messages.map((m) => m.deliveryId)).toEqual(['req-2/hooks/requested']);
    expect(await deliveries()).toEqual({
      'req-1/hooks/requested': 'delivered',
      'req-2/hooks/requested': 'delivered',
    });
  });

  it('reconciles at start: open requests get what they miss, finished ones only where they were announced', async () => {
    await store.create(pendingRequest(1));
    await store.create(pendingRequest(2));
    await store.create(pendingRequest(3));
    // req-2 was announced and then cancelled; req-3 was cancelled before any channel heard of it.
    await store.enqueueDeliveries([{ approvalId: 'req-2', channel: 'hooks', stage: 'requested' }], T0);
    await store.transition('req-2', 'pending', (r) => cancel(r, 'the client gave up', T0));
    await store.transition('req-3', 'pending', (r) => cancel(r, 'the client gave up', T0));
    const outbox = outboxWith(scriptedChannel('hooks').channel);
    expect(await outbox.reconcile()).toBe(2);
    expect((await store.listDeliveries()).map((d) => d.id).sort()).toEqual([
      'req-1/hooks/requested',
      'req-2/hooks/cancelled',
      'req-2/hooks/requested',
    ]);
    expect(await outbox.reconcile()).toBe(0);
  });

  it("enqueues on a change, only the events a channel wants, and only on the request's channels", async () => {
    const hooks = scriptedChannel('hooks', [], (event) => event.name !== 'approval.decided');
    const other = scriptedChannel('other');
    const outbox = outboxWith(hooks.channel, other.channel);
    await outbox.start();
    await store.create({ ...pendingRequest(1), channels: ['hooks'] });
    outbox.changed('req-1');
    await advance();
    await store.transition('req-1', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'reject', reason: 'no' }, T0),
    );
    outbox.changed('req-1');
    await advance();
    expect(hooks.stages()).toEqual(['requested']);
    expect(other.messages).toEqual([]);
    expect(Object.keys(await deliveries())).toEqual(['req-1/hooks/requested']);
  });

  it('asks the store when more falls due only after a claim that left slots free, and reads no backlog per attempt', async () => {
    for (const n of [1, 2, 3, 4, 5]) await store.create(pendingRequest(n));
    const answers: (() => void)[] = [];
    const held: Channel = {
      name: 'hooks',
      type: 'webhook',
      deliver: () => new Promise((resolve) => answers.push(() => resolve({ target: 'hooks.example' }))),
    };
    const asked = vi.spyOn(store, 'nextDeliveryDue');
    const listed = vi.spyOn(store, 'listDeliveries');
    const outbox = outboxWith(held);
    await outbox.start();
    await advance();
    // Five due, two slots (concurrency 2): the claim filled them, so there is work now, not later.
    expect(answers).toHaveLength(2);
    expect(asked).not.toHaveBeenCalled();
    answers.splice(0).forEach((answer) => answer());
    await advance();
    expect(answers).toHaveLength(2);
    expect(asked).not.toHaveBeenCalled();
    answers.splice(0).forEach((answer) => answer());
    await advance();
    // The last one leaves a slot free: only now does the worker ask when more falls due.
    expect(answers).toHaveLength(1);
    expect(asked).toHaveBeenCalled();
    answers.splice(0).forEach((answer) => answer());
    await advance();
    // Deliveries were listed once, by the reconciliation at start: neither finding the next due time
    // nor counting for status after each attempt read them; the store counted.
    expect(listed).toHaveBeenCalledTimes(1);
    expect(Object.values(await deliveries())).toEqual(Array(5).fill('delivered'));
    expect(outbox.status()).toEqual([
      expect.objectContaining({ name: 'hooks', pending: 0, failed: 0, delivered: 5 }),
    ]);
  });

  it('gives up on a delivery whose channel is no longer configured', async () => {
    await store.create(pendingRequest(1));
    await store.enqueueDeliveries([{ approvalId: 'req-1', channel: 'gone', stage: 'requested' }], T0);
    await outboxWith(scriptedChannel('hooks').channel).start();
    await advance();
    expect(
      (await store.listDeliveries({ approvalId: 'req-1' })).find((d) => d.channel === 'gone'),
    ).toMatchObject({
      state: 'failed',
      lastError: 'channel "gone" is no longer configured',
    });
  });
});
