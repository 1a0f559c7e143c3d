import { describe, expect, it } from 'vitest';
import { createTokenStore } from './auth/tokens.js';
import { tokensMatch } from './csrf.js';
import { createSessionStore } from './sessions.js';

const bob = { id: 'bob', groups: ['security'] };

describe('sessions', () => {
  it('hands out 256-bit random ids and finds the session by them until it expires', () => {
    let now = 0;
    const sessions = createSessionStore({ ttlMs: 1_000, now: () => now });
    const { id, session } = sessions.create(bob, 'local');
    expect(Buffer.from(id, 'base64url')).toHaveLength(32);
    expect(sessions.create(bob, 'local').id).not.toBe(id);
    expect(sessions.get(id)).toBe(session);
    expect(sessions.get(`${id}x`)).toBeUndefined();
    now = 999;
    expect(sessions.get(id)).toBe(session);
    now = 1_000;
    expect(sessions.get(id)).toBeUndefined();
  });

  it('destroys a session and sweeps expired ones', () => {
    let now = 0;
    const sessions = createSessionStore({ ttlMs: 1_000, now: () => now });
    const a = sessions.create(bob, 'local');
    sessions.create(bob, 'oidc');
    sessions.destroy(a.id);
    expect(sessions.get(a.id)).toBeUndefined();
    expect(sessions.sweep()).toBe(1);
    now = 5_000;
    expect(sessions.sweep()).toBe(0);
  });
});

describe('bounds on sessions', () => {
  const alice = { id: 'alice', groups: [] };

  it('signs out an approver’s own oldest sessions beyond maxPerApprover, never another approver’s', () => {
    const sessions = createSessionStore({ ttlMs: 60_000, maxSessions: 5, maxPerApprover: 2 });
    const hers = sessions.create(alice, 'local');
    const his = [1, 2, 3, 4].map(() => sessions.create(bob, 'local'));
    expect(sessions.get(hers.id)).toBeDefined();
    expect(his.map((s) => sessions.get(s.id) !== undefined)).toEqual([false, false, true, true]);
    expect(sessions.size).toBe(3);
  });

  it('holds at most maxSessions, signing out the oldest', () => {
    const sessions = createSessionStore({ ttlMs: 60_000, maxSessions: 3, maxPerApprover: 3 });
    const created = [1, 2, 3, 4].map((n) => sessions.create({ id: `a${n}`, groups: [] }, 'local'));
    expect(sessions.get(created[0]!.id)).toBeUndefined();
    expect(sessions.size).toBe(3);
  });
});

describe('csrf tokens', () => {
  it('match only the same token', () => {
    expect(tokensMatch('abc', 'abc')).toBe(true);
    expect(tokensMatch('abc', 'abd')).toBe(false);
    expect(tokensMatch('abc', 'abcd')).toBe(false);
    expect(tokensMatch('abc', '')).toBe(false);
    expect(tokensMatch('abc', null)).toBe(false);
  });
});

describe('API tokens', () => {
  it('verify until expiry or revocation, and list only the owner’s live tokens', () => {
    let now = 0;
    const tokens = createTokenStore({ now: () => now });
    const { token, record } = tokens.issue({ principal: bob, via: 'local', label: 'cli', ttlMs: 1_000 });
    expect(token).toMatch(/^gatehouse_/);
    expect(tokens.verify(token)).toBe(record);
    expect(tokens.verify(token.slice(0, -1))).toBeUndefined();
    expect(tokens.listFor('bob')).toEqual([record]);
    expect(tokens.listFor('alice')).toEqual([]);
    expect(tokens.revoke(record.id, 'alice')).toBe(false);
    now = 1_000;
    expect(tokens.verify(token)).toBeUndefined();

    const second = tokens.issue({ principal: bob, via: 'local', label: 'cli', ttlMs: 1_000 });
    expect(tokens.revoke(second.record.id, 'bob')).toBe(true);
    expect(tokens.verify(second.token)).toBeUndefined();
  });

  it('holds at most maxTokens of all approvers together, revoking the oldest', () => {
    const tokens = createTokenStore({ maxPerPrincipal: 50, maxTokens: 3 });
    const issued = [1, 2, 3, 4].map((n) =>
      tokens.issue({ principal: { id: `a${n}`, groups: [] }, via: 'oidc', label: 'cli', ttlMs: 60_000 }),
    );
    expect(tokens.verify(issued[0]!.token)).toBeUndefined();
    expect(tokens.verify(issued[3]!.token)).toBe(issued[3]!.record);
    expect(tokens.size).toBe(3);
  });

  it('sweeps expired tokens away', () => {
    let now = 0;
    const tokens = createTokenStore({ now: () => now });
    tokens.issue({ principal: bob, via: 'local', label: 'a', ttlMs: 1_000 });
    tokens.issue({ principal: bob, via: 'local', label: 'b', ttlMs: 5_000 });
    now = 1_000;
    tokens.sweep();
    expect(tokens.size).toBe(1);
  });

  it('keeps at most maxPerPrincipal live tokens, revoking the oldest', () => {
    const tokens = createTokenStore({ maxPerPrincipal: 2 });
    const issued = [1, 2, 3].map((n) =>
      tokens.issue({ principal: bob, via: 'local', label: `t${n}`, ttlMs: 60_000 }),
    );
    expect(tokens.verify(issued[0]!.token)).toBeUndefined();
    expect(tokens.listFor('bob').map((t) => t.label)).toEqual(['t2', 't3']);
  });
});
