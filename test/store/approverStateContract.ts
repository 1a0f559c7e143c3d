import { expect, it } from 'vitest';
import type { ApproverState, ApproverStateLimits } from '../../src/approvals/web/approverState.js';

/**
 * What every place that keeps approvers' sessions, API tokens and failed sign-ins must do, run against
 * each (memory, PostgreSQL). `make` returns a fresh, empty one under these limits.
 */
export function approverStateContract(make: (limits: ApproverStateLimits) => Promise<ApproverState>): void {
  const bob = { id: 'bob', groups: ['security'] };
  const alice = { id: 'alice', groups: [] };
  let now = 0;
  const state = (limits: Partial<ApproverStateLimits> = {}) =>
    make({
      sessionTtlMs: 1_000,
      maxSessions: 10_000,
      maxSessionsPerApprover: 20,
      maxTokens: 10_000,
      maxTokensPerApprover: 50,
      signInWindowMs: 10_000,
      now: () => now,
      ...limits,
    });

  it('hands out 256-bit random session ids and finds the session by them until it expires', async () => {
    now = 0;
    const { sessions } = await state();
    const { id, session } = await sessions.create(bob, 'local');
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect((await sessions.create(bob, 'local')).id).not.toBe(id);
    expect(await sessions.get(id)).toEqual(session);
    expect(await sessions.get(`${id}x`)).toBeUndefined();
    expect(await sessions.get(undefined)).toBeUndefined();
    now = 999;
    expect(await sessions.get(id)).toEqual(session);
    now = 1_000;
    expect(await sessions.get(id)).toBeUndefined();
  });

  it('destroys a session and sweeps expired ones', async () => {
    now = 0;
    const { sessions } = await state();
    const a = await sessions.create(bob, 'local');
    await sessions.create(bob, 'oidc');
    await sessions.destroy(a.id);
    expect(await sessions.get(a.id)).toBeUndefined();
    expect(await sessions.sweep()).toBe(1);
    now = 5_000;
    expect(await sessions.sweep()).toBe(0);
  });

  it('signs out an approver’s own oldest sessions beyond maxSessionsPerApprover, never another’s', async () => {
    const { sessions } = await state({ sessionTtlMs: 60_000, maxSessions: 5, maxSessionsPerApprover: 2 });
    const hers = await sessions.create(alice, 'local');
    const his = [];
    for (let n = 0; n < 4; n++) his.push(await sessions.create(bob, 'local'));
    expect(await sessions.get(hers.id)).toBeDefined();
    const live = await Promise.all(his.map(async (s) => (await sessions.get(s.id)) !== undefined));
    expect(live).toEqual([false, false, true, true]);
    expect(await sessions.sweep()).toBe(3);
  });

  it('holds at most maxSessions, signing out the oldest', async () => {
    const { sessions } = await state({ sessionTtlMs: 60_000, maxSessions: 3, maxSessionsPerApprover: 3 });
    const created = [];
    for (let n = 1; n <= 4; n++) created.push(await sessions.create({ id: `a${n}`, groups: [] }, 'local'));
    expect(await sessions.get(created[0]!.id)).toBeUndefined();
    expect(await sessions.get(created[3]!.id)).toBeDefined();
    expect(await sessions.sweep()).toBe(3);
  });

  it('verifies API tokens until expiry or revocation, and lists only the owner’s live tokens', async () => {
    now = 0;
    const { tokens } = await state();
    const { token, record } = await tokens.issue({
      principal: bob,
      via: 'local',
      label: 'cli',
      ttlMs: 1_000,
    });
    expect(token).toMatch(/^gatehouse_/);
    expect(await tokens.verify(token)).toEqual(record);
    expect(await tokens.verify(token.slice(0, -1))).toBeUndefined();
    expect(await tokens.listFor('bob')).toEqual([record]);
    expect(await tokens.listFor('alice')).toEqual([]);
    expect(await tokens.revoke(record.id, 'alice')).toBe(false);
    now = 1_000;
    expect(await tokens.verify(token)).toBeUndefined();

    const second = await tokens.issue({ principal: bob, via: 'local', label: 'cli', ttlMs: 1_000 });
    expect(await tokens.revoke(second.record.id, 'bob')).toBe(true);
    expect(await tokens.verify(second.token)).toBeUndefined();
    const third = await tokens.issue({ principal: bob, via: 'local', label: 'cli', ttlMs: 1_000 });
    expect(await tokens.revokeSecret(third.token)).toBe(true);
    expect(await tokens.verify(third.token)).toBeUndefined();
  });

  it('holds at most maxTokens API tokens of all approvers together, revoking the oldest', async () => {
    const { tokens } = await state({ maxTokens: 3 });
    const issued = [];
    for (let n = 1; n <= 4; n++) {
      issued.push(
        await tokens.issue({
          principal: { id: `a${n}`, groups: [] },
          via: 'oidc',
          label: 'cli',
          ttlMs: 60_000,
        }),
      );
    }
    expect(await tokens.verify(issued[0]!.token)).toBeUndefined();
    expect(await tokens.verify(issued[3]!.token)).toEqual(issued[3]!.record);
    expect(tokens.size).toBe(3);
  });

  it('keeps at most maxTokensPerApprover live tokens, revoking the oldest, and sweeps expired ones', async () => {
    now = 0;
    const { tokens } = await state({ maxTokensPerApprover: 2 });
    const issued = [];
    for (let n = 1; n <= 3; n++) {
      issued.push(await tokens.issue({ principal: bob, via: 'local', label: `t${n}`, ttlMs: 60_000 }));
    }
    expect(await tokens.verify(issued[0]!.token)).toBeUndefined();
    expect((await tokens.listFor('bob')).map((t) => t.label)).toEqual(['t2', 't3']);
    await tokens.issue({ principal: alice, via: 'local', label: 'short', ttlMs: 1_000 });
    now = 1_000;
    await tokens.sweep();
    expect(tokens.size).toBe(2);
  });

  it('says how long a sign-in waits until the oldest counted failure leaves the window', async () => {
    now = 1_000;
    const { signInFailures: limiter } = await state();
    await limiter.recordFailure('k');
    now = 3_000;
    await limiter.recordFailure('k');
    await limiter.recordFailure('other');
    expect(await limiter.retryAfter('k', 3)).toBe(0);
    expect(await limiter.retryAfter('k', 2)).toBe(8_000);
    now = 11_001;
    expect(await limiter.retryAfter('k', 2)).toBe(0);
    expect(await limiter.retryAfter('k', 1)).toBe(1_999);
    await limiter.reset('k');
    expect(await limiter.retryAfter('k', 1)).toBe(0);
    expect(await limiter.retryAfter('other', 1)).toBe(1_999);
  });

  it('keeps an OIDC sign-in under way until it is taken, once', async () => {
    now = 0;
    const { oidcTransactions } = await state();
    const transaction = {
      state: 's',
      nonce: 'n',
      codeVerifier: 'v',
      next: '/approvals/x',
      expiresAt: 600_000,
    };
    await oidcTransactions.put('tx-1', transaction);
    await oidcTransactions.put('tx-2', { ...transaction, next: '/approvals' });
    expect(await oidcTransactions.take('tx-unknown')).toBeUndefined();
    expect(await oidcTransactions.take('tx-1')).toEqual(transaction);
    expect(await oidcTransactions.take('tx-1')).toBeUndefined();
    expect((await oidcTransactions.take('tx-2'))?.next).toBe('/approvals');
  });
}
