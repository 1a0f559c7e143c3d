import { describe, expect, it } from 'vitest';
import { isGatehouseError } from '../../../errors.js';
import { createAttemptLimiter } from './limiter.js';
import { MAX_CONCURRENT_CHECKS, SIGN_IN_LIMITS, createLocalAuth } from './local.js';
import { hashPassword } from './password.js';

const cheap = { ln: 10, r: 8, p: 1 };

async function accounts() {
  return [{ id: 'bob', groups: ['security'], passwordHash: await hashPassword('bob-pw', cheap) }];
}

describe('local sign-in', () => {
  it('signs in with the right password and answers the same for a wrong password and an unknown user', async () => {
    const auth = createLocalAuth(await accounts());
    expect(await auth.signIn('bob', 'bob-pw', 'c1')).toEqual({
      ok: true,
      principal: { id: 'bob', groups: ['security'] },
    });
    expect(await auth.signIn('bob', 'nope', 'c1')).toEqual({ ok: false, reason: 'invalid' });
    expect(await auth.signIn('eve', 'nope', 'c1')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('throttles one account from one address after five failures, but not from another address', async () => {
    let now = 0;
    const auth = createLocalAuth(await accounts(), () => now);
    for (let i = 0; i < SIGN_IN_LIMITS.accountAndClient; i += 1) await auth.signIn('bob', 'nope', 'attacker');
    const throttled = await auth.signIn('bob', 'bob-pw', 'attacker');
    expect(throttled).toMatchObject({ ok: false, reason: 'throttled' });
    expect(await auth.signIn('bob', 'bob-pw', 'laptop')).toMatchObject({ ok: true });
    now += SIGN_IN_LIMITS.windowMs;
    expect(await auth.signIn('bob', 'bob-pw', 'attacker')).toMatchObject({ ok: true });
  });

  it('throttles an address that sprays many names, unknown ones included', async () => {
    const auth = createLocalAuth(await accounts());
    for (let i = 0; i < SIGN_IN_LIMITS.client; i += 1) await auth.signIn(`user${i}`, 'x', 'sprayer');
    expect(await auth.signIn('bob', 'bob-pw', 'sprayer')).toMatchObject({ reason: 'throttled' });
  });

  it('runs a bounded number of password checks at once and refuses the rest of a burst as throttled', async () => {
    const auth = createLocalAuth(await accounts());
    const burst = await Promise.all(
      Array.from({ length: MAX_CONCURRENT_CHECKS + 4 }, (_, i) =>
        auth.signIn('bob', 'bob-pw', `client-${i}`),
      ),
    );
    expect(burst.filter((r) => r.ok)).toHaveLength(MAX_CONCURRENT_CHECKS);
    expect(burst.filter((r) => !r.ok && r.reason === 'throttled')).toHaveLength(4);
    expect(await auth.signIn('bob', 'bob-pw', 'later')).toMatchObject({ ok: true });
  });

  it('refuses a malformed hash at construction, naming the account', () => {
    try {
      createLocalAuth([{ id: 'dan', groups: [], passwordHash: 'hunter2' }]);
      expect.unreachable();
    } catch (error) {
      expect(isGatehouseError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toContain('approvers.accounts "dan"');
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('is disabled without accounts', () => {
    expect(createLocalAuth([]).enabled).toBe(false);
  });
});

describe('attempt limiter', () => {
  it('forgets keys whose failures have all left the window, as it is used', async () => {
    let now = 0;
    const limiter = createAttemptLimiter({ windowMs: 10_000, now: () => now });
    for (let n = 0; n < 100; n++) await limiter.recordFailure(`client:${n}`);
    now = 5_000;
    await limiter.recordFailure('client:late');
    expect(limiter.size).toBe(101);
    now = 10_001;
    expect(await limiter.retryAfter('client:other', 1)).toBe(0);
    expect(limiter.size).toBe(1);
    expect(await limiter.retryAfter('client:late', 1)).toBeGreaterThan(0);
  });

  it('forgets the least recently failed keys beyond its bound', async () => {
    const limiter = createAttemptLimiter({ windowMs: 10_000, maxKeys: 2 });
    await limiter.recordFailure('a');
    await limiter.recordFailure('b');
    await limiter.recordFailure('c');
    expect(await limiter.retryAfter('a', 1)).toBe(0);
    expect(await limiter.retryAfter('c', 1)).toBeGreaterThan(0);
  });
});
