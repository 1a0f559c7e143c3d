import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { CallbackToken } from '../../src/approvals/channels/delivery.js';
import { applyDecision } from '../../src/approvals/states.js';
import type { ApprovalStore } from '../../src/store/store.js';
import { at, bob, refusal, sampleRequest } from './helpers.js';

/** What every ApprovalStore must do for the channels' outbox, run against each implementation. */
export function outboxStoreContract(open: () => Promise<ApprovalStore>): void {
  let store: ApprovalStore;
  beforeEach(async () => {
    store = await open();
    await store.create(sampleRequest(1));
    await store.create(sampleRequest(2));
  });
  afterEach(async () => {
    await store.close();
  });

  const hooks = (approvalId: string, stage: string) => ({ approvalId, channel: 'hooks', stage });
  const token = (n: number, overrides: Partial<CallbackToken> = {}): CallbackToken => ({
    hash: `sha256:${createHash('sha256').update(`token-${n}`).digest('hex')}`,
    approvalId: 'req-1',
    channel: 'hooks',
    deliveryId: 'req-1/hooks/requested',
    expiresAt: at(3_600_000).toISOString(),
    ...overrides,
  });

  it('enqueues a delivery once, however often it is asked for', async () => {
    const first = await store.enqueueDeliveries([hooks('req-1', 'requested')], at(0));
    expect(first).toEqual([
      {
        id: 'req-1/hooks/requested',
        approvalId: 'req-1',
        channel: 'hooks',
        stage: 'requested',
        state: 'pending',
        createdAt: at(0).toISOString(),
        attempts: 0,
        nextAttemptAt: at(0).toISOString(),
      },
    ]);
    const again = await store.enqueueDeliveries(
      [hooks('req-1', 'requested'), hooks('req-1', 'requested'), hooks('req-1', 'decision-1')],
      at(5),
    );
    expect(again.map((d) => d.id)).toEqual(['req-1/hooks/decision-1']);
    expect((await store.listDeliveries()).map((d) => d.id)).toEqual([
      'req-1/hooks/requested',
      'req-1/hooks/decision-1',
    ]);
    expect(await store.listDeliveries({ approvalId: 'req-2' })).toEqual([]);
  });

  it('claims only what is due, the first of each request and channel, for one owner at a time', async () => {
    await store.enqueueDeliveries(
      [hooks('req-1', 'decision-1'), hooks('req-1', 'requested'), hooks('req-2', 'requested')],
      at(0),
    );
    const claimed = await store.claimDeliveries('w1', at(0), 10_000, 10);
    // decision-1 of req-1 waits for its announce, whatever the order it was enqueued in.
    expect(claimed.map((c) => c.delivery.id).sort()).toEqual([
      'req-1/hooks/requested',
      'req-2/hooks/requested',
    ]);
    expect(claimed[0]!.delivery.lease).toEqual({ owner: 'w1', until: at(10_000).toISOString() });
    // Under a live lease nobody claims them again, not even the holder.
    expect(await store.claimDeliveries('w2', at(9_999), 10_000, 10)).toEqual([]);
    expect(await store.claimDeliveries('w1', at(9_999), 10_000, 10)).toEqual([]);
    // A lapsed lease (its holder died) lets another worker take over.
    const taken = await store.claimDeliveries('w2', at(10_000), 10_000, 1);
    expect(taken).toHaveLength(1);
    expect(taken[0]!.delivery.lease?.owner).toBe('w2');
  });

  it("sends a request's final stage after its decisions, however it was enqueued", async () => {
    await store.enqueueDeliveries(
      [hooks('req-1', 'executed'), hooks('req-1', 'decision-1'), hooks('req-1', 'requested')],
      at(0),
    );
    const order: string[] = [];
    for (let t = 1; t <= 4; t++) {
      const claimed = await store.claimDeliveries('w1', at(t), 10_000, 10);
      for (const { delivery } of claimed) {
        order.push(delivery.stage);
        await store.settleDelivery(delivery.id, 'w1', { result: 'delivered', at: at(t) });
      }
    }
    expect(order).toEqual(['requested', 'decision-1', 'executed']);
  });

  it('never lets two racing workers claim the same delivery', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids)
      await store.enqueueDeliveries([{ approvalId: id, channel: 'hooks', stage: 'requested' }], at(0));
    const workers = Array.from({ length: 10 }, (_, i) => store.claimDeliveries(`w${i}`, at(1), 60_000, 3));
    const claimed = (await Promise.all(workers)).flat().map((c) => c.delivery.id);
    expect(claimed).toHaveLength(20);
    expect(new Set(claimed).size).toBe(20);
  });

  it('settles by the holder only; delivered is final, and its memo comes with the next claim', async () => {
    await store.enqueueDeliveries([hooks('req-1', 'requested'), hooks('req-1', 'decision-1')], at(0));
    await store.claimDeliveries('w1', at(0), 10_000, 10);
    expect(
      (await refusal(store.settleDelivery('req-1/hooks/requested', 'w2', { result: 'delivered', at: at(1) })))
        .code,
    ).toBe('STORE_CONFLICT');
    const delivered = await store.settleDelivery('req-1/hooks/requested', 'w1', {
      result: 'delivered',
      at: at(1),
      memo: { activityId: 'a1' },
      target: 'hooks.example',
    });
    expect(delivered).toMatchObject({
      state: 'delivered',
      attempts: 1,
      deliveredAt: at(1).toISOString(),
      target: 'hooks.example',
    });
    expect(delivered.lease).toBeUndefined();
    // Acknowledged is acknowledged: it is never turned back, nor claimed again.
    const again = await refusal(
      store.settleDelivery('req-1/hooks/requested', 'w1', { result: 'failed', at: at(2), error: 'x' }),
    );
    expect(again.code).toBe('STORE_CONFLICT');
    const next = await store.claimDeliveries('w1', at(2), 10_000, 10);
    expect(next).toEqual([
      { delivery: expect.objectContaining({ id: 'req-1/hooks/decision-1' }), memo: { activityId: 'a1' } },
    ]);
    await store.settleDelivery('req-1/hooks/decision-1', 'w1', {
      result: 'delivered',
      at: at(3),
      memo: { card: 'c2' },
    });
    expect(await store.claimDeliveries('w1', at(4), 10_000, 10)).toEqual([]);
  });

  it('puts a retry off until its time and counts attempts; a given-up delivery lets the next one go', async () => {
    await store.enqueueDeliveries([hooks('req-1', 'requested'), hooks('req-1', 'decision-1')], at(0));
    await store.claimDeliveries('w1', at(0), 10_000, 10);
    const retry = await store.settleDelivery('req-1/hooks/requested', 'w1', {
      result: 'retry',
      at: at(1),
      error: 'HTTP 500 from hooks.example',
      nextAttemptAt: at(5_000),
    });
    expect(retry).toMatchObject({
      state: 'pending',
      attempts: 1,
      lastError: 'HTTP 500 from hooks.example',
      nextAttemptAt: at(5_000).toISOString(),
    });
    expect(await store.claimDeliveries('w1', at(4_999), 10_000, 10)).toEqual([]);
    await store.claimDeliveries('w1', at(5_000), 10_000, 10);
    const failed = await store.settleDelivery('req-1/hooks/requested', 'w1', {
      result: 'failed',
      at: at(5_001),
      error: 'HTTP 410',
    });
    expect(failed).toMatchObject({
      state: 'failed',
      attempts: 2,
      failedAt: at(5_001).toISOString(),
      lastError: 'HTTP 410',
    });
    expect((await store.claimDeliveries('w1', at(5_002), 10_000, 10)).map((c) => c.delivery.id)).toEqual([
      'req-1/hooks/decision-1',
    ]);
    expect((await store.listDeliveries({ states: ['failed'] })).map((d) => d.id)).toEqual([
      'req-1/hooks/requested',
    ]);
  });

  it('says when the next claim can take something: the earliest head that is due and under no live lease', async () => {
    expect(await store.nextDeliveryDue()).toBeUndefined();
    await store.enqueueDeliveries([hooks('req-1', 'requested'), hooks('req-1', 'decision-1')], at(0));
    await store.enqueueDeliveries([hooks('req-2', 'requested')], at(20));
    expect(await store.nextDeliveryDue()).toEqual(at(0));
    // Claimed: due again only when the lease runs out.
    await store.claimDeliveries('w1', at(30), 10_000, 1);
    expect(await store.nextDeliveryDue()).toEqual(at(20));
    await store.claimDeliveries('w1', at(40), 10_000, 1);
    expect(await store.nextDeliveryDue()).toEqual(at(10_030));
    // req-1's announce put off to 5 s: its decision, enqueued at 0, waits behind it and does not count.
    await store.settleDelivery('req-1/hooks/requested', 'w1', {
      result: 'retry',
      at: at(50),
      error: 'HTTP 503',
      nextAttemptAt: at(5_000),
    });
    expect(await store.nextDeliveryDue()).toEqual(at(5_000));
    // Given up: the decision is the head now, due since it was enqueued.
    await store.claimDeliveries('w1', at(5_000), 10_000, 1);
    await store.settleDelivery('req-1/hooks/requested', 'w1', {
      result: 'failed',
      at: at(5_001),
      error: 'x',
    });
    expect(await store.nextDeliveryDue()).toEqual(at(0));
    // Delivered and failed ones are no longer due at all.
    await store.claimDeliveries('w1', at(5_002), 10_000, 1);
    await store.settleDelivery('req-1/hooks/decision-1', 'w1', { result: 'delivered', at: at(5_003) });
    await store.settleDelivery('req-2/hooks/requested', 'w1', { result: 'delivered', at: at(5_004) });
    expect(await store.nextDeliveryDue()).toBeUndefined();
  });

  it('counts deliveries per channel, with the last delivery and the latest failed attempt', async () => {
    expect(await store.deliveryCounts()).toEqual([]);
    const teams = (approvalId: string, stage: string) => ({ approvalId, channel: 'teams', stage });
    await store.enqueueDeliveries(
      [hooks('req-1', 'requested'), hooks('req-2', 'requested'), teams('req-1', 'requested')],
      at(0),
    );
    expect(await store.deliveryCounts()).toEqual([
      { channel: 'hooks', pending: 2, failed: 0, delivered: 0 },
      { channel: 'teams', pending: 1, failed: 0, delivered: 0 },
    ]);
    await store.claimDeliveries('w1', at(1), 10_000, 10);
    await store.settleDelivery('req-1/hooks/requested', 'w1', { result: 'delivered', at: at(2) });
    await store.settleDelivery('req-2/hooks/requested', 'w1', {
      result: 'retry',
      at: at(3),
      error: 'HTTP 503',
      nextAttemptAt: at(100),
    });
    await store.settleDelivery('req-1/teams/requested', 'w1', {
      result: 'failed',
      at: at(4),
      error: 'HTTP 403',
    });
    expect(await store.deliveryCounts()).toEqual([
      {
        channel: 'hooks',
        pending: 1,
        failed: 0,
        delivered: 1,
        lastDeliveredAt: at(2).toISOString(),
        lastFailure: { at: at(3).toISOString(), message: 'HTTP 503' },
      },
      {
        channel: 'teams',
        pending: 0,
        failed: 1,
        delivered: 0,
        lastFailure: { at: at(4).toISOString(), message: 'HTTP 403' },
      },
    ]);
    // Delivered at last: its failure is gone with it, and it is the channel's last delivery.
    await store.claimDeliveries('w1', at(100), 10_000, 10);
    await store.settleDelivery('req-2/hooks/requested', 'w1', { result: 'delivered', at: at(101) });
    expect((await store.deliveryCounts())[0]).toEqual({
      channel: 'hooks',
      pending: 0,
      failed: 0,
      delivered: 2,
      lastDeliveredAt: at(101).toISOString(),
    });
  });

  it('uses a callback token once; an unknown, used or expired one says so', async () => {
    const kept = token(1);
    await store.saveCallbackToken(kept);
    expect((await refusal(store.saveCallbackToken(kept))).code).toBe('STORE_CONFLICT');
    expect(await store.useCallbackToken(token(9).hash, at(1))).toEqual({ ok: false, reason: 'unknown' });
    expect(await store.useCallbackToken(kept.hash, at(1))).toEqual({
      ok: true,
      token: { ...kept, usedAt: at(1).toISOString() },
    });
    expect(await store.useCallbackToken(kept.hash, at(2))).toEqual({ ok: false, reason: 'used' });
    // Given back (the decision it carried was refused), it can be used once more.
    await store.releaseCallbackToken(kept.hash);
    expect((await store.useCallbackToken(kept.hash, at(3))).ok).toBe(true);
    const late = token(2, { expiresAt: at(10).toISOString() });
    await store.saveCallbackToken(late);
    expect(await store.useCallbackToken(late.hash, at(10))).toEqual({ ok: false, reason: 'expired' });
  });

  it("uses a token's siblings (other attempts of the same delivery) with it, and gives them back with it", async () => {
    const [a, b] = [token(1), token(2)];
    const other = token(3, { deliveryId: 'req-1/hooks/decision-1' });
    for (const t of [a, b, other]) await store.saveCallbackToken(t);
    expect((await store.useCallbackToken(a.hash, at(1))).ok).toBe(true);
    expect(await store.useCallbackToken(b.hash, at(2))).toEqual({ ok: false, reason: 'used' });
    expect((await store.useCallbackToken(other.hash, at(2))).ok).toBe(true);
    await store.releaseCallbackToken(a.hash);
    expect((await store.useCallbackToken(b.hash, at(3))).ok).toBe(true);
    expect(await store.useCallbackToken(other.hash, at(3))).toEqual({ ok: false, reason: 'used' });
  });

  it('lets exactly one of 50 racing uses of a token through', async () => {
    const kept = token(1);
    await store.saveCallbackToken(kept);
    const uses = await Promise.all(
      Array.from({ length: 50 }, () => store.useCallbackToken(kept.hash, at(1))),
    );
    expect(uses.filter((u) => u.ok)).toHaveLength(1);
    expect(uses.filter((u) => !u.ok && u.reason === 'used')).toHaveLength(49);
  });

  it('refuses a malformed token record', async () => {
    expect((await refusal(store.saveCallbackToken({ ...token(1), hash: 'plain-token' }))).code).toBe(
      'STORE_CONFLICT',
    );
  });

  it('keeps one conversation reference per channel and conversation', async () => {
    const record = {
      channel: 'teams',
      id: '19:a@thread',
      reference: { serviceUrl: 'https://a.example/' },
      savedAt: at(0).toISOString(),
    };
    await store.saveConversation(record);
    await store.saveConversation({ ...record, id: '19:b@thread' });
    await store.saveConversation({
      ...record,
      reference: { serviceUrl: 'https://b.example/' },
      savedAt: at(1).toISOString(),
    });
    await store.saveConversation({ ...record, channel: 'other' });
    const kept = await store.listConversations('teams');
    expect(kept.map((c) => [c.id, c.reference.serviceUrl])).toEqual([
      ['19:a@thread', 'https://b.example/'],
      ['19:b@thread', 'https://a.example/'],
    ]);
  });

  it("lets a request's deliveries, memos and tokens leave with it when it is archived", async () => {
    await store.enqueueDeliveries([hooks('req-1', 'requested'), hooks('req-2', 'requested')], at(0));
    await store.claimDeliveries('w1', at(0), 10_000, 10);
    await store.settleDelivery('req-1/hooks/requested', 'w1', {
      result: 'delivered',
      at: at(1),
      memo: { m: '1' },
    });
    await store.saveCallbackToken(token(1));
    await store.transition('req-1', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'reject', reason: 'no' }, at(1000)),
    );
    expect((await store.archiveFinished(at(2000))).map((r) => r.id)).toEqual(['req-1']);
    expect((await store.listDeliveries()).map((d) => d.approvalId)).toEqual(['req-2']);
    expect(await store.useCallbackToken(token(1).hash, at(2001))).toEqual({ ok: false, reason: 'unknown' });
  });
}
