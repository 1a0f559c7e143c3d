import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import { applyDecision, cancel, startExecution } from '../../src/approvals/states.js';
import { GatehouseError, type ErrorCode } from '../../src/errors.js';
import type { ApprovalStore } from '../../src/store/store.js';
import { alice, at, bob, sampleRequest, securityMembers } from './helpers.js';

/** What every ApprovalStore must do, run against each implementation. */
export function approvalStoreContract(open: () => Promise<ApprovalStore>): void {
  let store: ApprovalStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  const approveBy = (who: { id: string; groups: string[] }) => (r: ApprovalRequest) =>
    applyDecision(r, { approver: who, decision: 'approve' }, at(1000));
  const rejectBy = (who: { id: string; groups: string[] }) => (r: ApprovalRequest) =>
    applyDecision(r, { approver: who, decision: 'reject', reason: 'no' }, at(1000));

  async function code(promise: Promise<unknown>): Promise<ErrorCode | 'none'> {
    try {
      await promise;
      return 'none';
    } catch (error) {
      if (error instanceof GatehouseError) return error.code;
      throw error;
    }
  }

  it('creates and gets a request; unknown ids are undefined', async () => {
    const request = sampleRequest(1);
    expect(await store.create(request)).toEqual({ created: true, request });
    expect(await store.get('req-1')).toEqual(request);
    expect(await store.get('nope')).toBeUndefined();
  });

  it('keeps every argument key as data, __proto__ included, at every depth', async () => {
    const args = JSON.parse(
      '{"__proto__":{"x":1},"constructor":"c","nested":{"__proto__":[1,{"__proto__":null}],"":"empty"}}',
    ) as Record<string, unknown>;
    const request = sampleRequest(1, { arguments: args });
    await store.create(request);
    const got = (await store.get('req-1'))!;
    expect(JSON.stringify(got.arguments)).toBe(JSON.stringify(args));
    expect(Object.keys(got.arguments)).toEqual(['__proto__', 'constructor', 'nested']);
    expect(Object.getPrototypeOf(got.arguments)).toBe(Object.prototype);
  });

  it('hands out copies', async () => {
    const request = sampleRequest(1);
    await store.create(request);
    request.arguments.path = '/etc/passwd';
    const got = (await store.get('req-1'))!;
    expect(got.arguments.path).toBe('/tmp/out-1.txt');
    got.state = 'approved';
    got.decisions.push({ approver: bob, decision: 'approve', at: at(1).toISOString() });
    expect((await store.get('req-1'))!.state).toBe('pending');
    expect((await store.list())[0]!.decisions).toEqual([]);
  });

  it('joins the open request with the same digest instead of creating another', async () => {
    const first = sampleRequest(1);
    await store.create(first);
    const retry = { ...sampleRequest(1), id: 'req-retry' };
    expect(await store.create(retry)).toEqual({ created: false, request: first });
    expect(await store.list()).toHaveLength(1);
    // Still joined once approved and while executing.
    await store.transition('req-1', 'pending', approveBy(bob));
    expect((await store.create(retry)).request.id).toBe('req-1');
    await store.transition('req-1', 'approved', (r) => startExecution(r, at(2000)));
    expect((await store.create(retry)).created).toBe(false);
  });

  it('makes a new request for a digest whose earlier request ended', async () => {
    await store.create(sampleRequest(1));
    await store.transition('req-1', 'pending', rejectBy(bob));
    const again = { ...sampleRequest(1), id: 'req-again' };
    expect(await store.create(again)).toEqual({ created: true, request: again });
  });

  it('refuses a reused id, a non-pending request, an invalid one and one that does not match its digest', async () => {
    await store.create(sampleRequest(1));
    expect(await code(store.create({ ...sampleRequest(2), id: 'req-1' }))).toBe('STORE_CONFLICT');
    expect(await code(store.create({ ...sampleRequest(3), state: 'approved' }))).toBe('STORE_CONFLICT');
    expect(await code(store.create({ ...sampleRequest(4), ttlMs: -1 }))).toBe('STORE_CONFLICT');
    const tampered = { ...sampleRequest(5), arguments: { path: '/etc/passwd', content: 'x' } };
    expect(await code(store.create(tampered))).toBe('STORE_CONFLICT');
    expect((await store.list()).map((r) => r.id)).toEqual(['req-1']);
  });

  it('finds by digest: the open request, else the latest', async () => {
    const digest = sampleRequest(1).digest;
    expect(await store.findByDigest(digest)).toBeUndefined();
    await store.create(sampleRequest(1));
    await store.transition('req-1', 'pending', (r) => cancel(r, 'client cancelled', at(5)));
    expect((await store.findByDigest(digest))?.id).toBe('req-1');
    await store.create({ ...sampleRequest(1), id: 'req-1b' });
    await store.create(sampleRequest(2));
    expect((await store.findByDigest(digest))?.id).toBe('req-1b');
    await store.transition('req-1b', 'pending', rejectBy(bob));
    expect((await store.findByDigest(digest))?.state).toBe('rejected');
  });

  it('finds the latest request for the same call made against another definition of the tool', async () => {
    const definition = (c: string) => ({ toolDefinitionDigest: c.repeat(64) });
    const call = (c: string) => sampleRequest(1, definition(c));
    expect(await store.latestWithOtherDefinition(call('f'))).toBeUndefined();
    await store.create({ ...sampleRequest(1, definition('d')), id: 'req-d' });
    // The same arguments in another key order are the same call.
    const reordered = { content: 'content 1', path: '/tmp/out-1.txt' };
    await store.create({ ...sampleRequest(1, { ...definition('e'), arguments: reordered }), id: 'req-e' });
    // Later requests that differ in one part of the call each, against yet another definition.
    const others = [
      { caller: bob },
      { server: 'fs2' },
      { tool: 'edit_file' },
      { arguments: { path: '/tmp/out-1.txt', content: 'content 2' } },
    ];
    for (const [i, other] of others.entries()) {
      await store.create({ ...sampleRequest(1, { ...definition('a'), ...other }), id: `req-other-${i}` });
    }
    expect((await store.latestWithOtherDefinition(call('f')))?.id).toBe('req-e');
    expect((await store.latestWithOtherDefinition(call('d')))?.id).toBe('req-e');
    // Requests made against the asking call's own definition do not count, however recent.
    expect((await store.latestWithOtherDefinition(call('e')))?.id).toBe('req-d');
    // Finished requests count while they are in the live store; archived ones no longer do.
    await store.transition('req-e', 'pending', rejectBy(bob));
    const found = await store.latestWithOtherDefinition(call('f'));
    expect(found).toMatchObject({ id: 'req-e', state: 'rejected' });
    found!.state = 'pending';
    expect((await store.get('req-e'))!.state).toBe('rejected');
    await store.transition('req-d', 'pending', (r) => cancel(r, 'client cancelled', at(5)));
    expect((await store.archiveFinished(at(1_000_000))).map((r) => r.id).sort()).toEqual(['req-d', 'req-e']);
    expect(await store.latestWithOtherDefinition(call('f'))).toBeUndefined();
  });

  it('lists in creation order, by state', async () => {
    for (const n of [3, 1, 2]) await store.create(sampleRequest(n));
    await store.transition('req-1', 'pending', approveBy(bob));
    expect((await store.list()).map((r) => r.id)).toEqual(['req-3', 'req-1', 'req-2']);
    expect((await store.list({ states: ['pending'] })).map((r) => r.id)).toEqual(['req-3', 'req-2']);
    expect((await store.list({ states: ['approved', 'executing'] })).map((r) => r.id)).toEqual(['req-1']);
    expect(await store.list({ states: [] })).toEqual([]);
  });

  it('pages through the requests the latest created first, by state, missing none while they change', async () => {
    for (const n of [1, 2, 3, 4, 5]) await store.create(sampleRequest(n));
    const ids = (page: { requests: ApprovalRequest[] }) => page.requests.map((r) => r.id);
    const first = await store.listPage({}, { limit: 2 });
    expect(ids(first)).toEqual(['req-5', 'req-4']);
    expect(first.requests[0]).toEqual(await store.get('req-5'));
    // A change between pages moves nothing: pages go by creation.
    await store.transition('req-4', 'pending', approveBy(bob));
    await store.transition('req-2', 'pending', approveBy(bob));
    const second = await store.listPage({}, { limit: 2, cursor: first.next! });
    expect(ids(second)).toEqual(['req-3', 'req-2']);
    const third = await store.listPage({}, { limit: 2, cursor: second.next! });
    expect(third).toEqual({ requests: [await store.get('req-1')] });

    const pending = await store.listPage({ states: ['pending'] }, { limit: 2 });
    expect(ids(pending)).toEqual(['req-5', 'req-3']);
    expect(await store.listPage({ states: ['pending'] }, { limit: 2, cursor: pending.next! })).toEqual({
      requests: [await store.get('req-1')],
    });
    // Exactly `limit` left: no next page to ask for.
    expect(await store.listPage({ states: ['approved'] }, { limit: 2 })).toEqual({
      requests: [await store.get('req-4'), await store.get('req-2')],
    });
    expect(await store.listPage({ states: [] }, { limit: 2 })).toEqual({ requests: [] });
    expect(ids(await store.listPage({}, { limit: 1000 }))).toEqual([
      'req-5',
      'req-4',
      'req-3',
      'req-2',
      'req-1',
    ]);

    const refused = [
      '',
      'not a cursor',
      Buffer.from('{"seq":"1","id":"x"}').toString('base64url'),
      // Longer than any cursor a store gives out.
      'A'.repeat(8193),
    ];
    for (const cursor of refused) {
      expect(await code(store.listPage({}, { limit: 2, cursor }))).toBe('LIST_CURSOR_INVALID');
    }
  });

  it('goes on paging after the request a page ended with was archived', async () => {
    for (const n of [1, 2, 3, 4, 5])
      await store.create({ ...sampleRequest(n), createdAt: at(n).toISOString() });
    const first = await store.listPage({}, { limit: 2 });
    expect(first.requests.map((r) => r.id)).toEqual(['req-5', 'req-4']);
    await store.transition('req-4', 'pending', rejectBy(bob));
    expect((await store.archiveFinished(at(1_000_000))).map((r) => r.id)).toEqual(['req-4']);
    const next = await store.listPage({}, { limit: 2, cursor: first.next! });
    expect(next.requests.map((r) => r.id)).toEqual(['req-3', 'req-2']);
  });

  it('misses none and repeats none when the archived request shared its millisecond with others', async () => {
    // Six requests created in one millisecond, two before it and one after.
    const created = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const ms = (n: number) => (n <= 2 ? n : n === 9 ? 9 : 5);
    for (const n of created) await store.create({ ...sampleRequest(n), createdAt: at(ms(n)).toISOString() });
    const seen: string[] = [];
    let page = await store.listPage({}, { limit: 2 });
    seen.push(...page.requests.map((r) => r.id));
    // Each time, the request the page ended with is archived before the next page is read.
    while (page.next) {
      const last = page.requests.at(-1)!;
      await store.transition(last.id, 'pending', rejectBy(bob));
      expect((await store.archiveFinished(at(1_000_000))).map((r) => r.id)).toEqual([last.id]);
      page = await store.listPage({}, { limit: 2, cursor: page.next });
      seen.push(...page.requests.map((r) => r.id));
    }
    expect(seen).toEqual(['req-9', 'req-8', 'req-7', 'req-6', 'req-5', 'req-4', 'req-3', 'req-2', 'req-1']);
  });

  it('finds the requests in the states asked for that changed last, the latest first, as stored', async () => {
    for (const n of [1, 2, 3, 4]) await store.create(sampleRequest(n, { ttlMs: 60_000 }));
    const approve = { approver: bob, decision: 'approve' } as const;
    // Changed in this order, each later than the one before.
    await store.transition('req-3', 'pending', (r) => applyDecision(r, approve, at(1_000)));
    await store.transition('req-1', 'pending', (r) =>
      applyDecision(r, { approver: bob, decision: 'reject', reason: 'no' }, at(2_000)),
    );
    await store.transition('req-4', 'pending', (r) => applyDecision(r, approve, at(3_000)));
    await store.transition('req-3', 'approved', (r) => startExecution(r, at(4_000)));
    const decided = ['approved', 'executing', 'rejected'] as const;
    expect((await store.latestChanged(decided, 10)).map((r) => r.id)).toEqual(['req-3', 'req-4', 'req-1']);
    expect((await store.latestChanged(decided, 2)).map((r) => r.id)).toEqual(['req-3', 'req-4']);
    expect((await store.latestChanged(['pending'], 10)).map((r) => r.id)).toEqual(['req-2']);
    expect(await store.latestChanged([], 10)).toEqual([]);
    expect((await store.latestChanged(['rejected'], 1))[0]).toEqual(await store.get('req-1'));
  });

  it('selects the pending and approved requests whose expiry has come, and says when the next one comes', async () => {
    expect(await store.expiredBy(at(10_000_000))).toEqual([]);
    expect(await store.nextExpiry()).toBeUndefined();
    // Created at T0: req-4 expires at 5 s, req-2 (approved) at 3 s, req-3 at 4 s, req-1 (rejected) at 2 s.
    for (const n of [4, 2, 3, 1]) await store.create(sampleRequest(n, { ttlMs: (n + 1) * 1_000 }));
    await store.transition('req-2', 'pending', approveBy(bob));
    await store.transition('req-1', 'pending', rejectBy(bob));
    expect(await store.nextExpiry()).toEqual(at(3_000));
    expect(await store.expiredBy(at(2_999))).toEqual([]);
    expect((await store.expiredBy(at(3_000))).map((r) => r.id)).toEqual(['req-2']);
    // In creation order, with the documents as stored.
    const due = await store.expiredBy(at(4_500));
    expect(due.map((r) => r.id)).toEqual(['req-2', 'req-3']);
    expect(due[1]).toEqual(await store.get('req-3'));
    // Executing, it no longer expires: the next is req-3's.
    await store.transition('req-2', 'approved', (r) => startExecution(r, at(1_500)));
    expect(await store.nextExpiry()).toEqual(at(4_000));
    expect((await store.expiredBy(at(10_000))).map((r) => r.id)).toEqual(['req-4', 'req-3']);
  });

  it('transitions with compare-and-set on the state', async () => {
    await store.create(sampleRequest(1));
    const approved = await store.transition('req-1', 'pending', approveBy(bob));
    expect(approved.ok).toBe(true);
    expect(approved.request.state).toBe('approved');
    expect(await store.get('req-1')).toEqual(approved.request);
    const late = await store.transition('req-1', 'pending', rejectBy({ id: 'carol', groups: ['security'] }));
    expect(late).toEqual({ ok: false, request: approved.request });
  });

  it('refuses an unknown id', async () => {
    expect(await code(store.transition('nope', 'pending', (r) => r))).toBe('APPROVAL_NOT_FOUND');
  });

  it('writes nothing when the update throws, even if it changed its argument first', async () => {
    await store.create(sampleRequest(1));
    const refused = store.transition('req-1', 'pending', (r) => {
      r.state = 'approved';
      return applyDecision(r, { approver: alice, decision: 'approve' }, at(1));
    });
    expect(await code(refused)).toBe('APPROVAL_NOT_PENDING');
    expect(await code(store.transition('req-1', 'pending', approveBy(alice)))).toBe('APPROVER_IS_REQUESTER');
    expect(await store.get('req-1')).toEqual(sampleRequest(1));
  });

  it('refuses updates that break the transition table or the binding', async () => {
    await store.create(sampleRequest(1));
    const skip = store.transition('req-1', 'pending', (r) => ({ ...r, state: 'executed' }));
    expect(await code(skip)).toBe('STORE_CONFLICT');
    const swap = store.transition('req-1', 'pending', (r) => ({ ...r, arguments: { path: '/etc/passwd' } }));
    expect(await code(swap)).toBe('STORE_CONFLICT');
    const rebind = store.transition('req-1', 'pending', () => ({ ...sampleRequest(2), id: 'req-1' }));
    expect(await code(rebind)).toBe('STORE_CONFLICT');
    const rename = store.transition('req-1', 'pending', (r) => ({ ...r, id: 'req-x' }));
    expect(await code(rename)).toBe('STORE_CONFLICT');
    expect(await store.get('req-1')).toEqual(sampleRequest(1));
  });

  it('keeps final requests final', async () => {
    await store.create(sampleRequest(1));
    await store.transition('req-1', 'pending', rejectBy(bob));
    const edit = store.transition('req-1', 'rejected', (r) => ({
      ...r,
      closed: { ...r.closed!, reason: 'fine' },
    }));
    expect(await code(edit)).toBe('STORE_CONFLICT');
    expect((await store.transition('req-1', 'rejected', (r) => r)).ok).toBe(true);
  });

  it('accepts an update that changes nothing', async () => {
    await store.create(sampleRequest(1));
    expect(await store.transition('req-1', 'pending', (r) => r)).toEqual({
      ok: true,
      request: sampleRequest(1),
    });
  });

  it('lets exactly one of 100 racing approvals and rejections win', async () => {
    await store.create(sampleRequest(1));
    const approvers = securityMembers(100);
    const results = await Promise.all(
      approvers.map((who, i) =>
        store.transition('req-1', 'pending', i % 2 === 0 ? approveBy(who) : rejectBy(who)),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    const final = (await store.get('req-1'))!;
    expect(final.decisions).toHaveLength(1);
    expect(['approved', 'rejected']).toContain(final.state);
    for (const lost of results.filter((r) => !r.ok)) expect(lost.request).toEqual(final);
  });

  it('counts every racing approval until the quorum, and none after', async () => {
    const request = sampleRequest(1, {
      requirements: [{ rule: 'writes', approvers: ['group:security'], quorum: 3 }],
    });
    await store.create(request);
    const results = await Promise.all(
      securityMembers(100).map((who) => store.transition('req-1', 'pending', approveBy(who))),
    );
    const counted = results.filter((r) => r.ok);
    expect(counted).toHaveLength(3);
    const final = (await store.get('req-1'))!;
    expect(final.state).toBe('approved');
    // Concurrent writes land in some order (a shared store's is not the order they were sent in): the
    // history is exactly the accepted decisions, each by someone else, in the order they were accepted.
    const inOrder = counted.map((r) => r.request).sort((a, b) => a.decisions.length - b.decisions.length);
    expect(inOrder.map((r) => r.decisions.length)).toEqual([1, 2, 3]);
    const accepted = inOrder.map((r) => r.decisions.at(-1)!.approver.id);
    expect(final.decisions.map((d) => d.approver.id)).toEqual(accepted);
    expect(new Set(accepted).size).toBe(3);
  });

  it('lets exactly one of 100 racing executors claim an approved request', async () => {
    await store.create(sampleRequest(1));
    await store.transition('req-1', 'pending', approveBy(bob));
    const claims = await Promise.all(
      Array.from({ length: 100 }, () =>
        store.transition('req-1', 'approved', (r) => startExecution(r, at(2000))),
      ),
    );
    expect(claims.filter((c) => c.ok)).toHaveLength(1);
    expect((await store.get('req-1'))!.state).toBe('executing');
  });

  it('makes one request of 100 racing identical creates', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.create({ ...sampleRequest(1), id: `try-${i}` })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.request.id)).size).toBe(1);
    expect(await store.list()).toHaveLength(1);
  });

  it('refuses writes after close', async () => {
    await store.create(sampleRequest(1));
    await store.close();
    expect(await code(store.create(sampleRequest(2)))).toBe('STORE_UNAVAILABLE');
    expect(await code(store.transition('req-1', 'pending', approveBy(bob)))).toBe('STORE_UNAVAILABLE');
  });

  it('archives finished requests that ended before the cutoff, and nothing open or recent', async () => {
    for (let n = 1; n <= 4; n++) await store.create(sampleRequest(n));
    await store.transition('req-1', 'pending', rejectBy(bob)); // ended at 1000
    await store.transition('req-2', 'pending', (r) => cancel(r, 'gone', at(5000))); // ended at 5000
    await store.transition('req-3', 'pending', approveBy(bob)); // approved: still open
    // req-4 stays pending.
    const archived = await store.archiveFinished(at(3000));
    expect(archived.map((r) => r.id)).toEqual(['req-1']);
    expect(archived[0]!.state).toBe('rejected');
    expect(await store.get('req-1')).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual(['req-2', 'req-3', 'req-4']);
    // Nothing left to move: the same cutoff again archives nothing.
    expect(await store.archiveFinished(at(3000))).toEqual([]);
    expect((await store.archiveFinished(at(6000))).map((r) => r.id)).toEqual(['req-2']);
    // An archived request's digest is free again: the same call makes a new request.
    expect((await store.create({ ...sampleRequest(1), id: 'req-1-again' })).created).toBe(true);
  });
}
